"""Sales: leads (with scoring and assignment rules), opportunities in pipelines of stages, quotas."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from guanxi.customers.choices import CompanySize, Industry
from guanxi.framework.base import AddressMixin, OwnedMixin, Record, TaggedMixin
from guanxi.framework.fields import PhoneField

from .choices import (
    AssignmentMethod,
    DisqualifyReason,
    ForecastCategory,
    LeadSource,
    LeadStatus,
    QuotaPeriod,
    ScoringField,
    StageKind,
)
from .defaults import label


class Lead(Record, OwnedMixin, TaggedMixin, AddressMixin):
    """A possible customer not yet qualified: a person and/or a company, from some source.

    Status moves to converted / disqualified only through `lead_convert` / `lead_disqualify`; the score
    is computed by the scoring rules (`score_detail` says which rules contributed).
    """

    name = models.CharField(_("contact name"), max_length=100, blank=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    mobile = PhoneField(_("mobile"))
    phone = PhoneField(_("phone"))
    email = models.EmailField(_("email"), max_length=254, blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    website = models.URLField(_("website"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=CompanySize.choices, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices, default=LeadSource.OTHER)
    source_detail = models.CharField(_("source detail"), max_length=200, blank=True,
                                     help_text=_("Campaign name, referrer, page the form was on…"))
    status = models.CharField(_("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW,
                              editable=False)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    score = models.IntegerField(_("score"), default=0, editable=False)
    score_detail = models.JSONField(_("score detail"), default=list, blank=True, editable=False)
    disqualify_reason = models.CharField(_("disqualification reason"), max_length=20,
                                         choices=DisqualifyReason.choices, blank=True, editable=False)
    disqualify_note = models.CharField(_("disqualification note"), max_length=500, blank=True, editable=False)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    converted_account = models.ForeignKey(
        "customers.Account", verbose_name=_("converted to company"), null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
    )
    converted_contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("converted to contact"), null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
    )
    converted_opportunity = models.ForeignKey(
        "sales.Opportunity", verbose_name=_("converted to opportunity"), null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
    )
    # Customer pool (公海): in the pool while owner is empty; claimed_at starts the reclaim clock.
    pool = models.ForeignKey(
        "customers.Pool", verbose_name=_("customer pool"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="leads",
    )
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True, editable=False)

    sensitive_fields = {"mobile": "phone", "phone": "phone", "email": "email", "wechat": "text", "street": "text"}
    pooled = True  # unowned leads in a customer pool are visible to its members (core.access)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            models.Index(fields=["owner", "-created_at"], name="lead_owner_idx"),
            models.Index(fields=["status", "-created_at"], name="lead_status_idx"),
            models.Index(fields=["-score", "-id"], name="lead_score_idx"),
            models.Index(fields=["mobile"], name="lead_mobile_idx", condition=~models.Q(mobile="")),
            models.Index(fields=["email"], name="lead_email_idx", condition=~models.Q(email="")),
            models.Index(fields=["pool", "owner"], name="lead_pool_idx", condition=models.Q(pool__isnull=False)),
        ]

    def __str__(self):
        if self.name and self.company_name:
            return f"{self.name} · {self.company_name}"
        return self.name or self.company_name or _("Lead #%(id)s") % {"id": self.pk}

    def get_absolute_url(self):
        return reverse("sales:lead_detail", args=[self.pk])

    def clean_fields(self, exclude=None):
        if self.email:
            self.email = self.email.strip().lower()
        super().clean_fields(exclude=exclude)

    def clean(self):
        super().clean()
        if not (self.name or "").strip() and not (self.company_name or "").strip():
            raise ValidationError(_("Enter a contact name or a company name."))

    @property
    def is_open(self):
        return self.status in (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


class ScoringRule(models.Model):
    """Points a lead earns when it matches: the score is the sum of matching active rules."""

    name = models.CharField(_("name"), max_length=100)
    field = models.CharField(_("criterion"), max_length=20, choices=ScoringField.choices)
    value = models.CharField(
        _("value"), max_length=200, blank=True,
        help_text=_("Comma-separated values to match (industry, size, source, province codes or names), "
                    "the text a job title contains, or the number of days for recent engagement."),
    )
    points = models.IntegerField(_("points"), validators=[MinValueValidator(-1000), MaxValueValidator(1000)])
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    @property
    def value_display(self):
        """The value as people read it: choice codes (industries, sizes, sources) shown by their labels."""
        choices = {ScoringField.INDUSTRY: Industry, ScoringField.SIZE: CompanySize,
                   ScoringField.SOURCE: LeadSource}.get(self.field)
        if not choices:
            return self.value
        labels = dict(choices.choices)
        return ", ".join(str(labels.get(v.strip(), v.strip())) for v in self.value.split(",") if v.strip())


class AssignmentRule(models.Model):
    """Who gets a new unowned lead: the first active matching rule (by position) decides."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    provinces = models.CharField(_("provinces"), max_length=500, blank=True,
                                 help_text=_("Comma-separated; empty matches any."))
    industries = models.CharField(_("industries"), max_length=500, blank=True,
                                  help_text=_("Comma-separated industry codes; empty matches any."))
    sources = models.CharField(_("sources"), max_length=500, blank=True,
                               help_text=_("Comma-separated source codes; empty matches any."))
    method = models.CharField(_("method"), max_length=12, choices=AssignmentMethod.choices,
                              default=AssignmentMethod.ROUND_ROBIN)
    team = models.ForeignKey("core.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    pool = models.ForeignKey("customers.Pool", verbose_name=_("customer pool"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    # Round-robin cursor: the user who got the last lead (advanced under a row lock).
    last_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        needed = {AssignmentMethod.ROUND_ROBIN: "team", AssignmentMethod.USER: "user", AssignmentMethod.POOL: "pool"}
        name = needed.get(self.method)
        if name and not getattr(self, f"{name}_id"):
            raise ValidationError({name: _("This method needs this field.")})


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "id"]

    def __str__(self):
        return label(self.name)

    def get_absolute_url(self):
        return reverse("sales:board", args=[self.pk])


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE,
                                 related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10,
                                                   validators=[MaxValueValidator(100)])
    kind = models.CharField(_("type"), max_length=5, choices=StageKind.choices, default=StageKind.OPEN)
    stall_days = models.PositiveIntegerField(
        _("stalled after (days)"), default=14,
        help_text=_("A deal idle in this stage longer is shown as stalled; 0 never."),
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "id"]
        constraints = [models.UniqueConstraint(
            fields=["pipeline", "name"], name="stage_name_unique",
            violation_error_message=_("This pipeline already has a stage with this name."),
        )]

    def __str__(self):
        return label(self.name)

    @property
    def is_closed(self):
        return self.kind != StageKind.OPEN


