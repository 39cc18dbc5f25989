"""Customer pool (公海) commands: claim, return, put into a pool, the periodic reclaim, and pool settings.

A record (company or lead) is *in* a pool while `pool` is set and it has no owner. Members of an active
pool (directly or through their team) see those records (core.access, view only) and may claim them.

Decisions:
- Claim: the actor must be an active member of the record's active pool and allowed to view that record
  type; the record must be live and unowned. The quota counts the live companies and leads of this pool
  the actor owns now; it is checked after locking the pool row (SELECT … FOR UPDATE), so two concurrent
  claims by one user cannot both pass. The claim itself is `UPDATE … WHERE owner IS NULL`: of two users
  racing for one record, one wins and the other gets `already_claimed`.
- Cooldown: a user who returned a record, or lost it to the reclaim job, may not claim it again for the
  pool's cooldown days (whoever did the return: a manager returning a rep's record starts the rep's
  cooldown, recorded as the event's `user`).
- Return: the owner, or someone who may change and assign the record, returns it with a reason; it keeps
  its pool. A record without a pool goes into one with `pool_put` (change + assign on it), which also
  takes it away from its owner.
- Reclaim: a claimed record goes back when nothing happened on it for `reclaim_days`: no interaction on
  it (or on one of its deals) and no deal created or moved to a stage since the cutoff; the clock starts
  at the claim. Each record is one transaction with a conditional UPDATE on the expected owner, so a
  second run (or a concurrent one) finds nothing to do. Converted leads stay where they are.
"""

import datetime
import logging
import math

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.framework.services import timeline_add

from .choices import PoolEventKind, PoolRecordKind
from .models import Account, Pool, PoolEvent

log = logging.getLogger(__name__)

RECLAIM_KIND = "pool_reclaim"
REASON_MAX = 300


class PoolError(ValidationError):
    """A refused pool command: `code` is machine-readable (the API answers with it), the message translated."""

    # HTTP status the API answers with for each code.
    STATUS = {"not_found": 404, "not_member": 404, "forbidden": 404, "no_pool": 409, "already_claimed": 409,
              "quota_reached": 409, "cooldown": 409, "not_claimable": 409, "reason_required": 422,
              "invalid_input": 422}

    def __init__(self, message, code, params=None):
        super().__init__(message, code=code, params=params)

    @property
    def status(self):
        return self.STATUS.get(self.code, 409)


# -- record types ------------------------------------------------------------------------------


def pool_models():
    """{record type key: model} of the pooled record types (companies and leads)."""
    from guanxi.sales.models import Lead

    return {PoolRecordKind.ACCOUNT.value: Account, PoolRecordKind.LEAD.value: Lead}


def pool_model(record_type):
    model = pool_models().get(record_type)
    if model is None:
        raise PoolError(_("Unknown record type."), "invalid_input")
    return model


def _is_lead(model):
    return model._meta.label_lower == PoolRecordKind.LEAD.value


def claimable_q(model):
    """Records of `model` that may be claimed (besides being unowned): live, and a lead not converted."""
    if _is_lead(model):
        from guanxi.sales.choices import LeadStatus

        return ~Q(status=LeadStatus.CONVERTED)
    return Q()


def member_q(user):
    who = Q(members=user.pk)
    if user.team_id:
        who |= Q(member_teams=user.team_id)
    return who


def is_member(user, pool):
    """Whether `user` is an active member of the active `pool` (directly or through their team)."""
    if not access.is_active_user(user) or pool is None or not pool.is_active:
        return False
    return Pool.objects.filter(member_q(user), pk=pool.pk, is_active=True).exists()


def visible_pools(user):
    """Pools the user may look at: the active ones they belong to; administrators see every pool."""
    if access.is_admin(user):
        return Pool.objects.all()
    if not access.is_active_user(user):
        return Pool.objects.none()
    return Pool.objects.filter(pk__in=access.pool_ids(user))


