"""Quota maintenance: who may set whose quota, and the audited writes.

Rules: administrators set every quota. A user whose role has `assign` on opportunities sets the quotas of
the people below them (`core.access.subordinate_ids`, not their own) and of the teams managed by them or
by someone below them. Everyone reads their own quotas and their team's; managers also read the ones
they may set. Quotas are in CNY.
"""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from djmoney.money import Money

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction

from .analytics import CURRENCY
from .models import Opportunity, Quota

RECORD_TYPE = "sales.quota"


def manageable_user_ids(actor):
    """Users whose quotas the actor may set: None = everyone, else a frozenset (maybe empty)."""
    if not access.is_active_user(actor):
        return frozenset()
    if access.is_admin(actor):
        return None
    g = access.grant(actor, Opportunity)
    if "assign" not in g.actions:
        return frozenset()
    return access.subordinate_ids(actor)


def manageable_team_ids(actor):
    from guanxi.core.models import Team

    people = manageable_user_ids(actor)
    if people is None:
        return None
    if not people:
        return frozenset()
    return frozenset(Team.objects.filter(Q(manager_id=actor.pk) | Q(manager_id__in=sorted(people)))
                     .values_list("pk", flat=True))


def can_manage_quotas(actor):
    users = manageable_user_ids(actor)
    return users is None or bool(users)


def quotas_visible(actor):
    """The quotas the actor may read."""
    qs = Quota.objects.select_related("user", "team")
    if not access.is_active_user(actor):
        return qs.none()
    users, teams = manageable_user_ids(actor), manageable_team_ids(actor)
    if users is None:
        return qs
    who = Q(user_id__in=sorted(users | {actor.pk})) | Q(team_id__in=sorted(teams))
    if actor.team_id:
        who |= Q(team_id=actor.team_id)
    return qs.filter(who)


def quotas_manageable(actor):
    users, teams = manageable_user_ids(actor), manageable_team_ids(actor)
    qs = Quota.objects.select_related("user", "team")
    if users is None:
        return qs
    return qs.filter(Q(user_id__in=sorted(users)) | Q(team_id__in=sorted(teams)))


def _check_target(actor, user, team):
    if not can_manage_quotas(actor):
        raise PermissionDenied(_("You may not set quotas."))
    users, teams = manageable_user_ids(actor), manageable_team_ids(actor)
    if user is not None and users is not None and user.pk not in users:
        raise ValidationError({"user": _("You may not set this user's quota.")})
    if team is not None and teams is not None and team.pk not in teams:
        raise ValidationError({"team": _("You may not set this team's quota.")})


def _label(quota):
    return f"{quota.user or quota.team} {quota.get_period_display()} {quota.start:%Y-%m}"


def _snapshot(quota):
    return {"user": quota.user_id, "team": quota.team_id, "period": quota.period, "start": quota.start.isoformat(),
            "amount": str(quota.amount.amount)}


def _amount(value):
    if value is None:
        raise ValidationError({"amount": _("Enter a target.")})
    value = Decimal(value)
    if value < 0:
        raise ValidationError({"amount": _("A target cannot be negative.")})
    return Money(value, CURRENCY)


@transaction.atomic
def quota_create(*, actor, user=None, team=None, period, start, amount):
    _check_target(actor, user, team)
    quota = Quota(user=user, team=team, period=period, start=start, amount=_amount(amount))
    quota.full_clean()
    quota.save()
    audit_log(actor=actor, action=AuditAction.CREATE, record_type=RECORD_TYPE, record_id=quota.pk,
              label=_label(quota), data={"fields": _snapshot(quota)})
    return quota


@transaction.atomic
def quota_update(*, actor, quota, amount, period=None, start=None):
    quota = Quota.objects.select_for_update().get(pk=quota.pk)
    _check_target(actor, quota.user, quota.team)
    before = _snapshot(quota)
    quota.amount = _amount(amount)
    if period is not None:
        quota.period = period
    if start is not None:
        quota.start = start
    quota.full_clean()
    quota.save()
    after = _snapshot(quota)
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit_log(actor=actor, action=AuditAction.UPDATE, record_type=RECORD_TYPE, record_id=quota.pk,
                  label=_label(quota), data={"changes": changes})
    return quota


@transaction.atomic
def quota_delete(*, actor, quota):
    _check_target(actor, quota.user, quota.team)
    snapshot, pk, label = _snapshot(quota), quota.pk, _label(quota)
    quota.delete()
    audit_log(actor=actor, action=AuditAction.DELETE, record_type=RECORD_TYPE, record_id=pk, label=label,
              data={"fields": snapshot})


@transaction.atomic
def quota_set(*, actor, user=None, team=None, period, start, amount):
    """Create or update the one quota of a user or team for a period (empty amount: leave it as it is)."""
    existing = Quota.objects.filter(user=user, team=team, period=period, start=start).first()
    if existing is not None:
        return quota_update(actor=actor, quota=existing, amount=amount)
    return quota_create(actor=actor, user=user, team=team, period=period, start=start, amount=amount)


@transaction.atomic
def quota_bulk_set(*, actor, team, period, start, team_amount=None, member_amounts=None):
    """Quotas of a team and of its members for one period in one go ({user: amount}; None skips)."""
    _check_target(actor, None, team)
    saved = []
    if team_amount is not None:
        saved.append(quota_set(actor=actor, team=team, period=period, start=start, amount=team_amount))
    for user, amount in (member_amounts or {}).items():
        if amount is None:
            continue
        if user.team_id != team.pk:
            raise ValidationError(_("%(user)s is not a member of this team.") % {"user": user})
        saved.append(quota_set(actor=actor, user=user, period=period, start=start, amount=amount))
    return saved
