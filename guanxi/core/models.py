import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    TIMEZONES,
    Action,
    AuditAction,
    AuditOutcome,
    CustomFieldType,
    Language,
    Scope,
    ShareLevel,
    TimelineKind,
)


class Department(models.Model):
    """A node of the organisation tree; a manager sees the records of everyone below (scope `subtree`)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent department"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="managed_departments",
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk or node.pk in seen:
                raise ValidationError({"parent": _("This parent would make the department tree a cycle.")})
            seen.add(node.pk)
            node = node.parent


class Team(models.Model):
    """A sales or service team inside a department; scope `team` means the records of its members."""

    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="teams",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="managed_teams",
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.Model):
    """What a user may do: per record type actions and a visibility scope (RolePermission rows)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_admin = models.BooleanField(
        _("administrator"), default=False,
        help_text=_("Manages users, roles, departments, teams and settings; purges the recycle bin."),
    )
    can_read_audit = models.BooleanField(_("reads the audit log"), default=False)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["name"]

    def __str__(self):
        return self.name


class RolePermission(models.Model):
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    record_type = models.CharField(_("record type"), max_length=64)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    scope = models.CharField(_("visibility"), max_length=10, choices=Scope.choices, default=Scope.OWN)

    class Meta:
        verbose_name = _("role permission")
        verbose_name_plural = _("role permissions")
        constraints = [models.UniqueConstraint(fields=["role", "record_type"], name="rolepermission_unique")]

    def __str__(self):
        return f"{self.role} · {self.record_type}"

    def clean(self):
        unknown = [a for a in self.actions or [] if a not in Action.values]
        if unknown:
            raise ValidationError({"actions": _("Unknown action.")})


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS)
    timezone = models.CharField(
        _("time zone"), max_length=64, choices=[(tz, tz) for tz in TIMEZONES], default="Asia/Shanghai"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    role = models.ForeignKey(
        Role, verbose_name=_("role"), null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )
    manager = models.ForeignKey(
        "self", verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="reports",
    )
    # Small per-user UI state, e.g. {"columns": {"customers.account": ["name", "city"]}}.
    preferences = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.get_full_name() or self.username


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=20, default="secondary")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class CustomField(models.Model):
    """An administrator-defined field stored in a record's `custom` JSON: no migration needed."""

    record_type = models.CharField(_("record type"), max_length=64, db_index=True)
    name = models.SlugField(
        _("key"), max_length=50, help_text=_("Lower-case letters, digits and underscores; used in the API.")
    )
    label_zh = models.CharField(_("label (Chinese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=CustomFieldType.choices)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("For choice fields: the allowed values.")
    )
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["record_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["record_type", "name"], name="customfield_unique_name")]

    def __str__(self):
        return self.label

    @property
    def label(self):
        from django.utils.translation import get_language

        return self.label_en if (get_language() or "").startswith("en") else self.label_zh


class SavedView(models.Model):
    """A user's named list view: filters, ordering and columns."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    record_type = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(max_length=2000, blank=True)
    columns = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "record_type", "name"], name="savedview_unique_name")
        ]

    def __str__(self):
        return self.name


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, user__is_active=True)


def hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A per-user API token; only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, user, name):
        """Create a token and return (token, raw key). The raw key is shown once."""
        raw = "gx_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[:8], key_hash=hash_token(raw))
        return token, raw

    def revoke(self):
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class TimelineEvent(models.Model):
    """One typed entry on a record's history, written by services (ARCHITECTURE.md §5)."""

    record_type = models.CharField(max_length=64)
    record_id = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=TimelineKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    # {"changes": {"field": [before, after]}, "label": "...", ...}; sensitive values are never stored here.
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["record_type", "record_id", "-at"], name="timeline_record_idx")]

    def __str__(self):
        return f"{self.record_type}#{self.record_id} {self.kind}"


class RecordShare(models.Model):
    """A record shared with a user or a team, for reading or editing, beyond the role's scope."""

    record_type = models.CharField(max_length=64)
    record_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="shares",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    level = models.CharField(_("access"), max_length=10, choices=ShareLevel.choices, default=ShareLevel.READ)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, team__isnull=True)
                           | models.Q(user__isnull=True, team__isnull=False)),
                name="recordshare_user_xor_team",
            ),
            models.UniqueConstraint(fields=["record_type", "record_id", "user"], name="recordshare_unique_user"),
            models.UniqueConstraint(fields=["record_type", "record_id", "team"], name="recordshare_unique_team"),
        ]
        indexes = [
            models.Index(fields=["record_type", "user", "record_id"], name="share_user_idx"),
            models.Index(fields=["record_type", "team", "record_id"], name="share_team_idx"),
        ]

    def __str__(self):
        return f"{self.record_type}#{self.record_id} → {self.user or self.team} ({self.level})"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only")

    def delete(self):
        raise PermissionError("the audit log is append-only")


class AuditEvent(models.Model):
    """One audited event (ARCHITECTURE.md §5). Append-only and hash-chained: see guanxi.core.audit."""

    at = models.DateTimeField(_("time"), db_index=True)
    # No database constraint: deleting a user must not rewrite (and so break) the chain.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+",
    )
    actor_label = models.CharField(_("user name"), max_length=150, blank=True)
    action = models.CharField(_("event"), max_length=20, choices=AuditAction.choices)
    outcome = models.CharField(_("outcome"), max_length=10, choices=AuditOutcome.choices,
                               default=AuditOutcome.SUCCESS)
    record_type = models.CharField(_("record type"), max_length=64, blank=True)
    record_id = models.BigIntegerField(_("record ID"), null=True, blank=True)
    record_label = models.CharField(_("record"), max_length=200, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["record_type", "record_id", "-id"], name="audit_record_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["action", "-id"], name="audit_action_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")


class AuditHead(models.Model):
    """The one row that anchors the chain: its lock serialises writers, its hash catches a removed tail."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit head #{self.last_id}"


class Notification(models.Model):
    """An in-app notification. `dedupe_key` is unique, so the same event notifies once even when two
    workers deliver it (e.g. "task-reminder:<task id>:<reminder time>")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=30)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), max_length=2000, blank=True)
    url = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_unread_idx"),
        ]

    def __str__(self):
        return self.title
