"""API: funnel and forecast figures (read-only, the viewer's visibility) and quota maintenance.

GET /analytics/funnel, GET /analytics/forecast — the same selectors as the pages (guanxi.sales.analytics).
/quotas — list (what the caller may read), get, create, update (amount, period, start), delete: only
administrators and managers (assign on opportunities) for the people below them; 403 otherwise.
"""

import datetime
from decimal import Decimal
from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from guanxi.core.models import Team, User
from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema

from . import analytics, quota_services
from .choices import QuotaPeriod
from .models import Pipeline
from .opportunity_services import pipeline_default

router = Router()
Day = Annotated[datetime.date, Field(ge=analytics.MIN_DATE, le=analytics.MAX_DATE)]
Amount = Field(..., ge=0, le=10**15, max_digits=18, decimal_places=2, description="Target in CNY.")


# -- funnel ----------------------------------------------------------------------------------------


class FunnelQuery(Schema):
    pipeline: Id | None = Field(None, description="Pipeline id; the default pipeline when omitted.")
    date_from: Day | None = Field(None, description="Deals created on or after (local date). "
                                            "Both dates omitted: the last 90 days.")
    date_to: Day | None = Field(None, description="Deals created on or before (local date).")
    all: bool = Field(False, description="Ignore the default date range: deals created at any time.")
    owner: Id | None = Field(None, description="Only deals of this owner.")
    team: Id | None = Field(None, description="Only deals owned by members of this team.")


class StageOut(Schema):
    id: int
    name: str
    kind: str
    position: int
    reached: int = Field(..., description="Deals that reached this stage or a later open one, or won.")
    in_stage: int
    value: Decimal = Field(..., description="CNY amount of the deals now in the stage.")
    avg_days: float | None = Field(None, description="Mean stay in days; open stays count up to now.")
    conversion_next: float | None
    conversion_won: float | None
    is_bottleneck: bool


class ReasonOut(Schema):
    id: int | None
    name: str
    count: int
    value: Decimal


class GroupOut(Schema):
    id: int | None
    name: str
    deals: int
    won: int
    lost: int
    won_value: Decimal
    win_rate: float | None
    conversion_won: float | None
    avg_cycle_days: float | None


class PipelineRef(Schema):
    id: int
    name: str


class FunnelOut(Schema):
    pipeline: PipelineRef
    date_from: datetime.date | None
    date_to: datetime.date | None
    currency: str
    total: int
    won: int
    lost: int
    won_value: Decimal
    win_rate: float | None
    other_currency: int = Field(..., description="Deals in other currencies: counted, amounts left out.")
    bottleneck: int | None = Field(None, description="Stage id of the bottleneck.")
    stages: list[StageOut]
    lost_reasons: list[ReasonOut]
    by_owner: list[GroupOut]
    by_team: list[GroupOut]


@router.get("/analytics/funnel", response={200: FunnelOut, **ERRORS}, tags=["analytics"],
            summary="Funnel of a pipeline", operation_id="analytics_funnel")
def funnel(request, q: Query[FunnelQuery]):
    if q.date_from and q.date_to and q.date_from > q.date_to:
        raise ApiError(400, "invalid_filter", _("The end date is before the start date."),
                       {"date_to": [_("The end date is before the start date.")]})
    pipeline = get_object_or_404(Pipeline, pk=q.pipeline) if q.pipeline else pipeline_default()
    if pipeline is None:
        raise ApiError(404, "not_found", _("There is no active pipeline."))
    date_from, date_to = q.date_from, q.date_to
    if not date_from and not date_to and not q.all:
        date_from, date_to = analytics.default_funnel_range()
    owner_ids = None
    if q.owner:
        owner_ids = {q.owner}
    if q.team:
        team = get_object_or_404(Team, pk=q.team)
        members = set(team.members.values_list("pk", flat=True))
        owner_ids = members if owner_ids is None else owner_ids & members
    result = analytics.funnel(user=request.auth, pipeline=pipeline, date_from=date_from, date_to=date_to,
                              owner_ids=owner_ids)
    return result.as_dict()


# -- forecast --------------------------------------------------------------------------------------


class ForecastQuery(Schema):
    period: QuotaPeriod = QuotaPeriod.QUARTER
    date: Day | None = Field(None, description="Any day in the period; today when omitted.")


class ForecastRowOut(Schema):
    id: int | None
    name: str
    quota: Decimal | None
    won: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal
    forecast: Decimal
    deals_won: int
    deals_open: int
    attainment: float | None = Field(None, description="won / quota.")


class ForecastOut(Schema):
    period: str
    start: datetime.date
    end: datetime.date = Field(..., description="Last day of the period.")
    currency: str
    other_currency: int
    total: ForecastRowOut
    reps: list[ForecastRowOut]
    teams: list[ForecastRowOut]