class LostReason(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        ordering = ["position", "id"]

    def __str__(self):
        return label(self.name)


class Opportunity(Record, OwnedMixin, TaggedMixin):
    """A deal: a company may buy an amount by a date. Stage changes only through `opportunity_move`
    (or won/lost), which keeps `StageHistory` so that time in each stage is known."""

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey("customers.Account", verbose_name=_("company"), on_delete=models.PROTECT,
                                related_name="opportunities")
    contacts = models.ManyToManyField("customers.Contact", verbose_name=_("contacts"), blank=True,
                                      related_name="opportunities")
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT,
                                 related_name="opportunities")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    amount = MoneyField(_("amount"), max_digits=18, decimal_places=2, default=0, default_currency="CNY")
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), null=True, blank=True, validators=[MaxValueValidator(100)],
        help_text=_("Empty: the stage's default probability."),
    )
    forecast_category = models.CharField(_("forecast category"), max_length=10, choices=ForecastCategory.choices,
                                         default=ForecastCategory.PIPELINE)
    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices, blank=True)
    lead = models.ForeignKey(Lead, verbose_name=_("lead"), null=True, blank=True, editable=False,
                             on_delete=models.SET_NULL, related_name="+")
    description = models.TextField(_("description"), max_length=5000, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    lost_reason = models.ForeignKey(LostReason, verbose_name=_("lost reason"), null=True, blank=True,
                                    editable=False, on_delete=models.PROTECT, related_name="+")
    lost_note = models.CharField(_("lost note"), max_length=500, blank=True, editable=False)
    # Ordering inside a kanban column (drag and drop); ties fall back to id.
    board_rank = models.FloatField(default=0, editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["pipeline", "stage", "board_rank", "id"], name="opp_board_idx"),
            models.Index(fields=["owner", "stage"], name="opp_owner_stage_idx"),
            models.Index(fields=["account", "-created_at"], name="opp_account_idx"),
            models.Index(fields=["expected_close_date"], name="opp_close_date_idx"),
            models.Index(fields=["closed_at"], name="opp_closed_idx"),
            models.Index(fields=["-created_at", "-id"], name="opp_created_idx"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("sales:opportunity_detail", args=[self.pk])

    def clean(self):
        super().clean()
        if self.stage_id and self.pipeline_id and self.stage.pipeline_id != self.pipeline_id:
            raise ValidationError({"stage": _("This stage belongs to another pipeline.")})

    @property
    def effective_probability(self):
        return self.probability if self.probability is not None else self.stage.probability


class StageHistory(models.Model):
    """One stay of a deal in a stage: entered, left (empty while it is still there) and who moved it."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_history")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        verbose_name = _("stage history")
        verbose_name_plural = _("stage history")
        ordering = ["entered_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "entered_at"], name="stagehistory_opp_idx"),
            models.Index(fields=["stage", "entered_at"], name="stagehistory_stage_idx"),
        ]
        constraints = [
            # At most one open stay per deal: two concurrent moves cannot both leave the same stay open.
            models.UniqueConstraint(fields=["opportunity"], condition=models.Q(left_at__isnull=True),
                                    name="stagehistory_one_open"),
        ]

    def __str__(self):
        return f"{self.opportunity_id} @ {self.stage}"


class Quota(models.Model):
    """A sales target for a user or a team for one month or quarter (in CNY)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="quotas")
    team = models.ForeignKey("core.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="quotas")
    period = models.CharField(_("period"), max_length=7, choices=QuotaPeriod.choices, default=QuotaPeriod.MONTH)
    start = models.DateField(_("starts"), help_text=_("The first day of the month or quarter."))
    amount = MoneyField(_("target"), max_digits=18, decimal_places=2, default_currency="CNY")

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["-start", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(user__isnull=False) ^ models.Q(team__isnull=False),
                                   name="quota_user_xor_team",
                                   violation_error_message=_("A quota is for a user or for a team.")),
            models.UniqueConstraint(fields=["user", "period", "start"], name="quota_user_unique",
                                    condition=models.Q(user__isnull=False),
                                    violation_error_message=_("This user already has a quota for this period.")),
            models.UniqueConstraint(fields=["team", "period", "start"], name="quota_team_unique",
                                    condition=models.Q(team__isnull=False),
                                    violation_error_message=_("This team already has a quota for this period.")),
        ]

    def __str__(self):
        return f"{self.user or self.team} {self.start:%Y-%m} {self.amount}"

    def clean(self):
        super().clean()
        if self.start:
            if self.start.day != 1:
                raise ValidationError({"start": _("A period starts on the first day of a month.")})
            if self.period == QuotaPeriod.QUARTER and self.start.month not in (1, 4, 7, 10):
                raise ValidationError({"start": _("A quarter starts in January, April, July or October.")})
