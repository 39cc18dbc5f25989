"""API: the complaint analytics (read-only; only the tickets the caller may see count).

GET /service/analytics — the same selector as the page (guanxi.service.analytics.service_analytics).
"""

import datetime
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from guanxi.core import access
from guanxi.core.models import Team, User
from guanxi.framework.api import ERRORS, ApiError, Id

from . import analytics
from .models import Ticket, TicketCategory

router = Router()
Day = Annotated[datetime.date, Field(ge=analytics.MIN_DATE, le=analytics.MAX_DATE)]


class AnalyticsQuery(Schema):
    date_from: Day | None = Field(None, description="Tickets created on or after (local date). "
                                            "Both dates omitted: the last 90 days.")
    date_to: Day | None = Field(None, description="Tickets created on or before (local date).")
    all: bool = Field(False, description="Ignore the default date range: tickets created at any time.")
    period: Literal["day", "week", "month"] | None = Field(
        None, description="Buckets of the volume over time; by the length of the range when omitted.")
    category: Id | None = Field(None, description="Only this category and its subcategories.")
    team: Id | None = Field(None, description="Only tickets in this team's queue.")
    owner: Id | None = Field(None, description="Only tickets handled by this agent.")


class CountOut(Schema):
    id: int | None = None
    name: str
    count: int


class CategoryVolumeOut(CountOut):
    children: list[CountOut]


class PeriodOut(Schema):
    start: datetime.date
    end: datetime.date
    count: int


class DurationOut(Schema):
    count: int
    median: float | None = Field(None, description="Business minutes.")
    average: float | None = Field(None, description="Business minutes.")


class CategoryTimesOut(Schema):
    id: int | None
    name: str
    first_response: DurationOut
    resolution: DurationOut


class TimesOut(Schema):
    first_response: DurationOut
    resolution: DurationOut
    by_category: list[CategoryTimesOut]


class ComplianceOut(Schema):
    total: int = Field(..., description="Tickets with a due time whose clock has ended (met or passed).")
    met: int
    rate: float | None = Field(None, description="met / total.")


class SlaOut(Schema):
    first_response: ComplianceOut
    resolution: ComplianceOut


class ReopenOut(Schema):
    reopened: int
    resolved: int = Field(..., description="Tickets resolved at least once.")
    rate: float | None


class CsatOut(Schema):
    average: float | None
    rated: int
    response_rate: float | None = Field(None, description="Rated / resolved or closed tickets.")


class ScoreOut(Schema):
    score: int
    count: int


class ProductOut(Schema):
    name: str
    count: int


class CompanyOut(Schema):
    id: int
    name: str
    count: int
    categories: list[CountOut]
    products: list[ProductOut]


class RecurringOut(Schema):
    companies: list[CompanyOut]
    products: list[ProductOut]


class AnalyticsOut(Schema):
    date_from: datetime.date | None
    date_to: datetime.date | None
    period: str
    total: int
    open: int
    done: int = Field(..., description="Resolved or closed.")
    breached: int = Field(..., description="Tickets with a first-response or resolution breach stamped.")
    sla: SlaOut
    reopen: ReopenOut
    csat: CsatOut
    csat_distribution: list[ScoreOut]
    by_category: list[CategoryVolumeOut]
    by_period: list[PeriodOut]
    times: TimesOut
    recurring: RecurringOut


@router.get("/service/analytics", response={200: AnalyticsOut, **ERRORS}, tags=["analytics"],
            summary="Complaint analytics", operation_id="service_analytics")
def service_analytics(request, q: Query[AnalyticsQuery]):
    """Volumes by category and period, business-time response and resolution times, SLA compliance,
    satisfaction, reopen rate and recurring problems over the tickets the caller may see."""
    user = request.auth
    if not access.allows(user, "view", Ticket):
        raise PermissionDenied(_("Your role does not allow viewing tickets."))
    if q.date_from and q.date_to and q.date_from > q.date_to:
        raise ApiError(400, "invalid_filter", _("The end date is before the start date."),
                       {"date_to": [_("The end date is before the start date.")]})
    date_from, date_to = q.date_from, q.date_to
    if not date_from and not date_to and not q.all:
        date_from, date_to = analytics.default_range()
    category = get_object_or_404(TicketCategory, pk=q.category) if q.category else None
    team = get_object_or_404(Team, pk=q.team) if q.team else None
    owner = get_object_or_404(User, pk=q.owner) if q.owner else None
    return analytics.service_analytics(user, date_from=date_from, date_to=date_to, period=q.period,
                                       category=category, team=team, owner=owner)
