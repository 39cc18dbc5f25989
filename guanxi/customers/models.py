from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from guanxi.framework.base import AddressMixin, OwnedMixin, Record, TaggedMixin
from guanxi.framework.fields import PhoneField
from guanxi.framework.validators import validate_credit_code

from .choices import CompanySize, Industry, LifecycleStage, PoolEventKind, PoolRecordKind, RelationType, Source


class Account(Record, OwnedMixin, TaggedMixin, AddressMixin):
    pooled = True  # unowned companies in a customer pool are visible to its members (core.access)

    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, validators=[validate_credit_code],
        help_text=_("18 characters; checked against its checksum."),
    )
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=CompanySize.choices, blank=True)
    annual_revenue = MoneyField(
        _("annual revenue"), max_digits=18, decimal_places=2, null=True, blank=True, default_currency="CNY"
    )
    website = models.URLField(_("website"), max_length=200, blank=True)
    phone = PhoneField(_("phone"))
    parent = models.ForeignKey(
        "self", verbose_name=_("parent company"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="subsidiaries",
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=10, choices=LifecycleStage.choices, default=LifecycleStage.PROSPECT
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    # Customer pool (公海): in the pool while owner is empty; claimed_at starts the reclaim clock.
    pool = models.ForeignKey(
        "customers.Pool", verbose_name=_("customer pool"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="accounts",
    )
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=models.Q(credit_code__gt="", deleted_at__isnull=True),
                name="account_credit_code_unique",
                violation_error_message=_("A company with this unified social credit code already exists."),
            )
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="account_name_idx"),
            models.Index(fields=["lifecycle_stage", "name"], name="account_stage_idx"),
            models.Index(fields=["owner", "name"], name="account_owner_idx"),
            models.Index(fields=["phone"], name="account_phone_idx"),
            models.Index(fields=["pool", "owner"], name="account_pool_idx", condition=models.Q(pool__isnull=False)),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:account_detail", args=[self.pk])

    def clean(self):
        super().clean()
        if self.parent_id:
            self.check_parent(self.parent_id)

    def check_parent(self, parent_id):
        """Reject a parent that is this company or one of its descendants (a cycle)."""
        seen = set()
        current = parent_id
        while current is not None:
            if current == self.pk or current in seen:
                raise ValidationError({"parent": _("This parent would make the group hierarchy a cycle.")})
            seen.add(current)
            current = Account.all_objects.filter(pk=current).values_list("parent_id", flat=True).first()

    def group_root(self):
        node, seen = self, set()
        while node.parent_id and node.parent_id not in seen:
            seen.add(node.pk)
            node = node.parent
        return node

    def descendant_ids(self):
        """Ids of every live company below this one in the group (breadth-first, one query per level)."""
        ids, frontier = [], [self.pk]
        while frontier:
            frontier = list(Account.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            frontier = [pk for pk in frontier if pk not in ids and pk != self.pk]
            ids.extend(frontier)
        return ids


class Contact(Record, OwnedMixin, TaggedMixin, AddressMixin):
    name = models.CharField(_("full name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    mobile = PhoneField(_("mobile"))
    phone = PhoneField(_("phone"))
    email = models.EmailField(_("email"), max_length=254, blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    accounts = models.ManyToManyField(
        Account, through="AccountContact", verbose_name=_("companies"), related_name="contacts", blank=True
    )

    # Personal data: masked everywhere unless revealed (guanxi.core.masking); the kind picks the mask.
    sensitive_fields = {"mobile": "phone", "phone": "phone", "email": "email", "wechat": "text", "street": "text"}

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="contact_name_idx"),
            models.Index(fields=["-created_at", "-id"], name="contact_created_idx"),
            models.Index(fields=["owner", "name"], name="contact_owner_idx"),
            models.Index(fields=["city", "name"], name="contact_city_idx"),
            models.Index(fields=["mobile"], name="contact_mobile_idx"),
            # Partial: most contacts have no phone and many no email, and an index full of '' makes
            # SQLite's statistics choose a table scan (docs/performance.md). Queries state the same
            # condition (customers.filtersets.contact_phone_q / contact_email_q).
            models.Index(fields=["phone"], name="contact_phone_idx", condition=~models.Q(phone="")),
            models.Index(fields=["email"], name="contact_email_idx", condition=~models.Q(email="")),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:contact_detail", args=[self.pk])

    def clean_fields(self, exclude=None):
        if self.email:
            self.email = self.email.strip().lower()
        super().clean_fields(exclude=exclude)


class AccountContact(models.Model):
    """A person's place at a company; a person can work with several companies."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        verbose_name = _("company contact")
        verbose_name_plural = _("company contacts")
        constraints = [models.UniqueConstraint(fields=["account", "contact"], name="accountcontact_unique")]

    def __str__(self):
        return f"{self.contact} @ {self.account}"


class AccountRelation(Record):
    """A typed link in the relationship network: from_account is <type> of to_account."""

    # No owner of its own: visible when both companies are; changed by whoever may change from_account.
    access_parents = ("from_account", "to_account")

    from_account = models.ForeignKey(
        Account, verbose_name=_("company"), on_delete=models.CASCADE, related_name="relations_out"
    )
    to_account = models.ForeignKey(
        Account, verbose_name=_("related company"), on_delete=models.CASCADE, related_name="relations_in"
    )
    relation_type = models.CharField(_("relation"), max_length=20, choices=RelationType.choices)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("company relation")
        verbose_name_plural = _("company relations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_account", "to_account", "relation_type"], condition=models.Q(deleted_at__isnull=True),
                name="accountrelation_unique",
                violation_error_message=_("These companies already have this relation."),
            ),
            models.CheckConstraint(
                condition=~models.Q(from_account=models.F("to_account")), name="accountrelation_not_self",
                violation_error_message=_("A company cannot be related to itself."),
            ),
        ]

    def __str__(self):
        return f"{self.from_account} → {self.get_relation_type_display()} → {self.to_account}"

    def get_absolute_url(self):
        return reverse("customers:accountrelation_detail", args=[self.pk])


class Pool(models.Model):
    """A shared customer pool (公海): unowned companies and leads that its members may claim.

    A record is *in* the pool when its `pool` is this pool and it has no owner; once claimed it keeps
    `pool` (so the claim counts against the claimer's quota and the reclaim job watches it) until it is
    returned, reclaimed or moved out of the pool by an administrator.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    members = models.ManyToManyField(
        "core.User", verbose_name=_("members"), blank=True, related_name="pools",
        help_text=_("Users who see the pool and may claim from it."),
    )
    member_teams = models.ManyToManyField(
        "core.Team", verbose_name=_("member teams"), blank=True, related_name="pools",
        help_text=_("Every member of these teams sees the pool and may claim from it."),
    )
    provinces = models.CharField(
        _("region (provinces)"), max_length=500, blank=True,
        help_text=_("Comma-separated provinces whose returned and unassigned records land in this pool."),
    )
    claim_quota = models.PositiveIntegerField(
        _("claim quota"), default=20,
        help_text=_("How many records from this pool one user may hold at a time."),
    )
    reclaim_days = models.PositiveIntegerField(
        _("reclaim after (days)"), default=30,
        help_text=_("A claimed record without a follow-up or deal for this many days returns to the pool; "
                    "0 turns this off."),
    )
    cooldown_days = models.PositiveIntegerField(
        _("no re-claim for (days)"), default=7,
        help_text=_("A user who returned a record, or lost it to the reclaim job, may not claim it again "
                    "for this many days."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer pool")
        verbose_name_plural = _("customer pools")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:pool_detail", args=[self.pk])

    def viewable_by(self, user):
        """Whether the user may open the pool's page (pool_services.visible_pools)."""
        from guanxi.core import access

        return access.is_admin(user) or (access.is_active_user(user) and self.pk in access.pool_ids(user))


class PoolEvent(models.Model):
    """What happened to a record in a pool: the claim quota's cooldown and the pool history read this."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="events")
    record_type = models.CharField(max_length=50, choices=PoolRecordKind.choices)
    record_id = models.BigIntegerField()
    kind = models.CharField(_("event"), max_length=10, choices=PoolEventKind.choices)
    user = models.ForeignKey(
        "core.User", verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("Who claimed or returned it; for a reclaim, the owner who lost it."),
    )
    actor = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("pool event")
        verbose_name_plural = _("pool events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["record_type", "record_id", "-at"], name="poolevent_record_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.record_type}#{self.record_id}"
