"""REST API for activities: interactions, the unified timeline of a company, contact, lead or deal (and tasks).

One `router`, mounted at the API root by guanxi/api.py; each part adds its sub-routers or paths to it.
"""

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from guanxi.customers.models import Account, Contact
from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema, crud_router
from guanxi.sales.models import Lead, Opportunity

from . import timeline
from .choices import Direction, InteractionKind
from .records import INTERACTION
from .services import deal_default_account, interaction_default_account

router = Router()

Custom = dict[str, Any]
MAX_PARTICIPANTS = 100


# -- interactions --------------------------------------------------------------------------------


class InteractionOut(Schema):
    id: int
    kind: str
    direction: str
    subject: str
    content: str
    occurred_at: datetime.datetime
    duration_minutes: int | None
    outcome: str
    next_step: str
    next_step_due: datetime.date | None
    account: int | None = Field(None, alias="account_id")
    contact: int | None = Field(None, alias="contact_id")
    lead: int | None = Field(None, alias="lead_id")
    opportunity: int | None = Field(None, alias="opportunity_id")
    participant_contacts: list[int]
    participant_users: list[int]
    owner: int | None = Field(None, alias="owner_id")
    message_id: str
    in_reply_to: str
    thread_key: str
    email_from: str = Field(description="Masked unless revealed (personal data).")
    email_to: str
    custom: Custom
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_participant_contacts(obj):
        return sorted(c.pk for c in obj.participant_contacts.all())

    @staticmethod
    def resolve_participant_users(obj):
        return sorted(u.pk for u in obj.participant_users.all())


class InteractionIn(InputSchema):
    kind: InteractionKind = InteractionKind.CALL
    direction: Direction | None = None
    subject: str = ""
    content: str = ""
    occurred_at: datetime.datetime | None = Field(None, description="Defaults to now; without an offset, "
                                                  "in the user's time zone.")
    duration_minutes: int | None = Field(None, ge=0, le=24 * 60)
    outcome: str = ""
    next_step: str = ""
    next_step_due: datetime.date | None = None
    account: Id | None = Field(None, description="The company; filled in from the deal, or from the contact "
                               "when it has one company.")
    contact: Id | None = None
    lead: Id | None = None
    opportunity: Id | None = Field(None, description="The deal (opportunity).")
    participant_contacts: list[Id] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)
    participant_users: list[Id] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)
    owner: Id | None = Field(None, description="Who logged it; defaults to you.")
    custom: Custom = Field(default_factory=dict)


class InteractionPatch(InputSchema):
    version: int = Field(..., ge=1, le=2**31, description="The version you read; a stale one gets 409.")
    kind: InteractionKind | None = None
    direction: Direction | None = None
    subject: str | None = None
    content: str | None = None
    occurred_at: datetime.datetime | None = None
    duration_minutes: int | None = Field(None, ge=0, le=24 * 60)
    outcome: str | None = None
    next_step: str | None = None
    next_step_due: datetime.date | None = None
    account: Id | None = None
    contact: Id | None = None
    lead: Id | None = None
    opportunity: Id | None = None
    participant_contacts: list[Id] | None = Field(None, max_length=MAX_PARTICIPANTS)
    participant_users: list[Id] | None = Field(None, max_length=MAX_PARTICIPANTS)
    owner: Id | None = None
    custom: Custom | None = None


def _invalid(field, message):
    return ApiError(422, "invalid_input", _("Invalid input."), {field: [message]})


def _visible(model, user, pk, field, message):
    found = model.objects.restrict(user, "view").filter(pk=pk).first()
    if found is None:
        raise _invalid(field, message)
    return found


def _active_users(ids, field):
    ids = set(ids)
    users = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
    if len(users) != len(ids):
        raise _invalid(field, _("No such active user."))
    return users


# The records an interaction or task is about: body field -> (model, "not found" message).
LINKS = {
    "account": (Account, lambda: _("No such company.")),
    "contact": (Contact, lambda: _("No such contact.")),
    "lead": (Lead, lambda: _("No such lead.")),
    "opportunity": (Opportunity, lambda: _("No such opportunity.")),
}


def interaction_fields(data, obj, user):
    """Model values from an interaction body: references resolved within the user's scope (422 otherwise)."""
    related = {}
    for name in ("direction", "subject", "content", "outcome", "next_step"):
        if name in data and data[name] is None:
            data[name] = ""
    for name in ("kind", "occurred_at"):
        if name in data and data[name] is None:
            data.pop(name)
    when = data.get("occurred_at")
    if when is not None and timezone.is_naive(when):
        data["occurred_at"] = timezone.make_aware(when, timeline.user_timezone(user))
    for name, (model, message) in LINKS.items():
        if name in data:
            pk = data.pop(name)
            data[name] = _visible(model, user, pk, name, message()) if pk else None
    if obj is None and data.get("opportunity") and not data.get("account"):
        data["account"] = deal_default_account(opportunity=data["opportunity"], actor=user)
    if obj is None and data.get("contact") and not data.get("account"):
        data["account"] = interaction_default_account(contact=data["contact"], actor=user)
    if data.get("participant_contacts") is not None:
        related["participant_contacts"] = [
            _visible(Contact, user, pk, "participant_contacts", _("No such contact."))
            for pk in dict.fromkeys(data.pop("participant_contacts"))
        ]
    data.pop("participant_contacts", None)
    if data.get("participant_users") is not None:
        related["participant_users"] = _active_users(data.pop("participant_users"), "participant_users")
    data.pop("participant_users", None)
    if "owner" in data:
        pk = data.pop("owner")
        data["owner"] = _active_users([pk], "owner")[0] if pk else None
    if "custom" in data and data["custom"] is None:
        data["custom"] = {}
    return data, related


