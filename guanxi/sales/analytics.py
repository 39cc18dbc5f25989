"""Read-only sales analytics: the funnel of a pipeline, the forecast of a period and quota attainment.

Every figure is computed over `Opportunity.objects.restrict(user, "view")`: a viewer's numbers only ever
count deals they may see. Aggregation happens in SQL (a few GROUP BY queries per page, independent of
the number of deals); Python only combines the per-stage / per-owner rows.

Funnel definitions (a deal belongs to the funnel of its pipeline when it was *created* in the period):

- **reached(S)** for an open stage S: deals with a StageHistory row in an open stage of the pipeline at
  S's position or later, or in a won stage (a won deal went through the whole funnel). Lost stages never
  count as "later": a deal lost from Demo reached Demo, not the stages after it.
- **reached(won)** = **won**: deals whose current stage is a won stage. **lost**: current stage is lost.
- **conversion to next** of open stage S = reached(next open stage, or won after the last one) / reached(S).
- **conversion to won** of S = won / reached(S).
- **average days in stage**: mean length of all stays (StageHistory rows) of the period's deals in S;
  finished stays count left_at − entered_at, a stay still open counts up to now (so deals stuck in a
  stage make it look slow, as they should).
- **in stage** / **value in stage**: deals whose current stage is S, and the sum of their amounts per
  currency.
- **bottleneck**: the open stage with the lowest conversion to next (among stages some deal reached);
  ties go to the longer average days.
- per owner: deals, won, lost, **win rate** = won / (won + lost), **conversion to won** = won / deals,
  **average cycle days** = mean of closed_at − created_at over the owner's won deals.

Forecast definitions (a period is a month or a quarter, dates in the site's time zone):

- **won**: amount of deals in a won stage with closed_at in the period.
- open deals with expected_close_date in the period, forecast category not "omitted":
  **weighted** = Σ amount × probability (the deal's override, else its stage's) / 100;
  **commit** = Σ amount of commit deals; **best case** = commit + Σ amount of best-case deals;
  **pipeline** = Σ amount of all of them.
- **forecast** = won + weighted; **attainment** = won / quota (total row: the listed reps' quotas added up).
- **quota** of a user or team: its quota for that month / quarter; for a quarter without a quarter quota,
  the sum of its month quotas within the quarter.

Money: quotas are in CNY and every total is CNY only. Deals in another currency are not converted; they
are left out of the money totals (and counted separately as `other_currency`) — counts of deals include them.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from guanxi.core import access
from guanxi.framework.forms import DATE_MAX, DATE_MIN

from .choices import ForecastCategory, QuotaPeriod, StageKind
from .models import LostReason, Opportunity, Quota, StageHistory

CURRENCY = "CNY"
# Dates outside these bounds are refused as input (a period end past 9999 does not exist).
MIN_DATE, MAX_DATE = DATE_MIN, DATE_MAX  # the report filters' bounds (framework.forms.BoundedDateField)
WON_POSITION = 2_147_483_647  # a won stay counts as reaching every open stage
ZERO = Decimal("0")
DAY_SECONDS = 86_400


# -- periods ---------------------------------------------------------------------------------------


def day_start(day):
    """The aware datetime at which a local calendar day starts."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def default_funnel_range(today=None):
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=89), today