def pool_records(user, pool, model):
    """The unowned, claimable records of `model` in `pool` that the user sees (through restrict())."""
    return model.objects.restrict(user, "view").filter(claimable_q(model), pool=pool, owner__isnull=True)


def claimed_count(user, pool):
    """How many live records (companies and leads) of `pool` the user owns now: what the quota counts.

    A converted lead no longer counts (it became a company and a deal outside the pool)."""
    return sum(model.objects.filter(claimable_q(model), pool=pool, owner=user).count()
               for model in pool_models().values())


def unowned_counts(pool_ids):
    """{record type: {pool id: unowned claimable records}} for the pool list."""
    from django.db.models import Count

    result = {}
    for key, model in pool_models().items():
        rows = (model.objects.filter(claimable_q(model), pool_id__in=list(pool_ids), owner__isnull=True)
                .values("pool_id").annotate(n=Count("pk")))
        result[key] = {r["pool_id"]: r["n"] for r in rows}
    return result


def record_for_command(user, record_type, record_id):
    """The record a pool command names, or None (→ 404).

    Found when the user may see it (restrict) or it is in one of the user's pools: a member saw it in the
    pool, so learning that someone claimed it first leaks nothing."""
    model = pool_model(record_type)
    if not access.allows(user, "view", model):
        return None
    visible = Q(pk__in=model.objects.restrict(user, "view").filter(pk=record_id).values("pk"))
    pools = access.pool_ids(user)
    if pools:
        visible |= Q(pool_id__in=pools)
    return model.objects.filter(visible, pk=record_id).select_related("pool", "owner").first()


def pool_for_province(province):
    """The first active pool (by name) whose region lists `province`, or None."""
    province = (province or "").strip()
    if not province:
        return None
    for pool in Pool.objects.filter(is_active=True, provinces__contains=province):
        if province in split_provinces(pool.provinces):
            return pool
    return None


def split_provinces(text):
    parts = []
    for raw in (text or "").replace("，", ",").replace("、", ",").replace(";", ",").split(","):
        part = raw.strip()
        if part and part not in parts:
            parts.append(part)
    return parts


# -- helpers -----------------------------------------------------------------------------------


def _user_ref(user):
    return {"id": user.pk, "label": str(user)} if user is not None else None


def _event(*, pool, record, kind, user, actor, reason="", at):
    return PoolEvent.objects.create(pool=pool, record_type=record.type_key(), record_id=record.pk, kind=kind,
                                    user=user, actor=actor, reason=(reason or "")[:REASON_MAX], at=at)


def _write_rows(*, record, pool, actor, action, command, changes, reason=""):
    # The timeline's title names the pool (and the reason); the audit row keeps both as plain details.
    data = {"label": f"{pool.name} · {reason}" if reason else pool.name, "command": command, "changes": changes}
    if reason:
        data["reason"] = reason
    timeline_add(obj=record, kind=TimelineKind.UPDATED, actor=actor, data=data)
    details = {"pool": pool.name, "changes": changes}
    if reason:
        details["reason"] = reason
    audit_log(actor=actor, action=action, obj=record, data=details)


def _clean_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise PoolError(_("Give a reason for returning it to the pool."), "reason_required")
    if len(reason) > REASON_MAX or "\x00" in reason:
        raise PoolError(_("The reason has at most %(n)d characters.") % {"n": REASON_MAX}, "invalid_input")
    return reason


def _fresh(record):
    return type(record).all_objects.select_related("pool", "owner").get(pk=record.pk)


# -- commands ----------------------------------------------------------------------------------