@router.get("/analytics/forecast", response={200: ForecastOut, **ERRORS}, tags=["analytics"],
            summary="Forecast and attainment for a month or quarter", operation_id="analytics_forecast")
def forecast(request, q: Query[ForecastQuery]):
    start = None
    if q.date:
        start, _end = analytics.period_for(q.period, q.date)
    return analytics.forecast(user=request.auth, period=q.period, start=start).as_dict()


# -- quotas ----------------------------------------------------------------------------------------


class QuotaOut(Schema):
    id: int
    user: int | None = Field(None, alias="user_id")
    team: int | None = Field(None, alias="team_id")
    period: str
    start: datetime.date
    amount: Decimal = Field(..., description="Target in CNY.")

    @staticmethod
    def resolve_amount(obj):
        return obj.amount.amount


class QuotaIn(InputSchema):
    user: Id | None = Field(None, description="A user, or…")
    team: Id | None = Field(None, description="…a team (exactly one of them).")
    period: QuotaPeriod
    start: Day = Field(..., description="The first day of the month or quarter.")
    amount: Decimal = Amount


class QuotaPatch(InputSchema):
    period: QuotaPeriod | None = None
    start: Day | None = None
    amount: Decimal | None = Field(None, ge=0, le=10**15, max_digits=18, decimal_places=2)


class QuotaList(Schema):
    count: int
    items: list[QuotaOut]


class QuotaFilters(Schema):
    period: QuotaPeriod | None = None
    year: int | None = Field(None, ge=2000, le=2100)
    user: Id | None = None
    team: Id | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


def _manager_only(user):
    if not quota_services.can_manage_quotas(user):
        raise ApiError(403, "forbidden", _("You may not set quotas."))


@router.get("/quotas", response={200: QuotaList, **ERRORS}, tags=["quotas"], summary="List quotas",
            operation_id="quota_list")
def quota_list(request, f: Query[QuotaFilters]):
    qs = quota_services.quotas_visible(request.auth).order_by("-start", "id")
    if f.period:
        qs = qs.filter(period=f.period)
    if f.year:
        qs = qs.filter(start__year=f.year)
    if f.user:
        qs = qs.filter(user_id=f.user)
    if f.team:
        qs = qs.filter(team_id=f.team)
    return {"count": qs.count(), "items": list(qs[f.offset:f.offset + f.limit])}


@router.get("/quotas/{pk}", response={200: QuotaOut, **ERRORS}, tags=["quotas"], summary="Get a quota",
            operation_id="quota_get")
def quota_get(request, pk: Id):
    return get_object_or_404(quota_services.quotas_visible(request.auth), pk=pk)


@router.post("/quotas", response={201: QuotaOut, **ERRORS}, tags=["quotas"], summary="Create a quota",
             operation_id="quota_create")
def quota_create(request, payload: QuotaIn):
    _manager_only(request.auth)
    if bool(payload.user) == bool(payload.team):
        raise ApiError(422, "invalid_input", _("Invalid input."),
                       {"user": [_("A quota is for a user or for a team.")]})
    user = team = None
    if payload.user:
        user = User.objects.filter(pk=payload.user, is_active=True).first()
        if user is None:
            raise ApiError(422, "invalid_input", _("Invalid input."), {"user": [_("Unknown user.")]})
    else:
        team = Team.objects.filter(pk=payload.team).first()
        if team is None:
            raise ApiError(422, "invalid_input", _("Invalid input."), {"team": [_("Unknown team.")]})
    try:
        quota = quota_services.quota_create(actor=request.auth, user=user, team=team, period=payload.period,
                                            start=payload.start, amount=payload.amount)
    except PermissionDenied as e:
        raise ApiError(403, "forbidden", str(e))
    return 201, quota


@router.patch("/quotas/{pk}", response={200: QuotaOut, **ERRORS}, tags=["quotas"], summary="Update a quota",
              operation_id="quota_update")
def quota_update(request, pk: Id, payload: QuotaPatch):
    _manager_only(request.auth)
    quota = get_object_or_404(quota_services.quotas_manageable(request.auth), pk=pk)
    data = payload.model_dump(exclude_unset=True)
    return quota_services.quota_update(
        actor=request.auth, quota=quota, amount=data.get("amount") if data.get("amount") is not None
        else quota.amount.amount, period=data.get("period"), start=data.get("start"))


@router.delete("/quotas/{pk}", response={204: None, **ERRORS}, tags=["quotas"], summary="Delete a quota",
               operation_id="quota_delete")
def quota_delete(request, pk: Id):
    _manager_only(request.auth)
    quota = get_object_or_404(quota_services.quotas_manageable(request.auth), pk=pk)
    quota_services.quota_delete(actor=request.auth, quota=quota)
    return 204, None