def quarter_start(day):
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_end(period, start):
    """The first day after a month / quarter that starts on `start`."""
    months = 3 if period == QuotaPeriod.QUARTER else 1
    month = start.month - 1 + months
    return datetime.date(start.year + month // 12, month % 12 + 1, 1)


def period_for(period, day):
    """(start, end-exclusive) of the month or quarter containing `day`."""
    start = quarter_start(day) if period == QuotaPeriod.QUARTER else day.replace(day=1)
    return start, period_end(period, start)


def shift_period(period, start, n):
    months = (3 if period == QuotaPeriod.QUARTER else 1) * n
    month = start.month - 1 + months
    return datetime.date(start.year + month // 12, month % 12 + 1, 1)


# -- scope -----------------------------------------------------------------------------------------


def visible_deals(user):
    return Opportunity.objects.restrict(user, "view")


def people_in_scope(user):
    """Owners whose numbers the user may see as a manager: None = everyone (scope all), else ids.

    A rep (scope own) gets themself; a manager (subtree) themself and everyone below them.
    """
    g = access.grant(user, Opportunity)
    return access.owner_ids_for_scope(user, g.scope)


def is_manager_view(user):
    scope = people_in_scope(user)
    return scope is None or len(scope) > 1


def cohort(user, pipeline, date_from=None, date_to=None, owner_ids=None):
    """The period's deals of a pipeline the user may see (created in [date_from, date_to], local days)."""
    qs = visible_deals(user).filter(pipeline=pipeline)
    if date_from:
        qs = qs.filter(created_at__gte=day_start(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=day_start(date_to + datetime.timedelta(days=1)))
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=sorted(owner_ids))
    return qs


# -- funnel ----------------------------------------------------------------------------------------


@dataclass
class StageRow:
    stage: object
    reached: int = 0
    in_stage: int = 0
    value: dict = field(default_factory=dict)  # currency → Decimal
    avg_days: float | None = None
    conversion_next: float | None = None
    conversion_won: float | None = None
    is_bottleneck: bool = False

    @property
    def pk(self):
        return self.stage.pk

    @property
    def kind(self):
        return self.stage.kind

    @property
    def value_cny(self):
        return self.value.get(CURRENCY, ZERO)

    @property
    def value_other(self):
        return {c: v for c, v in self.value.items() if c != CURRENCY}


@dataclass
class OwnerRow:
    key: object  # user pk or team pk (None: no team)
    label: str
    deals: int = 0
    won: int = 0
    lost: int = 0
    won_value: Decimal = ZERO
    avg_cycle_days: float | None = None

    @property
    def win_rate(self):
        closed = self.won + self.lost
        return self.won / closed if closed else None

    @property
    def conversion_won(self):
        return self.won / self.deals if self.deals else None


@dataclass
class ReasonRow:
    reason: object  # LostReason or None
    count: int = 0
    value: Decimal = ZERO  # CNY

    @property
    def key(self):
        return self.reason.pk if self.reason else "none"


@dataclass
class Funnel:
    pipeline: object
    date_from: object
    date_to: object
    stages: list  # StageRow for every stage by position (open, won, lost)
    total: int = 0
    won: int = 0
    lost: int = 0
    won_value: Decimal = ZERO
    other_currency: int = 0
    bottleneck: StageRow | None = None
    lost_reasons: list = field(default_factory=list)
    by_owner: list = field(default_factory=list)
    by_team: list = field(default_factory=list)

    @property
    def open_stages(self):
        return [r for r in self.stages if r.kind == StageKind.OPEN]

    @property
    def win_rate(self):
        closed = self.won + self.lost
        return self.won / closed if closed else None

    def as_dict(self):
        def num(v):
            return None if v is None else round(v, 6)

        return {
            "pipeline": {"id": self.pipeline.pk, "name": str(self.pipeline)},
            "date_from": self.date_from, "date_to": self.date_to, "currency": CURRENCY,
            "total": self.total, "won": self.won, "lost": self.lost, "won_value": self.won_value,
            "win_rate": num(self.win_rate), "other_currency": self.other_currency,
            "bottleneck": self.bottleneck.pk if self.bottleneck else None,
            "stages": [{
                "id": r.pk, "name": str(r.stage), "kind": r.kind, "position": r.stage.position,
                "reached": r.reached, "in_stage": r.in_stage, "value": r.value_cny,
                "avg_days": num(r.avg_days), "conversion_next": num(r.conversion_next),
                "conversion_won": num(r.conversion_won), "is_bottleneck": r.is_bottleneck,
            } for r in self.stages],
            "lost_reasons": [{"id": r.reason.pk if r.reason else None, "name": str(r.reason or ""),
                              "count": r.count, "value": r.value} for r in self.lost_reasons],
            "by_owner": [_group_dict(r) for r in self.by_owner],
            "by_team": [_group_dict(r) for r in self.by_team],
        }


def _group_dict(r):
    return {"id": r.key, "name": r.label, "deals": r.deals, "won": r.won, "lost": r.lost,
            "won_value": r.won_value, "win_rate": None if r.win_rate is None else round(r.win_rate, 6),
            "conversion_won": None if r.conversion_won is None else round(r.conversion_won, 6),
            "avg_cycle_days": None if r.avg_cycle_days is None else round(r.avg_cycle_days, 6)}


def _reach_position(stages):
    """Per stay: the position it proves a deal reached (won → beyond every stage, lost → nothing).

    A CASE on stage_id with the pipeline's stages spelled out, so the query needs no join to sales_stage.
    """
    whens = [When(stage_id=s.pk, then=Value(WON_POSITION if s.kind == StageKind.WON else s.position))
             for s in stages if s.kind != StageKind.LOST]
    return Case(*whens, default=Value(-1), output_field=IntegerField())


def _days(duration):
    if duration is None:
        return None
    if isinstance(duration, datetime.timedelta):
        return duration.total_seconds() / DAY_SECONDS
    return float(duration) / 1_000_000 / DAY_SECONDS  # microseconds (SQLite)


def _user_label(user):
    return user.display_name or user.username if user else ""


def funnel(*, user, pipeline, date_from=None, date_to=None, owner_ids=None, now=None):
    """The funnel of `pipeline` for the deals the user may see, created in [date_from, date_to].

    Queries (each one GROUP BY over the restricted cohort; `C` = the cohort's ids as a subquery
    `SELECT id FROM sales_opportunity WHERE pipeline_id = %s AND created_at >= … AND <restrict() filter>`):

    1. reached — per deal the furthest position reached, then one conditional count per stage::

         SELECT COUNT(*) FILTER (WHERE reach >= pos_1), …, COUNT(*) FILTER (WHERE reach >= pos_n)
         FROM (SELECT h.opportunity_id, MAX(CASE WHEN h.stage_id = <won stage> THEN 2^31-1
                                                 WHEN h.stage_id = <open stage k> THEN <its position> …
                                                 ELSE -1 END) AS reach
               FROM sales_stagehistory h
               WHERE h.opportunity_id IN (C) GROUP BY h.opportunity_id) t

    2. average days: ``SELECT h.stage_id, AVG(COALESCE(h.left_at, now) - h.entered_at)
       FROM sales_stagehistory h WHERE h.opportunity_id IN (C) AND h.stage_id IN (<open stages>)
       GROUP BY h.stage_id``
    3. current stage: ``SELECT stage_id, amount_currency, COUNT(*), SUM(amount) FROM C GROUP BY 1, 2``
    4. lost reasons: ``… WHERE stage.kind = 'lost' GROUP BY lost_reason_id, amount_currency``
    5. owners: ``SELECT owner_id, COUNT(*), COUNT(*) FILTER (won), COUNT(*) FILTER (lost),
       SUM(amount) FILTER (won, CNY), AVG(closed_at - created_at) FILTER (won) FROM C GROUP BY owner_id``
       (teams are the owners' rows added up per team, in Python over a handful of rows).
    """
    now = now or timezone.now()
    stages = list(pipeline.stages.order_by("position", "id"))
    deals = cohort(user, pipeline, date_from, date_to, owner_ids)
    ids = deals.values("pk")
    rows = {s.pk: StageRow(stage=s) for s in stages}
    result = Funnel(pipeline=pipeline, date_from=date_from, date_to=date_to, stages=list(rows.values()))
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won_pks = {s.pk for s in stages if s.kind == StageKind.WON}
    lost_pks = {s.pk for s in stages if s.kind == StageKind.LOST}

    # 1. reached
    per_deal = (StageHistory.objects.filter(opportunity_id__in=ids).values("opportunity_id")
                .annotate(reach=Max(_reach_position(stages))))
    if open_stages:
        counts = per_deal.aggregate(**{
            f"s{s.pk}": Count("opportunity_id", filter=Q(reach__gte=s.position)) for s in open_stages})
        for s in open_stages:
            rows[s.pk].reached = counts[f"s{s.pk}"] or 0

    # 3. current stage: counts and value per currency
    for stage_id, currency, n, total in (deals.order_by().values_list("stage_id", "amount_currency")
                                         .annotate(n=Count("pk"), v=Sum("amount"))):
        row = rows.get(stage_id)
        if row is None:  # a stage of another pipeline cannot happen (clean()), but never crash on it
            continue
        row.in_stage += n
        row.value[currency] = row.value.get(currency, ZERO) + (total or ZERO)
        result.total += n
        if currency != CURRENCY:
            result.other_currency += n
    result.won = sum(rows[pk].in_stage for pk in won_pks)
    result.lost = sum(rows[pk].in_stage for pk in lost_pks)
    result.won_value = sum((rows[pk].value_cny for pk in won_pks), ZERO)
    for pk in won_pks:
        rows[pk].reached = rows[pk].in_stage
    for pk in lost_pks:
        rows[pk].reached = rows[pk].in_stage

    # 2. average days in stage (open stages only: time in a closed stage is not a stay)
    stay = ExpressionWrapper(Coalesce("left_at", Value(now)) - F("entered_at"), output_field=DurationField())
    for stage_id, avg in (StageHistory.objects.filter(opportunity_id__in=ids, stage_id__in=[s.pk for s in open_stages])
                          .order_by().values_list("stage_id").annotate(avg=Avg(stay, output_field=DurationField()))):
        if stage_id in rows:
            rows[stage_id].avg_days = _days(avg)

    # conversions and the bottleneck
    for i, s in enumerate(open_stages):
        row = rows[s.pk]
        nxt = rows[open_stages[i + 1].pk].reached if i + 1 < len(open_stages) else result.won
        if row.reached:
            row.conversion_next = nxt / row.reached
            row.conversion_won = result.won / row.reached
    candidates = [rows[s.pk] for s in open_stages if rows[s.pk].conversion_next is not None]
    if candidates:
        worst = min(candidates, key=lambda r: (r.conversion_next, -(r.avg_days or 0), r.stage.position))
        worst.is_bottleneck = True
        result.bottleneck = worst

    # 4. lost reasons
    reasons = {r.pk: r for r in LostReason.objects.all()}
    mix = {}
    for reason_id, currency, n, total in (deals.filter(stage__kind=StageKind.LOST).order_by()
                                          .values_list("lost_reason_id", "amount_currency")
                                          .annotate(n=Count("pk"), v=Sum("amount"))):
        row = mix.setdefault(reason_id, ReasonRow(reason=reasons.get(reason_id)))
        row.count += n
        if currency == CURRENCY:
            row.value += total or ZERO
    result.lost_reasons = sorted(mix.values(), key=lambda r: (-r.count, r.reason is None,
                                                              r.reason.position if r.reason else 0))

    # 5. owners and teams
    won_q, lost_q = Q(stage__kind=StageKind.WON), Q(stage__kind=StageKind.LOST)
    cycle = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    owner_rows = list(deals.order_by().values_list("owner_id").annotate(
        n=Count("pk"), won=Count("pk", filter=won_q), lost=Count("pk", filter=lost_q),
        won_value=Sum("amount", filter=won_q & Q(amount_currency=CURRENCY)),
        cycle=Avg(cycle, filter=won_q & Q(closed_at__isnull=False), output_field=DurationField()),
        cycle_n=Count("pk", filter=won_q & Q(closed_at__isnull=False)),
    ))
    from guanxi.core.models import User

    people = User.objects.select_related("team").in_bulk([r[0] for r in owner_rows if r[0]])
    teams, team_cycles = {}, {}
    for owner_id, n, won, lost, won_value, cycle_avg, cycle_n in owner_rows:
        person = people.get(owner_id)
        row = OwnerRow(key=owner_id, label=_user_label(person), deals=n, won=won, lost=lost,
                       won_value=won_value or ZERO, avg_cycle_days=_days(cycle_avg))
        result.by_owner.append(row)
        team = person.team if person and person.team_id else None
        trow = teams.setdefault(team.pk if team else None, OwnerRow(key=team.pk if team else None,
                                                                    label=str(team) if team else ""))
        trow.deals += n
        trow.won += won
        trow.lost += lost
        trow.won_value += won_value or ZERO
        if cycle_n:
            total_days, count = team_cycles.get(trow.key, (0.0, 0))
            team_cycles[trow.key] = (total_days + _days(cycle_avg) * cycle_n, count + cycle_n)
    for key, (total_days, count) in team_cycles.items():
        teams[key].avg_cycle_days = total_days / count
    result.by_owner.sort(key=lambda r: (-r.deals, r.label))
    result.by_team = sorted(teams.values(), key=lambda r: (-r.deals, r.label))
    return result


FUNNEL_METRICS = ("reached", "in_stage", "won", "lost", "deals")


def funnel_deals(*, user, pipeline, metric, stage=None, reason=None, date_from=None, date_to=None,
                 owner_ids=None, owner=None, team=None):
    """The deals behind one funnel number (same cohort and definitions as `funnel`).

    metric: reached (needs an open stage), in_stage (needs a stage), won, lost (optionally a reason: a
    LostReason pk or "none"), deals (the whole cohort). `owner` (a user pk) / `team` (a Team, or "none")
    narrow to one row of the breakdowns.
    """
    qs = cohort(user, pipeline, date_from, date_to, owner_ids)
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    if team == "none":
        qs = qs.filter(Q(owner__isnull=True) | Q(owner__team__isnull=True))
    elif team is not None:
        qs = qs.filter(owner__team=team)
    if metric == "reached":
        if stage.kind == StageKind.OPEN:
            proof = StageHistory.objects.filter(opportunity=OuterRef("pk")).filter(
                Q(stage__kind=StageKind.WON)
                | Q(stage__kind=StageKind.OPEN, stage__pipeline=pipeline, stage__position__gte=stage.position))
            qs = qs.filter(Exists(proof))
        else:
            qs = qs.filter(stage=stage)
    elif metric == "in_stage":
        qs = qs.filter(stage=stage)
    elif metric == "won":
        qs = qs.filter(stage__kind=StageKind.WON)
    elif metric == "lost":
        qs = qs.filter(stage__kind=StageKind.LOST)
        if reason == "none":
            qs = qs.filter(lost_reason__isnull=True)
        elif reason is not None:
            qs = qs.filter(lost_reason_id=reason)
    elif metric != "deals":
        raise ValueError(f"unknown metric {metric!r}")
    return qs


# -- forecast and quotas ---------------------------------------------------------------------------


@dataclass
class ForecastRow:
    key: object
    label: str
    quota: Decimal | None = None
    won: Decimal = ZERO
    weighted: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    deals_won: int = 0
    deals_open: int = 0

    @property
    def forecast(self):
        return self.won + self.weighted

    @property
    def attainment(self):
        return float(self.won / self.quota) if self.quota else None

    def add(self, other):
        for name in ("won", "weighted", "commit", "best_case", "pipeline", "deals_won", "deals_open"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self):
        return {"id": self.key, "name": self.label, "quota": self.quota, "won": self.won,
                "weighted": self.weighted.quantize(Decimal("0.01")), "commit": self.commit,
                "best_case": self.best_case, "pipeline": self.pipeline, "forecast": self.forecast.quantize(
                    Decimal("0.01")), "deals_won": self.deals_won, "deals_open": self.deals_open,
                "attainment": None if self.attainment is None else round(self.attainment, 6)}


@dataclass
class Forecast:
    period: str
    start: datetime.date
    end: datetime.date  # exclusive
    reps: list
    teams: list
    total: ForecastRow
    other_currency: int = 0

    @property
    def last_day(self):
        return self.end - datetime.timedelta(days=1)

    def as_dict(self):
        return {"period": self.period, "start": self.start, "end": self.last_day, "currency": CURRENCY,
                "other_currency": self.other_currency, "total": self.total.as_dict(),
                "reps": [r.as_dict() for r in self.reps], "teams": [r.as_dict() for r in self.teams]}


def quota_amounts(period, start, *, user_ids=None, team_ids=None):
    """{("user"|"team", pk): Decimal} quotas for the period (a quarter falls back to its months' sum)."""
    end = period_end(period, start)
    qs = Quota.objects.filter(amount_currency=CURRENCY)
    who = Q()
    if user_ids is not None:
        who |= Q(user_id__in=sorted(user_ids))
    if team_ids is not None:
        who |= Q(team_id__in=sorted(team_ids))
    if user_ids is not None or team_ids is not None:
        qs = qs.filter(who)
    exact, months = {}, {}
    for user_id, team_id, p, amount in qs.filter(start__gte=start, start__lt=end).values_list(
            "user_id", "team_id", "period", "amount"):
        key = ("user", user_id) if user_id else ("team", team_id)
        if p == period:
            exact[key] = amount
        elif period == QuotaPeriod.QUARTER and p == QuotaPeriod.MONTH:
            months[key] = months.get(key, ZERO) + amount
    return {**months, **exact}


def forecast(*, user, period=QuotaPeriod.QUARTER, start=None, owner_ids=None, now=None):
    """Forecast and attainment for the month or quarter starting at `start` (default: the current one).

    Rows per owner the user may report on (`people_in_scope`: a rep only themself, a manager their
    subtree, scope all everyone), and per team of those owners; totals over all rows. Two queries::

      SELECT owner_id, SUM(amount), COUNT(*) FROM C WHERE stage.kind = 'won' AND amount_currency = 'CNY'
        AND closed_at >= start AND closed_at < end GROUP BY owner_id
      SELECT owner_id, SUM(amount * COALESCE(probability, stage.probability) / 100),
             SUM(amount) FILTER (commit), SUM(amount) FILTER (best_case), SUM(amount), COUNT(*)
        FROM C WHERE stage.kind = 'open' AND forecast_category <> 'omitted' AND amount_currency = 'CNY'
        AND expected_close_date >= start AND expected_close_date < end GROUP BY owner_id
    """
    from guanxi.core.models import User

    if start is None:
        start, end = period_for(period, timezone.localdate(now) if now else timezone.localdate())
    else:
        end = period_end(period, start)
    scope = people_in_scope(user)
    deals = visible_deals(user)
    if scope is not None:
        deals = deals.filter(owner_id__in=sorted(scope))
    if owner_ids is not None:
        deals = deals.filter(owner_id__in=sorted(owner_ids))
    money = DecimalField(max_digits=24, decimal_places=6)
    won_qs = deals.filter(stage__kind=StageKind.WON, closed_at__gte=day_start(start), closed_at__lt=day_start(end))
    open_qs = deals.filter(stage__kind=StageKind.OPEN, expected_close_date__gte=start, expected_close_date__lt=end) \
        .exclude(forecast_category=ForecastCategory.OMITTED)
    other = won_qs.exclude(amount_currency=CURRENCY).count() + open_qs.exclude(amount_currency=CURRENCY).count()
    won_qs, open_qs = won_qs.filter(amount_currency=CURRENCY), open_qs.filter(amount_currency=CURRENCY)
    rows = {}

    def row(owner_id):
        return rows.setdefault(owner_id, ForecastRow(key=owner_id, label=""))

    for owner_id, total, n in won_qs.order_by().values_list("owner_id").annotate(v=Sum("amount"), n=Count("pk")):
        r = row(owner_id)
        r.won, r.deals_won = total or ZERO, n
    probability = Coalesce("probability", "stage__probability")
    weighted = ExpressionWrapper(F("amount") * probability / Value(Decimal("100")), output_field=money)
    for owner_id, w, commit, best, total, n in open_qs.order_by().values_list("owner_id").annotate(
            w=Sum(weighted, output_field=money),
            c=Sum("amount", filter=Q(forecast_category=ForecastCategory.COMMIT)),
            b=Sum("amount", filter=Q(forecast_category=ForecastCategory.BEST_CASE)),
            v=Sum("amount"), n=Count("pk")):
        r = row(owner_id)
        r.weighted = Decimal(w or 0)
        r.commit = commit or ZERO
        r.best_case = (commit or ZERO) + (best or ZERO)
        r.pipeline, r.deals_open = total or ZERO, n

    # Everyone in scope with a quota shows up even without deals.
    quota_people = Quota.objects.filter(user__isnull=False, user__is_active=True, start__gte=start, start__lt=end)
    if scope is not None:
        quota_people = quota_people.filter(user_id__in=sorted(scope))
    if owner_ids is not None:
        quota_people = quota_people.filter(user_id__in=sorted(owner_ids))
    for pk in quota_people.values_list("user_id", flat=True).distinct():
        row(pk)
    people = User.objects.select_related("team").in_bulk([pk for pk in rows if pk])
    quotas = quota_amounts(period, start, user_ids=[pk for pk in rows if pk],
                           team_ids={p.team_id for p in people.values() if p.team_id})
    team_rows = {}
    for pk, r in rows.items():
        person = people.get(pk)
        r.label = _user_label(person)
        r.quota = quotas.get(("user", pk))
        team = person.team if person and person.team_id else None
        if team is not None:
            t = team_rows.setdefault(team.pk, ForecastRow(key=team.pk, label=str(team),
                                                          quota=quotas.get(("team", team.pk))))
            t.add(r)
    total = ForecastRow(key=None, label="")
    for r in rows.values():
        total.add(r)
    user_quota = [r.quota for r in rows.values() if r.quota is not None]
    total.quota = sum(user_quota, ZERO) if user_quota else None  # the listed reps' quotas added up
    return Forecast(period=period, start=start, end=end,
                    reps=sorted(rows.values(), key=lambda r: (r.label, r.key or 0)),
                    teams=sorted(team_rows.values(), key=lambda r: r.label), total=total, other_currency=other)
