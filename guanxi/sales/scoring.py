"""Rule-based lead scoring: a lead's score is the sum of the points of the active rules it matches.

`lead_score(lead)` returns the score and the explanation (which rules contributed); the services store
both on the lead (`score`, `score_detail`) when a lead is created or edited, when the rules change
(`leads_rescore`, a background job for many leads) and every night (recent engagement decays).
"""

import datetime
from collections import defaultdict

from django.db.models import Count
from django.utils import timezone

from .choices import OPEN_LEAD_STATUSES, ScoringField
from .models import Lead, ScoringRule

DEFAULT_ENGAGEMENT_DAYS = 30
MAX_ENGAGEMENT_DAYS = 3650


def split_values(text):
    """'a, b，c' -> ['a', 'b', 'c'] (ASCII and full-width commas; blanks dropped)."""
    return [v.strip() for v in (text or "").replace("，", ",").split(",") if v.strip()]


def engagement_days(rule):
    try:
        days = int((rule.value or "").strip())
    except ValueError:
        return DEFAULT_ENGAGEMENT_DAYS
    return min(max(days, 1), MAX_ENGAGEMENT_DAYS)


def province_matches(province, values):
    """'广东' matches '广东省' and the other way round; case-insensitive for Latin names."""
    province = (province or "").strip().casefold()
    if not province:
        return False
    for value in values:
        value = value.casefold()
        if province == value or (len(value) >= 2 and (province.startswith(value) or value.startswith(province))):
            return True
    return False


def active_rules():
    return list(ScoringRule.objects.filter(is_active=True).order_by("position", "id"))


def rule_matches(rule, lead, engagement):
    """Whether `lead` earns `rule`'s points. `engagement`: {days: interaction count} for this lead."""
    values = split_values(rule.value)
    field = rule.field
    if field in (ScoringField.INDUSTRY, ScoringField.SIZE, ScoringField.SOURCE):
        current = getattr(lead, field) or ""
        return bool(current) and current.casefold() in {v.casefold() for v in values}
    if field == ScoringField.PROVINCE:
        return province_matches(lead.province, values)
    if field == ScoringField.HAS_EMAIL:
        return bool(lead.email)
    if field == ScoringField.HAS_MOBILE:
        return bool(lead.mobile)
    if field == ScoringField.TITLE_CONTAINS:
        title = (lead.title or "").casefold()
        return bool(title) and any(v.casefold() in title for v in values)
    if field == ScoringField.RECENT_ENGAGEMENT:
        return engagement.get(engagement_days(rule), 0) > 0
    return False


def engagement_counts(lead_ids, rules, now=None):
    """{lead id: {days: interactions logged on the lead within that many days}} for the engagement rules."""
    from guanxi.activities.models import Interaction

    now = now or timezone.now()
    windows = sorted({engagement_days(r) for r in rules if r.field == ScoringField.RECENT_ENGAGEMENT})
    counts = defaultdict(dict)
    if not windows or not lead_ids:
        return counts
    for days in windows:
        since = now - datetime.timedelta(days=days)
        rows = (Interaction.objects.filter(lead_id__in=lead_ids, occurred_at__gte=since, occurred_at__lte=now)
                .values("lead_id").annotate(n=Count("id")).values_list("lead_id", "n"))
        for lead_id, n in rows:
            counts[lead_id][days] = n
    return counts


def explain(rule, engagement):
    """The detail entry of a rule that contributed."""
    entry = {"rule": rule.pk, "name": rule.name, "points": rule.points, "field": rule.field}
    if rule.field == ScoringField.RECENT_ENGAGEMENT:
        days = engagement_days(rule)
        entry["days"], entry["interactions"] = days, engagement.get(days, 0)
    return entry


def score_with(lead, rules, engagement):
    detail = [explain(r, engagement) for r in rules if rule_matches(r, lead, engagement)]
    return sum(d["points"] for d in detail), detail


def lead_score(lead, *, rules=None, now=None):
    """(score, [{"rule": id, "name": ..., "points": ..., "field": ...}, ...]) of the active rules `lead` matches."""
    rules = active_rules() if rules is None else rules
    engagement = engagement_counts([lead.pk], rules, now=now).get(lead.pk, {}) if lead.pk else {}
    return score_with(lead, rules, engagement)


def lead_rescore(lead, *, rules=None, now=None):
    """Compute and store one lead's score; returns (score, detail). A conditional UPDATE: no version bump."""
    score, detail = lead_score(lead, rules=rules, now=now)
    if (lead.score, lead.score_detail) != (score, detail):
        Lead.all_objects.filter(pk=lead.pk).update(score=score, score_detail=detail)
    lead.score, lead.score_detail = score, detail
    return score, detail


BATCH = 500


def leads_rescore_all(*, ids=None, now=None, batch=BATCH):
    """Recompute the score of every open lead (or of `ids`), in batches; returns how many changed.

    Idempotent: it writes only rows whose stored score or explanation differs from the computed one.
    """
    rules = active_rules()
    qs = Lead.objects.filter(status__in=OPEN_LEAD_STATUSES)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    changed, last = 0, 0
    fields = ["id", "industry", "size", "source", "province", "email", "mobile", "title", "score", "score_detail"]
    while True:
        leads = list(qs.filter(pk__gt=last).order_by("pk").only(*fields)[:batch])
        if not leads:
            return changed
        last = leads[-1].pk
        engagement = engagement_counts([lead.pk for lead in leads], rules, now=now)
        dirty = []
        for lead in leads:
            score, detail = score_with(lead, rules, engagement.get(lead.pk, {}))
            if (lead.score, lead.score_detail) != (score, detail):
                lead.score, lead.score_detail = score, detail
                dirty.append(lead)
        if dirty:
            Lead.all_objects.bulk_update(dirty, ["score", "score_detail"])
            changed += len(dirty)


# Up to this many open leads are rescored in the request that changed the rules; more go to a job.
INLINE_RESCORE_LIMIT = 200


def leads_rescore_schedule():
    """After the rules changed: rescore open leads now if they are few, else in the `leads_rescore` job
    (enqueued when the change commits). Returns "inline" or "job"."""
    from django.db import transaction

    if Lead.objects.filter(status__in=OPEN_LEAD_STATUSES).count() <= INLINE_RESCORE_LIMIT:
        leads_rescore_all()
        return "inline"
    from .tasks import leads_rescore

    transaction.on_commit(lambda: leads_rescore.enqueue())
    return "job"
