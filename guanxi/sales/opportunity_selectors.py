"""Reads about deals that span relations: the stalled condition and the kanban board's columns.

A deal is *stalled* when it is open, its stage has a limit (`stall_days > 0`) and nothing happened on
it for longer than that: it entered the stage before the cut-off and no interaction was logged on the
deal since the cut-off. The cut-off differs per stage, so the condition is one OR over the (few) stages
with a limit — plain date comparisons that serve SQLite and PostgreSQL alike, no per-row date maths.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, Sum, Value, When
from django.utils import timezone

from guanxi.framework.money import currency_prefix, money_display

from .choices import StageKind
from .models import Opportunity, Stage


def _stall_stages(pipeline=None):
    qs = Stage.objects.filter(kind=StageKind.OPEN, stall_days__gt=0)
    if pipeline is not None:
        qs = qs.filter(pipeline=pipeline)
    return list(qs.values_list("pk", "stall_days"))


def stalled_q(*, now=None, pipeline=None, stages=None):
    """Q() selecting stalled deals (open, idle in their stage longer than the stage's limit)."""
    from guanxi.activities.models import Interaction

    now = now or timezone.now()
    stages = _stall_stages(pipeline) if stages is None else stages
    condition = Q(pk__in=[])
    for stage_pk, days in stages:
        cutoff = now - datetime.timedelta(days=days)
        recent = Interaction.objects.filter(opportunity=OuterRef("pk"), occurred_at__gte=cutoff)
        condition |= Q(stage_id=stage_pk, stage_entered_at__lt=cutoff) & ~Exists(recent)
    return condition


def with_stalled(queryset, *, now=None, pipeline=None):
    """The queryset annotated with `is_stalled` (one extra small query for the stages' limits)."""
    stages = _stall_stages(pipeline)
    if not stages:
        return queryset.annotate(is_stalled=Value(False, output_field=BooleanField()))
    return queryset.annotate(is_stalled=Case(When(stalled_q(now=now, stages=stages), then=Value(True)),
                                             default=Value(False), output_field=BooleanField()))


def is_stalled(opportunity, *, now=None):
    """The stalled flag of one deal (uses the annotation when the deal was read with it)."""
    if hasattr(opportunity, "is_stalled"):
        return opportunity.is_stalled
    return Opportunity.all_objects.filter(pk=opportunity.pk).filter(stalled_q(now=now)).exists()


def days_in_stage(opportunity, *, now=None):
    if not opportunity.stage_entered_at:
        return 0
    return max(0, ((now or timezone.now()) - opportunity.stage_entered_at).days)


def stage_totals(queryset):
    """{stage_pk: {"count": n, "sums": {currency: Decimal}}} in one aggregate query."""
    totals = defaultdict(lambda: {"count": 0, "sums": {}})
    rows = queryset.order_by().values("stage_id", "amount_currency").annotate(n=Count("id"), total=Sum("amount"))
    for row in rows:
        entry = totals[row["stage_id"]]
        entry["count"] += row["n"]
        entry["sums"][row["amount_currency"]] = (entry["sums"].get(row["amount_currency"], Decimal(0))
                                                 + (row["total"] or Decimal(0)))
    return totals


BOARD_FILTERS_IGNORED = ("pipeline", "stage", "status")


def board_queryset(*, user, pipeline, filters=None):
    """The deals of `pipeline` the user may see, filtered by the board's filters (the deal FilterSet;
    pipeline, stage and status are the board's own axes and are ignored). Returns (filterset, queryset)."""
    from .opportunity_filtersets import OpportunityFilterSet

    data = filters.copy() if hasattr(filters, "copy") else dict(filters or {})
    for name in BOARD_FILTERS_IGNORED:
        data.pop(name, None)
    base = Opportunity.objects.restrict(user, "view").filter(pipeline=pipeline)
    fs = OpportunityFilterSet(data, queryset=base)
    qs = fs.qs if fs.is_valid() else base.none()
    return fs, qs


# The columns a card shows (and the links display preparation checks): fewer instances' worth of work.
CARD_FIELDS = ("id", "name", "amount", "amount_currency", "version", "board_rank", "stage_entered_at", "stage_id",
               "pipeline_id", "account_id", "lead_id", "owner_id", "deleted_at", "account__id", "account__name",
               "owner__id", "owner__username", "owner__display_name", "owner__first_name", "owner__last_name")


def amount_display(money):
    """"¥380,000.00", as every page shows amounts (framework.money)."""
    return money_display(money.amount, money.currency)


def board_cards(queryset, stage, *, offset=0, limit=50, now=None, stall_stages=None):
    """One page of a column's cards, ordered as on the board, with `is_stalled`, `days_in_stage` and
    `amount_display`. The page's ids are chosen first (board order, LIMIT, through the board index) and
    only those rows are joined to their company and owner."""
    now = now or timezone.now()
    if stall_stages is None:
        stall_stages = _stall_stages(stage.pipeline_id and stage.pipeline)
    stages = [(pk, days) for pk, days in stall_stages if pk == stage.pk]
    page = queryset.filter(stage=stage).order_by("board_rank", "id").values("pk")[offset:offset + limit + 1]
    qs = (Opportunity.objects.filter(pk__in=page).select_related("account", "owner").only(*CARD_FIELDS)
          .order_by("board_rank", "id"))
    if stages:
        qs = qs.annotate(is_stalled=Case(When(stalled_q(now=now, stages=stages), then=Value(True)),
                                         default=Value(False), output_field=BooleanField()))
    else:
        qs = qs.annotate(is_stalled=Value(False, output_field=BooleanField()))
    cards = list(qs)
    has_more = len(cards) > limit
    cards = cards[:limit]
    for card in cards:
        card.days_in_stage = days_in_stage(card, now=now)
        card.amount_display = amount_display(card.amount)
        card.amount_prefix = currency_prefix(card.amount_currency)
    return cards, has_more


def board_columns(*, user, pipeline, filters=None, per_column=50, now=None):
    """The kanban board of one pipeline as the user may see it.

    Returns {"stages": [...], "columns": [...], "filterset": fs} where each column is
    {"stage", "count", "sums" ([(currency, total, display)]), "cards", "has_more", "closed"}. Open stages list their
    first `per_column` cards; won and lost columns are drop zones with their figures only. Queries:
    the stages, their stall limits, one aggregate over the filtered deals and one per open column —
    the same number whatever the number of deals.
    """
    from guanxi.framework.redaction import prepare_for_display

    now = now or timezone.now()
    stages = list(pipeline.stages.order_by("position", "id"))
    fs, qs = board_queryset(user=user, pipeline=pipeline, filters=filters)
    totals = stage_totals(qs)
    stall_stages = [(s.pk, s.stall_days) for s in stages if s.kind == StageKind.OPEN and s.stall_days > 0]
    columns, all_cards = [], []
    for stage in stages:
        entry = totals.get(stage.pk, {"count": 0, "sums": {}})
        sums = [(currency, total, currency_prefix(currency), money_display(total, currency, places=0))
                for currency, total in sorted(entry["sums"].items())]
        column = {"stage": stage, "count": entry["count"], "sums": sums,
                  "cards": [], "has_more": False, "closed": stage.kind != StageKind.OPEN}
        if not column["closed"] and entry["count"]:
            column["cards"], column["has_more"] = board_cards(qs, stage, limit=per_column, now=now,
                                                              stall_stages=stall_stages)
            all_cards.extend(column["cards"])
        columns.append(column)
    prepare_for_display(all_cards, user)
    return {"stages": stages, "columns": columns, "filterset": fs}