interactions = crud_router(INTERACTION, out_schema=InteractionOut, create_schema=InteractionIn,
                          update_schema=InteractionPatch, to_fields=interaction_fields, tag="interactions")
router.add_router("/interactions", interactions)


# -- the unified timeline ------------------------------------------------------------------------


class RefOut(Schema):
    type: str
    id: int
    label: str


class PersonOut(Schema):
    id: int
    name: str


class ChangeOut(Schema):
    field: str
    before: str
    after: str


class DetailOut(Schema):
    label: str
    value: str


class TimelineItemOut(Schema):
    source: str = Field(description="interaction, task_created, task_completed, change, stage (a deal's stage "
                        "change; more as apps add them).")
    kind: str = Field(description="The value the `kind` filter matches: an interaction type, task, change or "
                      "stage.")
    kind_label: str
    id: int = Field(description="Id of the row in its source (interaction, task or change event).")
    at: datetime.datetime
    title: str
    content: str
    outcome: str
    next_step: str
    due: datetime.datetime | datetime.date | None
    person: PersonOut | None = Field(description="Who logged or did it.")
    about: list[RefOut] = Field(description="Other records it is about that you may see.")
    contacts: list[RefOut] = Field(description="Contacts taking part that you may see.")
    colleagues: list[PersonOut]
    changes: list[ChangeOut]
    details: list[DetailOut]
    url: str = Field(description="Its page in the web UI, when it has one.")


class TimelinePageOut(Schema):
    items: list[TimelineItemOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TimelineQuery(Schema):
    kind: list[str] = Field(default_factory=list, max_length=20,
                            description="Types to show (repeat the parameter); all when omitted.")
    person: Id | None = Field(None, description="Only what this user logged or did.")
    since: datetime.date | None = Field(None, description="First day, in your time zone.")
    until: datetime.date | None = Field(None, description="Last day, in your time zone.")
    cursor: str | None = Field(None, max_length=64)
    limit: int = Field(timeline.PAGE_SIZE, ge=1, le=timeline.MAX_PAGE_SIZE)


def _person(user):
    return {"id": user.pk, "name": str(user)} if user is not None else None


def _ref(ref):
    return {"type": ref.type_key, "id": ref.pk, "label": ref.label}


def _item_out(item):
    return {
        "source": item.source, "kind": item.kind, "kind_label": str(item.kind_label), "id": item.position.pk,
        "at": item.at, "title": item.title or "", "content": item.content or "", "outcome": item.outcome or "",
        "next_step": item.next_step or "", "due": item.due, "person": _person(item.person),
        "about": [_ref(r) for r in item.about], "contacts": [_ref(r) for r in item.contacts],
        "colleagues": [_person(u) for u in item.colleagues],
        "changes": [{"field": str(label), "before": str(before), "after": str(after)}
                    for label, before, after in item.changes],
        "details": [{"label": str(label), "value": str(value)} for label, value in item.details],
        "url": item.url or "",
    }


def _timeline(request, model, pk, query):
    user = request.auth
    record = get_object_or_404(model.objects.restrict(user, "view"), pk=pk)
    known = {value for value, _label in timeline.kind_choices()}
    unknown = [k for k in query.kind if k not in known]
    if unknown:
        raise ApiError(400, "invalid_filter", _("Invalid filter value."),
                       {"kind": [_("Unknown type: %(names)s") % {"names": ", ".join(unknown)}]})
    if query.since and query.until and query.since > query.until:
        raise ApiError(400, "invalid_filter", _("Invalid filter value."),
                       {"since": [_("The start of the period is after its end.")]})
    filters = timeline.make_filters(kinds=query.kind, person=query.person, since=query.since, until=query.until,
                                    tz=timeline.user_timezone(user))
    try:
        page = timeline.timeline_page(record, user, filters=filters, cursor=query.cursor, limit=query.limit)
    except timeline.BadCursor:
        raise ApiError(400, "invalid_cursor", _("Invalid cursor."), {"cursor": [_("Invalid cursor.")]}) from None
    return {"items": [_item_out(i) for i in page.items], "next_cursor": page.next_cursor}


@router.get("/accounts/{pk}/timeline", response={200: TimelinePageOut, **ERRORS}, tags=["accounts"],
            summary="A company's timeline: its interactions, tasks and changes and its contacts' and deals', "
            "newest first",
            operation_id="account_timeline")
def account_timeline(request, pk: Id, query: Query[TimelineQuery]):
    return _timeline(request, Account, pk, query)


@router.get("/contacts/{pk}/timeline", response={200: TimelinePageOut, **ERRORS}, tags=["contacts"],
            summary="A contact's timeline: interactions, tasks and changes, newest first",
            operation_id="contact_timeline")
def contact_timeline(request, pk: Id, query: Query[TimelineQuery]):
    return _timeline(request, Contact, pk, query)


@router.get("/leads/{pk}/timeline", response={200: TimelinePageOut, **ERRORS}, tags=["leads"],
            summary="A lead's timeline: interactions, tasks and changes, newest first", operation_id="lead_timeline")
def lead_timeline(request, pk: Id, query: Query[TimelineQuery]):
    return _timeline(request, Lead, pk, query)


@router.get("/opportunities/{pk}/timeline", response={200: TimelinePageOut, **ERRORS}, tags=["opportunities"],
            summary="A deal's timeline: interactions, tasks, stage changes and changes, newest first",
            operation_id="opportunity_timeline")
def opportunity_timeline(request, pk: Id, query: Query[TimelineQuery]):
    return _timeline(request, Opportunity, pk, query)