@transaction.atomic
def pool_claim(*, record, actor, at=None):
    """Make `actor` the owner of an unowned record in a pool they belong to. Returns the fresh record."""
    at = at or timezone.now()
    model = type(record)
    current = model.all_objects.filter(pk=record.pk).values("pool_id", "owner_id", "deleted_at").first()
    if current is None or current["deleted_at"] is not None:
        raise PoolError(_("This record does not exist."), "not_found")
    if current["pool_id"] is None:
        raise PoolError(_("This record is not in a customer pool."), "no_pool")
    # Lock the pool: claims from one pool are serialised, so the quota below cannot be exceeded.
    pool = Pool.objects.select_for_update().filter(pk=current["pool_id"]).first()
    if pool is None or not access.allows(actor, "view", model) or not is_member(actor, pool):
        raise PoolError(_("You are not a member of this customer pool."), "not_member")
    current = model.all_objects.filter(pk=record.pk).values("pool_id", "owner_id").first()
    if current["owner_id"] is not None or current["pool_id"] != pool.pk:
        if current["owner_id"] == actor.pk:
            raise PoolError(_("You already own this record."), "already_claimed")
        raise PoolError(_("Someone else claimed this record first."), "already_claimed")
    if not model.objects.filter(claimable_q(model), pk=record.pk).exists():
        raise PoolError(_("This lead has been converted and cannot be claimed."), "not_claimable")
    held = claimed_count(actor, pool)
    if held >= pool.claim_quota:
        raise PoolError(
            _("You hold %(n)s of %(quota)s records from this pool: return or convert one before claiming another.")
            % {"n": held, "quota": pool.claim_quota}, "quota_reached", {"n": held, "quota": pool.claim_quota})
    if pool.cooldown_days:
        since = at - datetime.timedelta(days=pool.cooldown_days)
        last = (PoolEvent.objects.filter(record_type=record.type_key(), record_id=record.pk, user=actor,
                                         kind__in=[PoolEventKind.RETURNED, PoolEventKind.RECLAIMED], at__gt=since)
                .order_by("-at").values_list("at", flat=True).first())
        if last is not None:
            until = last + datetime.timedelta(days=pool.cooldown_days)
            days = max(1, math.ceil((until - at).total_seconds() / 86400))
            raise PoolError(
                ngettext("You gave this record up recently: you may claim it again in %(days)d day.",
                         "You gave this record up recently: you may claim it again in %(days)d days.", days)
                % {"days": days}, "cooldown", {"days": days})
    # The gate: of two claims racing for this record, only one UPDATE finds it unowned.
    changed = model.objects.filter(pk=record.pk, owner__isnull=True, pool=pool).update(
        owner=actor, claimed_at=at, version=F("version") + 1, updated_at=timezone.now())
    if not changed:
        raise PoolError(_("Someone else claimed this record first."), "already_claimed")
    fresh = _fresh(record)
    _event(pool=pool, record=fresh, kind=PoolEventKind.CLAIMED, user=actor, actor=actor, at=at)
    _write_rows(record=fresh, pool=pool, actor=actor, action=AuditAction.POOL_CLAIM, command="pool_claim",
                changes={"owner": [None, _user_ref(actor)]})
    return fresh


def may_return(actor, record):
    """The owner returns their own record; someone who may change and assign it may return anyone's."""
    if not access.is_active_user(actor) or record.owner_id is None:
        return False
    if record.owner_id == actor.pk:
        return access.can(actor, "view", record)
    return may_put(actor, record)


def may_put(actor, record):
    return access.can(actor, "change", record) and access.can(actor, "assign", record)


@transaction.atomic
def pool_return(*, record, actor, reason, at=None):
    """Give a claimed record back to its pool (owner and claim cleared; the pool stays). Returns it fresh."""
    at = at or timezone.now()
    reason = _clean_reason(reason)
    model = type(record)
    fresh = model.objects.select_related("pool", "owner").filter(pk=record.pk).first()
    if fresh is None or not may_return(actor, fresh):
        raise PoolError(_("You cannot return this record."), "forbidden")
    if fresh.pool_id is None:
        raise PoolError(_("This record belongs to no customer pool: put it into one instead."), "no_pool")
    previous = fresh.owner
    changed = model.objects.filter(pk=record.pk, owner_id=previous.pk, pool_id=fresh.pool_id).update(
        owner=None, claimed_at=None, version=F("version") + 1, updated_at=timezone.now())
    if not changed:
        raise PoolError(_("This record changed meanwhile; reload and try again."), "already_claimed")
    fresh = _fresh(record)
    _event(pool=fresh.pool, record=fresh, kind=PoolEventKind.RETURNED, user=previous, actor=actor,
           reason=reason, at=at)
    _write_rows(record=fresh, pool=fresh.pool, actor=actor, action=AuditAction.POOL_RETURN, command="pool_return",
                changes={"owner": [_user_ref(previous), None]}, reason=reason)
    return fresh


