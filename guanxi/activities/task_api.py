"""REST API for tasks: the generic CRUD router plus the status commands (complete, reopen).

`status` and `completed_at` are read-only here: they change only through POST /tasks/{id}/complete and
/reopen, which call the same services as the buttons. Times without a UTC offset are read in the
caller's time zone.
"""

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import model_validator

from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema, crud_router

from . import task_services
from .api import LINKS
from .choices import Priority, Recurrence
from .records import TASK
from .services import deal_default_account

Custom = dict[str, Any]
Version = Field(None, ge=1, le=2**31, description="The version you read; a stale one gets 409 and changes nothing.")


class TaskOut(Schema):
    id: int
    title: str
    description: str
    due_at: datetime.datetime | None
    priority: str
    status: str = Field(..., description="open or done; changed only by the complete and reopen commands.")
    completed_at: datetime.datetime | None
    remind_at: datetime.datetime | None
    reminded_at: datetime.datetime | None = Field(None, description="When the current reminder was delivered.")
    recurrence: str
    recurrence_interval: int
    previous: int | None = Field(None, alias="previous_id", description="The occurrence this one repeats.")
    account: int | None = Field(None, alias="account_id")
    contact: int | None = Field(None, alias="contact_id")
    lead: int | None = Field(None, alias="lead_id")
    opportunity: int | None = Field(None, alias="opportunity_id")
    owner: int | None = Field(None, alias="owner_id", description="The assignee.")
    custom: Custom
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ObjectBody(InputSchema):
    """A JSON object only: ninja reads fields as attributes, so the body "x" would give title="X" (str.title)."""

    @model_validator(mode="before")
    @classmethod
    def body_is_an_object(cls, data):
        if not isinstance(getattr(data, "_obj", data), dict):
            raise ValueError(_("The request body must be a JSON object."))
        return data


class TaskIn(ObjectBody):
    title: str = Field(..., max_length=200)
    description: str = Field("", max_length=10_000)
    due_at: datetime.datetime | None = None
    priority: Priority = Priority.NORMAL
    remind_at: datetime.datetime | None = Field(None, description="Not later than due_at.")
    recurrence: Recurrence = Recurrence.NONE
    recurrence_interval: int = Field(1, ge=1, le=365)
    account: Id | None = Field(None, description="The company; the deal's company when a deal is given.")
    contact: Id | None = None
    lead: Id | None = None
    opportunity: Id | None = Field(None, description="The deal (opportunity).")
    owner: Id | None = Field(None, description="The assignee; yourself when omitted.")
    custom: Custom = Field(default_factory=dict)


class TaskPatch(ObjectBody):
    version: int = Field(..., ge=1, le=2**31, description="The version you read; a stale one gets 409.")
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    due_at: datetime.datetime | None = None
    priority: Priority | None = None
    remind_at: datetime.datetime | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: int | None = Field(None, ge=1, le=365)
    account: Id | None = None
    contact: Id | None = None
    lead: Id | None = None
    opportunity: Id | None = None
    owner: Id | None = None
    custom: Custom | None = None


class TaskCommandIn(ObjectBody):
    version: int | None = Version


class TaskCompleteOut(Schema):
    task: TaskOut
    next_task: TaskOut | None = Field(None, description="The next occurrence, when this call created one.")


def _invalid(field, message):
    return ApiError(422, "invalid_input", _("Invalid input."), {field: [message]})


def _aware(value, user):
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, task_services.user_zone(user))
    return value


def task_fields(data, obj, user):
    for name in ("description", "recurrence"):
        if name in data and data[name] is None:
            data[name] = ""
    for name in ("title", "priority", "recurrence_interval"):
        if name in data and data[name] is None:
            data.pop(name)
    for name in ("due_at", "remind_at"):
        if name in data:
            data[name] = _aware(data[name], user)
    for name, (model, message) in LINKS.items():
        if name in data:
            pk = data.pop(name)
            data[name] = model.objects.restrict(user, "view").filter(pk=pk).first() if pk else None
            if pk and data[name] is None:
                raise _invalid(name, message())
    if obj is None and data.get("opportunity") and not data.get("account"):
        data["account"] = deal_default_account(opportunity=data["opportunity"], actor=user)
    if "owner" in data:
        pk = data.pop("owner")
        data["owner"] = get_user_model().objects.filter(pk=pk, is_active=True).first() if pk else None
        if pk and data["owner"] is None:
            raise _invalid("owner", _("No such active user."))
    if "custom" in data and data["custom"] is None:
        data["custom"] = {}
    return data, {}


router = crud_router(TASK, out_schema=TaskOut, create_schema=TaskIn, update_schema=TaskPatch, to_fields=task_fields,
                     tag="tasks")


def _changeable(request, pk):
    return get_object_or_404(TASK.base_queryset(request.auth, "change"), pk=pk)


@router.post("/{pk}/complete", response={200: TaskCompleteOut, **ERRORS}, summary="Complete a task",
             description="Marks the task done. A repeating task gets its next occurrence (once: completing a "
             "done task changes nothing).", operation_id="task_complete")
def complete_task(request, pk: Id, payload: TaskCommandIn | None = None):
    task, nxt = task_services.task_complete(actor=request.auth, task=_changeable(request, pk),
                                            version=payload.version if payload else None)
    return {"task": task, "next_task": nxt}


@router.post("/{pk}/reopen", response={200: TaskOut, **ERRORS}, summary="Reopen a task",
             description="Marks a done task open again (reopening an open task changes nothing).",
             operation_id="task_reopen")
def reopen_task(request, pk: Id, payload: TaskCommandIn | None = None):
    return task_services.task_reopen(actor=request.auth, task=_changeable(request, pk),
                                     version=payload.version if payload else None)
