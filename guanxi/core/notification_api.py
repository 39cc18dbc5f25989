"""REST API for the caller's own notifications: list (newest first), mark one or all read."""

import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from guanxi.framework.api import ERRORS, Id

from . import notifications
from .models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime.datetime
    read_at: datetime.datetime | None


class NotificationList(Schema):
    count: int
    unread: int = Field(..., description="Unread notifications in total (not only on this page).")
    items: list[NotificationOut]


class NotificationFilters(Schema):
    unread: bool | None = Field(None, description="true: only unread; false: only read.")
    limit: int = Field(25, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class MarkedOut(Schema):
    marked: int


@router.get("", response={200: NotificationList, **ERRORS}, summary="List my notifications",
            operation_id="notification_list")
def list_notifications(request, filters: Query[NotificationFilters]):
    qs = notifications.notifications_for(request.auth)
    if filters.unread is not None:
        qs = qs.filter(read_at__isnull=filters.unread)
    items = list(qs.order_by("-created_at", "-id")[filters.offset : filters.offset + filters.limit])
    return {"count": qs.count(), "unread": notifications.notification_unread_count(request.auth), "items": items}


@router.post("/read-all", response={200: MarkedOut, **ERRORS}, summary="Mark all my notifications read",
             operation_id="notification_read_all")
def read_all(request):
    return {"marked": notifications.notifications_mark_all_read(user=request.auth)}


@router.post("/{pk}/read", response={200: NotificationOut, **ERRORS}, summary="Mark a notification read",
             operation_id="notification_read")
def read_one(request, pk: Id):
    # Someone else's notification is a 404, like any record outside the caller's scope.
    get_object_or_404(Notification.objects.filter(user=request.auth), pk=pk)
    return notifications.notification_mark_read(user=request.auth, notification_id=pk)
