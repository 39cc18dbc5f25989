"""The calendar page, its JSON event source and drag-to-reschedule, and the personal iCalendar feed."""

import datetime
import hashlib
import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.framework.errors import Conflict
from guanxi.framework.validators import is_id

from . import calendar_services
from .calendar_ics import feed_calendar
from .calendar_selectors import (
    TASK_LENGTH,
    CalendarItem,
    about_label,
    calendar_items,
    has_team_view,
    interaction_end,
)
from .choices import InteractionKind, TaskStatus
from .models import CalendarFeedToken, Interaction, Task

MAX_WINDOW = datetime.timedelta(days=100)
MAX_EVENTS = 2000
# Years outside this range are typing mistakes (and would overflow time zone arithmetic).
YEARS = (1970, 2200)
COLORS = {
    "task": "#0d6efd", "overdue": "#dc3545", "done": "#6c757d",
    InteractionKind.MEETING: "#198754", InteractionKind.VISIT: "#6f42c1", InteractionKind.CALL: "#fd7e14",
}
# Bootstrap icon classes the page puts before each title (emoji are missing from many desktop fonts).
ICONS = {"task": "bi-alarm", "done": "bi-check2-circle", InteractionKind.MEETING: "bi-people",
         InteractionKind.VISIT: "bi-geo-alt", InteractionKind.CALL: "bi-telephone"}
FEED_CACHE_SECONDS = 300


class BadInput(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


def _bad(code, field, message, status=400):
    return JsonResponse({"code": code, "detail": message, "errors": {field: [message]} if field else {}},
                        status=status)


def parse_when(value, field):
    """An ISO 8601 date or date-time; without an offset it is wall-clock time in the user's time zone
    (what FullCalendar sends for a named time zone)."""
    if not value or len(value) > 40 or "\x00" in value:
        raise BadInput(field, _("Give a date and time (ISO 8601)."))
    try:
        parsed = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(field, _("“%(value)s” is not a date and time (ISO 8601).") % {"value": value[:40]})
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise BadInput(field, _("The year must be between %(low)d and %(high)d.") % {
            "low": YEARS[0], "high": YEARS[1]})
    if timezone.is_naive(parsed):
        return timezone.make_aware(parsed)
    # PostgreSQL refuses UTC offsets beyond ±15:59 that Python accepts: the same instant in UTC.
    return parsed.astimezone(datetime.UTC)


def parse_window(params):
    start = parse_when(params.get("start"), "start")
    end = parse_when(params.get("end"), "end")
    if end <= start:
        raise BadInput("end", _("The end must be after the start."))
    if end - start > MAX_WINDOW:
        raise BadInput("end", _("Ask for at most %(days)d days at a time.") % {"days": MAX_WINDOW.days})
    return start, end


def _wall(value):
    """Wall-clock time in the user's zone, without an offset: FullCalendar with a named time zone (and
    no time zone plugin) reads such strings as times in that zone."""
    return timezone.localtime(value).replace(tzinfo=None).isoformat(timespec="seconds")


def _event(item, *, user, editable, team):
    obj, now = item.obj, timezone.now()
    if item.kind == "task":
        done = obj.status == TaskStatus.DONE
        title, icon = obj.title, ICONS["done" if done else "task"]
        color = COLORS["done"] if done else COLORS["overdue"] if obj.due_at < now else COLORS["task"]
        end = None  # a due time, not a length: the calendar shows the time alone
        move = reverse("calendar:move", args=["task", obj.pk])
        editable = editable and not done
    else:
        about = about_label(obj)
        subject = obj.subject or obj.get_kind_display()
        title, icon = (f"{subject} · {about}" if about else subject), ICONS.get(obj.kind, "")
        color = COLORS.get(obj.kind, COLORS["task"])
        end = interaction_end(obj) if obj.duration_minutes else None
        move = reverse("calendar:move", args=["interaction", obj.pk])
    if team and obj.owner_id and obj.owner_id != user.pk:
        title = f"[{obj.owner}] {title}"
    event = {
        "id": item.key, "title": title, "start": _wall(item.start), "url": obj.get_absolute_url(),
        "color": color, "editable": editable, "durationEditable": editable and item.kind == "interaction",
        "extendedProps": {"kind": item.kind, "version": obj.version, "moveUrl": move, "icon": icon,
                          "done": item.kind == "task" and obj.status == TaskStatus.DONE},
    }
    if end is not None:
        event["end"] = _wall(end)
    return event


def _changeable(user, items):
    """{(kind, pk)} of the items the user may move: one query per record type."""
    keys = set()
    for kind, model in (("task", Task), ("interaction", Interaction)):
        ids = [i.obj.pk for i in items if i.kind == kind]
        if ids:
            allowed = model.objects.restrict(user, "change").filter(pk__in=ids).values_list("pk", flat=True)
            keys |= {(kind, pk) for pk in allowed}
    return keys


def _page(request, new_feed_url=None):
    user = request.user
    token = CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).first()
    lang = translation.get_language() or "en"
    return render(request, "activities/calendar.html", {
        "team_view": has_team_view(user),
        "feed_token": token,
        "new_feed_url": new_feed_url,
        "calendar_locale": "zh-cn" if lang.startswith("zh") else "en",
        "time_zone": timezone.get_current_timezone_name(),
    })