@transaction.atomic
def pool_put(*, record, pool, actor, reason, at=None):
    """Put a record into `pool` (administrators and managers: change + assign on it), unowned."""
    at = at or timezone.now()
    reason = _clean_reason(reason)
    model = type(record)
    fresh = model.objects.select_related("pool", "owner").filter(pk=record.pk).first()
    if fresh is None or not may_put(actor, fresh):
        raise PoolError(_("You cannot put this record into a pool."), "forbidden")
    if pool is None or not Pool.objects.filter(pk=pool.pk, is_active=True).exists():
        raise PoolError(_("Choose an active customer pool."), "invalid_input")
    if fresh.pool_id == pool.pk and fresh.owner_id is None:
        return fresh  # already there
    previous, previous_pool = fresh.owner, fresh.pool
    changed = model.objects.filter(pk=record.pk, owner_id=fresh.owner_id, pool_id=fresh.pool_id).update(
        owner=None, claimed_at=None, pool=pool, version=F("version") + 1, updated_at=timezone.now())
    if not changed:
        raise PoolError(_("This record changed meanwhile; reload and try again."), "already_claimed")
    fresh = _fresh(record)
    _event(pool=pool, record=fresh, kind=PoolEventKind.ENTERED, user=previous, actor=actor, reason=reason, at=at)
    changes = {"owner": [_user_ref(previous), None]}
    if previous_pool != pool:
        changes["pool"] = [{"id": previous_pool.pk, "label": previous_pool.name} if previous_pool else None,
                           {"id": pool.pk, "label": pool.name}]
    _write_rows(record=fresh, pool=pool, actor=actor, action=AuditAction.POOL_RETURN, command="pool_put",
                changes=changes, reason=reason)
    return fresh


# -- the periodic reclaim ------------------------------------------------------------------------


def _quiet_since(model, cutoff):
    """A filter on `model`: nothing happened on the record since `cutoff` (follow-ups and deals)."""
    from guanxi.activities.models import Interaction
    from guanxi.sales.models import Opportunity

    link = "lead" if _is_lead(model) else "account"
    recent = Q(created_at__gte=cutoff) | Q(stage_entered_at__gte=cutoff)
    follow_up = Interaction.objects.filter(
        Q(**{link: OuterRef("pk")}) | Q(**{f"opportunity__{link}": OuterRef("pk")}), occurred_at__gte=cutoff)
    deal = Opportunity.objects.filter(recent, **{link: OuterRef("pk")})
    return ~Exists(follow_up) & ~Exists(deal)


def reclaim_candidates(pool, model, now):
    """(id, owner id, claimed_at) of the claimed records of `pool` due to go back at `now`."""
    cutoff = now - datetime.timedelta(days=pool.reclaim_days)
    qs = (model.objects.filter(claimable_q(model), pool=pool, owner__isnull=False)
          .annotate(clock=Coalesce("claimed_at", "created_at")).filter(clock__lt=cutoff)
          .filter(_quiet_since(model, cutoff)))
    return list(qs.order_by("pk").values_list("pk", "owner_id", "claimed_at"))


