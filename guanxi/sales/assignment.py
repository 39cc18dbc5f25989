"""Assignment rules: who gets a new unowned lead (web form, import, API create without an owner).

The first active rule (by position) whose provinces, industries and sources match decides:
round-robin → the next active member of its team after the one who got the last lead (fair under
concurrency: the rule row is locked while its cursor advances), user → that user, pool → the lead stays
unowned in that customer pool. Manual reassignment is a plain owner change (edit or bulk assign).
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.customers.choices import PoolEventKind, PoolRecordKind
from guanxi.customers.models import Pool, PoolEvent
from guanxi.framework.services import timeline_add

from .choices import AssignmentMethod
from .models import AssignmentRule, Lead
from .scoring import province_matches, split_values


def rule_matches(rule, lead):
    provinces, industries, sources = (split_values(rule.provinces), split_values(rule.industries),
                                      split_values(rule.sources))
    if provinces and not province_matches(lead.province, provinces):
        return False
    if industries and (lead.industry or "").casefold() not in {v.casefold() for v in industries}:
        return False
    if sources and (lead.source or "").casefold() not in {v.casefold() for v in sources}:
        return False
    return True


def matching_rules(lead):
    """The active rules that match the lead, in order of position."""
    return [r for r in AssignmentRule.objects.filter(is_active=True).select_related("user", "pool")
            .order_by("position", "id") if rule_matches(r, lead)]


def _place(rule):
    """(owner, pool) the rule gives a lead; both None when it cannot (empty team, inactive user or pool)."""
    if rule.method == AssignmentMethod.ROUND_ROBIN:
        return round_robin_next(rule), None
    if rule.method == AssignmentMethod.USER:
        return (rule.user if rule.user and rule.user.is_active else None), None
    if rule.method == AssignmentMethod.POOL:
        return None, (rule.pool if rule.pool and rule.pool.is_active else None)
    return None, None


def round_robin_next(rule):
    """Advance the rule's cursor under a row lock and return the user whose turn it is (None: empty team)."""
    with transaction.atomic():
        locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
        if not locked.team_id:
            return None
        members = list(get_user_model().objects.filter(team_id=locked.team_id, is_active=True)
                       .order_by("id").values_list("pk", flat=True))
        if not members:
            return None
        after = [pk for pk in members if locked.last_user_id is not None and pk > locked.last_user_id]
        chosen = after[0] if after else members[0]
        AssignmentRule.objects.filter(pk=locked.pk).update(last_user_id=chosen)
        rule.last_user_id = chosen
        return get_user_model().objects.get(pk=chosen)


def pool_for_province(province):
    """The first active pool whose region lists the province (where unassigned leads land), if any."""
    if not province:
        return None
    for pool in Pool.objects.filter(is_active=True).exclude(provinces="").order_by("name", "id"):
        if province_matches(province, split_values(pool.provinces)):
            return pool
    return None


def _into_pool(lead, pool, actor):
    Lead.all_objects.filter(pk=lead.pk).update(owner=None, pool=pool, claimed_at=None)
    lead.owner, lead.pool, lead.claimed_at = None, pool, None
    PoolEvent.objects.create(pool=pool, record_type=PoolRecordKind.LEAD, record_id=lead.pk,
                             kind=PoolEventKind.ENTERED, actor=actor, at=timezone.now())


@transaction.atomic
def lead_assign_auto(*, lead, actor):
    """Apply the first matching assignment rule to a new lead; returns the rule applied, or None.

    A rule that cannot place the lead (an empty team...) passes it to the next matching one. Without a
    matching rule an unowned lead goes to the pool of its province, when there is one.
    Audited as lead_assign (data: rule, method) and shown on the lead's timeline.
    """
    before_owner, before_pool = lead.owner, lead.pool
    rule, owner, pool, method = None, None, None, None
    for candidate in matching_rules(lead):
        owner, pool = _place(candidate)
        if owner is not None or pool is not None:
            rule, method = candidate, candidate.method
            break
    if rule is None:
        if lead.owner_id is not None:
            return None
        pool = pool_for_province(lead.province)
        if pool is None:
            return None
        method = AssignmentMethod.POOL
    if owner is not None:
        Lead.all_objects.filter(pk=lead.pk).update(owner=owner)
        lead.owner = owner
        changes = {"owner": [_ref(before_owner), _ref(owner)]}
    else:
        _into_pool(lead, pool, actor)
        changes = {"owner": [_ref(before_owner), None], "pool": [_ref(before_pool), _ref(pool)]}
    data = {"rule": rule.pk if rule else None, "rule_name": rule.name if rule else "", "method": method,
            "owner": owner.pk if owner else None, "pool": pool.pk if pool else None}
    audit_log(actor=actor, action=AuditAction.LEAD_ASSIGN, obj=lead, data=data)
    timeline_add(obj=lead, kind=TimelineKind.UPDATED, actor=actor,
                 data={"changes": {k: v for k, v in changes.items() if v[0] != v[1]}, "command": "assign", **data})
    return rule


def _ref(obj):
    return {"id": obj.pk, "label": str(obj)} if obj is not None else None
