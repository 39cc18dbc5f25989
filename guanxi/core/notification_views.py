"""The notification centre: the navbar bell (unread count, dropdown preview), the list page, mark read.

Every query is filtered by the signed-in user: someone else's notification answers 404.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import notifications
from .models import Notification

PAGE_SIZE = 25
CHANGED = "notifications-changed"  # htmx event: the bell re-reads its count


def _count_context(user):
    count = notifications.notification_unread_count(user)
    return {"unread": count, "unread_label": "99+" if count > 99 else str(count)}


@login_required
def notification_count(request):
    """The bell's badge (htmx polls it)."""
    return render(request, "core/notifications_count.html", _count_context(request.user))


@login_required
def notification_preview(request):
    """The bell's dropdown: the newest few."""
    items = list(notifications.notifications_for(request.user).order_by("-created_at", "-id")
                 [: notifications.PREVIEW_SIZE])
    return render(request, "core/notifications_preview.html", {"items": items, **_count_context(request.user)})


@login_required
def notification_list(request):
    qs = notifications.notifications_for(request.user).order_by("-created_at", "-id")
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {
        "page": page, "only_unread": only_unread, **_count_context(request.user),
    })


def _safe(request, url):
    """`url` when it stays on this site, else None (no open redirects through notifications)."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return None


@login_required
@require_POST
def notification_read(request, pk):
    get_object_or_404(Notification, pk=pk, user=request.user)
    item = notifications.notification_mark_read(user=request.user, notification_id=pk)
    if request.htmx:
        response = render(request, "core/notifications_item.html", {"n": item})
        response["HX-Trigger"] = CHANGED
        return response
    return redirect(_safe(request, request.POST.get("next")) or "notification_list")


@login_required
@require_POST
def notification_open(request, pk):
    """Mark read and go to what the notification is about (only a link inside this site)."""
    get_object_or_404(Notification, pk=pk, user=request.user)
    item = notifications.notification_mark_read(user=request.user, notification_id=pk)
    return redirect(_safe(request, item.url) or "notification_list")


@login_required
@require_POST
def notification_read_all(request):
    notifications.notifications_mark_all_read(user=request.user)
    if request.htmx:  # from the dropdown: show it again, all read
        response = notification_preview(request)
        response["HX-Trigger"] = CHANGED
        return response
    return redirect(_safe(request, request.POST.get("next")) or "notification_list")