def reclaim_message(record, pool, user):
    with translation.override(user.language or settings.LANGUAGE_CODE):
        title = _("Returned to the pool: %(name)s") % {"name": record}
        body = ngettext(
            "Nothing was logged on it for %(days)d day, so it went back to customer pool “%(pool)s”.",
            "Nothing was logged on it for %(days)d days, so it went back to customer pool “%(pool)s”.",
            pool.reclaim_days) % {"days": pool.reclaim_days, "pool": pool.name}
    return str(title), str(body)


@transaction.atomic
def _reclaim_one(*, model, pool, pk, owner_id, claimed_at, now):
    from guanxi.core.notifications import notification_create

    changed = model.objects.filter(pk=pk, owner_id=owner_id, pool=pool, claimed_at=claimed_at).update(
        owner=None, claimed_at=None, version=F("version") + 1, updated_at=timezone.now())
    if not changed:
        return False  # claimed, returned or reclaimed meanwhile: nothing to do
    record = _fresh(model(pk=pk))
    previous = get_user_model().objects.filter(pk=owner_id).first()
    _event(pool=pool, record=record, kind=PoolEventKind.RECLAIMED, user=previous, actor=None, at=now,
           reason=f"{pool.reclaim_days}d")
    _write_rows(record=record, pool=pool, actor=None, action=AuditAction.POOL_RECLAIM, command="pool_reclaim",
                changes={"owner": [_user_ref(previous), None]})
    if previous is not None and previous.is_active:
        title, body = reclaim_message(record, pool, previous)
        try:
            url = record.get_absolute_url()
        except NoReverseMatch:
            url = ""
        stamp = claimed_at.isoformat() if claimed_at else "none"
        notification_create(user=previous, kind=RECLAIM_KIND, title=title, body=body, url=url, now=now,
                            dedupe_key=f"pool-reclaim:{record.type_key()}:{pk}:{owner_id}:{stamp}")
    return True


def pool_reclaim_due(*, now=None):
    """Return every due claimed record of every active pool with reclaim_days > 0; returns how many."""
    now = now or timezone.now()
    count = 0
    for pool in Pool.objects.filter(is_active=True, reclaim_days__gt=0).order_by("pk"):
        for model in pool_models().values():
            for pk, owner_id, claimed_at in reclaim_candidates(pool, model, now):
                count += _reclaim_one(model=model, pool=pool, pk=pk, owner_id=owner_id, claimed_at=claimed_at,
                                      now=now)
    if count:
        log.info("pool reclaim: %s records returned", count)
    return count


# -- pool settings -------------------------------------------------------------------------------

POOL_FIELDS = ("name", "description", "is_active", "provinces", "claim_quota", "reclaim_days", "cooldown_days")


def _pool_snapshot(pool):
    data = {name: getattr(pool, name) for name in POOL_FIELDS}
    if pool.pk:
        data["members"] = sorted(pool.members.values_list("pk", flat=True))
        data["member_teams"] = sorted(pool.member_teams.values_list("pk", flat=True))
    return data


@transaction.atomic
def pool_save(*, actor, pool=None, fields, members=None, member_teams=None):
    """Create (pool=None) or update a pool: administrators only. Returns the pool."""
    if not access.is_admin(actor):
        raise PoolError(_("Only administrators manage customer pools."), "forbidden")
    creating = pool is None
    pool = Pool() if creating else Pool.objects.select_for_update().get(pk=pool.pk)
    before = {} if creating else _pool_snapshot(pool)
    for name, value in fields.items():
        if name not in POOL_FIELDS:
            raise PoolError(_("Unknown field."), "invalid_input")
        setattr(pool, name, value)
    pool.name = (pool.name or "").strip()
    pool.provinces = ", ".join(split_provinces(pool.provinces))
    pool.full_clean()
    pool.save()
    if members is not None:
        pool.members.set(members)
    if member_teams is not None:
        pool.member_teams.set(member_teams)
    after = _pool_snapshot(pool)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changes:
        audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, record_type="customers.pool", record_id=pool.pk,
                  label=pool.name, data={"event": "pool_create" if creating else "pool_update", "changes": changes})
    return pool