@login_required
@require_GET
def calendar_page(request):
    return _page(request)


@login_required
@require_GET
def calendar_events(request):
    """FullCalendar's JSON event source: ?start=&end= (at most MAX_WINDOW apart), scope=mine|team."""
    scope = request.GET.get("scope", "mine")
    if scope not in ("mine", "team"):
        return _bad("bad_scope", "scope", _("Choose “mine” or “team”."))
    try:
        start, end = parse_window(request.GET)
    except BadInput as e:
        return _bad("bad_window", e.field, e.message)
    user, team = request.user, scope == "team"
    items, truncated = calendar_items(user, start, end, team=team, limit=MAX_EVENTS)
    editable = _changeable(user, items)
    events = [_event(item, user=user, team=team, editable=(item.kind, item.obj.pk) in editable) for item in items]
    return JsonResponse({"events": events, "truncated": truncated})


@login_required
@require_POST
def calendar_move(request, kind, pk):
    """Drag and drop: POST start (and, for a meeting, end) with the record's version.

    404 when the user may not change the record, 409 when it changed meanwhile (the UI puts the event
    back), 400 for bad input; otherwise the event as the calendar shows it now.
    """
    if kind not in ("task", "interaction") or not is_id(pk):
        raise Http404
    model = Task if kind == "task" else Interaction
    obj = get_object_or_404(model.objects.restrict(request.user, "change").select_related("account", "contact"),
                            pk=pk)
    version = request.POST.get("version", "")
    if not is_id(version):
        return _bad("bad_version", "version", _("The record's version is missing."))
    try:
        start = parse_when(request.POST.get("start"), "start")
        end = parse_when(request.POST["end"], "end") if request.POST.get("end") else None
        if end is not None and end < start:
            raise BadInput("end", _("The end must be after the start."))
    except BadInput as e:
        return _bad("bad_time", e.field, e.message)
    try:
        if kind == "task":
            from .task_services import task_reschedule

            obj = task_reschedule(actor=request.user, task=obj, due_at=start, version=int(version))
            item = CalendarItem("task", obj, obj.due_at, obj.due_at + TASK_LENGTH)
        else:
            duration = calendar_services.KEEP if end is None else int((end - start).total_seconds() // 60)
            obj = calendar_services.interaction_reschedule(
                actor=request.user, interaction=obj, occurred_at=start, duration_minutes=duration,
                version=int(version))
            item = CalendarItem("interaction", obj, obj.occurred_at, interaction_end(obj))
    except Conflict:
        return _bad("stale_version", None, _("Someone changed this record meanwhile; it was put back. "
                                              "Reload to see the latest version."), status=409)
    except ValidationError as e:
        message = " ".join(m for msgs in getattr(e, "message_dict", {"": e.messages}).values() for m in msgs)
        return _bad("invalid", None, message)
    obj.refresh_from_db()
    return JsonResponse({"event": _event(item, user=request.user, editable=True, team=False)})


@login_required
@require_POST
def feed_token_create(request):
    _token, raw = calendar_services.calendar_feed_token_create(actor=request.user, user=request.user)
    url = request.build_absolute_uri(reverse("calendar:feed", args=[raw]))
    # Shown once, on this response only: never stored or put in a redirect URL.
    response = _page(request, new_feed_url=url)
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def feed_token_revoke(request, pk):
    token = get_object_or_404(CalendarFeedToken.objects.filter(user=request.user, revoked_at__isnull=True), pk=pk)
    calendar_services.calendar_feed_token_revoke(actor=request.user, token=token)
    messages.success(request, _("The calendar feed link was revoked; calendar apps using it get nothing more."))
    return redirect("calendar:page")


@require_GET
def feed(request, token):
    """The iCalendar feed: no login, the secret token is the credential (unknown or revoked: 404)."""
    user = calendar_services.calendar_feed_token_user(token)
    if user is None:
        response = HttpResponse(_("No such calendar feed."), status=404, content_type="text/plain; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        return response
    with translation.override(user.language or "en"), timezone.override(_user_zone(user)):
        domain, _port = split_domain_port(request.get_host())
        body = feed_calendar(user, host=domain or "guanxi", absolute=request.build_absolute_uri)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {
        # Private: the feed is one person's. Short max-age so that a revoke or a lost access shows soon;
        # the ETag lets calendar apps poll cheaply (304 without a body).
        "Cache-Control": f"private, max-age={FEED_CACHE_SECONDS}",
        "ETag": etag,
        "X-Robots-Tag": "noindex",
        "Referrer-Policy": "no-referrer",
    }
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response.headers["Content-Disposition"] = 'inline; filename="guanxi.ics"'
    for name, value in headers.items():
        response.headers[name] = value
    response.headers["Expires"] = http_date(timezone.now().timestamp() + FEED_CACHE_SECONDS)
    return response


def _user_zone(user):
    try:
        return zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None

