"""REST API for tickets: CRUD on the generic router (create and edit go through ticket_create /
ticket_update, so tickets are routed and their SLA applied), and the commands agents work with (assign,
take, reply, note, status, escalate, the customer's status link), the conversation and the history.

Status, owner, team, SLA clocks and the rating are read-only here: they change only through commands.
"""

import dataclasses
import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Field, Query, Router, Schema

from guanxi.core import access
from guanxi.core.choices import Language
from guanxi.core.models import Team
from guanxi.customers.models import Account, Contact
from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema, command_target, crud_router, run_command
from guanxi.framework.redaction import prepare_for_display
from guanxi.framework.registry import RecordType
from guanxi.framework.related import tag_names

from . import ticket_services as services
from .choices import MessageKind, TicketChannel, TicketKind, TicketPriority, TicketStatus
from .models import Ticket, TicketAttachment, TicketCategory, TicketMessage
from .sla import sla_state
from .ticket_records import TICKET

Custom = dict[str, Any]
Version = Field(None, ge=1, le=2**31, description="The version you read; a stale one gets 409.")
STATE_CODES = "409 codes: invalid_transition, ticket_closed, stale_version."


def _count(model, **filters):
    rows = (model.objects.filter(ticket=OuterRef("pk"), **filters).order_by().values("ticket")
            .annotate(n=Count("id")).values("n"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


class _TicketApiType(RecordType):
    """The ticket record type as the API reads it: with its conversation counts (one query per page)."""

    def base_queryset(self, user, action="view", *, api=False):
        return super().base_queryset(user, action, api=api).annotate(
            reply_count=_count(TicketMessage, kind=MessageKind.REPLY),
            customer_message_count=_count(TicketMessage, kind=MessageKind.CUSTOMER),
            note_count=_count(TicketMessage, kind=MessageKind.NOTE),
            attachment_count=_count(TicketAttachment),
        )


TICKET_API = _TicketApiType(**{f.name: getattr(TICKET, f.name) for f in dataclasses.fields(TICKET)})


class TicketOut(Schema):
    id: int
    reference: str = Field(description="The number the customer quotes, e.g. T000042.")
    subject: str
    description: str
    kind: str
    channel: str
    priority: str
    category: int | None = Field(None, alias="category_id")
    category_path: str = Field("", description="The category with its parents, e.g. “Delivery › Late delivery”.")
    account: int | None = Field(None, alias="account_id")
    contact: int | None = Field(None, alias="contact_id")
    customer_name: str
    customer_email: str = Field(description="Masked unless revealed (POST …/reveal).")
    customer_phone: str = Field(description="Masked unless revealed (POST …/reveal).")
    language: str = Field(description="The language of the customer's emails.")
    product: str
    order_ref: str
    province: str
    status: str = Field(description="new, assigned, in_progress, waiting, resolved or closed (changed by "
                        "commands).")
    owner: int | None = Field(None, alias="owner_id", description="The agent handling it (assign command).")
    team: int | None = Field(None, alias="team_id", description="The queue it is in.")
    assigned_at: datetime.datetime | None
    first_responded_at: datetime.datetime | None
    resolved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    reopened_count: int
    sla_policy: int | None = Field(None, alias="sla_policy_id")
    first_response_due: datetime.datetime | None
    resolution_due: datetime.datetime | None
    first_response_breached_at: datetime.datetime | None
    resolution_breached_at: datetime.datetime | None
    sla_state: str = Field(description="ok, warning, breached, met or none.")
    escalated_at: datetime.datetime | None
    escalated_to: int | None = Field(None, alias="escalated_to_id")
    csat_score: int | None = Field(None, description="The customer's rating, 1–5.")
    csat_comment: str
    csat_at: datetime.datetime | None
    reply_count: int = 0
    customer_message_count: int = 0
    note_count: int = 0
    attachment_count: int = 0
    tags: list[str]
    custom: Custom
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_tags(obj):
        return tag_names(obj)

    @staticmethod
    def resolve_category_path(obj):
        return obj.category.path_label if obj.category_id else ""

    @staticmethod
    def resolve_sla_state(obj):
        return sla_state(obj)["state"]

    @staticmethod
    def resolve_reply_count(obj):
        return getattr(obj, "reply_count", 0)

    @staticmethod
    def resolve_customer_message_count(obj):
        return getattr(obj, "customer_message_count", 0)

    @staticmethod
    def resolve_note_count(obj):
        return getattr(obj, "note_count", 0)

    @staticmethod
    def resolve_attachment_count(obj):
        return getattr(obj, "attachment_count", 0)


class TicketIn(InputSchema):
    subject: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    kind: TicketKind = TicketKind.COMPLAINT
    channel: TicketChannel = TicketChannel.PHONE
    priority: TicketPriority = TicketPriority.NORMAL
    category: Id | None = Field(None, description="An active category (GET /api/v1/ticket-categories).")
    account: Id | None = None
    contact: Id | None = None
    customer_name: str = Field("", max_length=100)
    customer_email: str = Field("", max_length=254, description="Status updates go here when there is no "
                                "contact email.")
    customer_phone: str = Field("", max_length=40)
    language: Language = Language.ZH_HANS
    product: str = Field("", max_length=200)
    order_ref: str = Field("", max_length=100)
    province: str = Field("", max_length=64, description="Omitted: the company's province.")
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom: Custom = Field(default_factory=dict)


class TicketPatch(InputSchema):
    version: int = Field(..., ge=1, le=2**31, description="The version you read; a stale one gets 409.")
    subject: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    kind: TicketKind | None = None
    channel: TicketChannel | None = None
    priority: TicketPriority | None = Field(None, description="A new priority re-applies the SLA policy.")
    category: Id | None = Field(None, description="A new category re-applies the SLA policy.")
    account: Id | None = None
    contact: Id | None = None
    customer_name: str | None = Field(None, max_length=100)
    customer_email: str | None = Field(None, max_length=254)
    customer_phone: str | None = Field(None, max_length=40)
    language: Language | None = None
    product: str | None = Field(None, max_length=200)
    order_ref: str | None = Field(None, max_length=100)
    province: str | None = Field(None, max_length=64)
    tags: list[str] | None = Field(None, max_length=50)
    custom: Custom | None = None


TEXT_FIELDS = ("description", "customer_name", "customer_email", "customer_phone", "product", "order_ref",
               "province")
REQUIRED_CHOICES = ("subject", "kind", "channel", "priority", "language")


def _invalid(field, message):
    return ApiError(422, "invalid_input", _("Invalid input."), {field: [message]})


def ticket_fields(data, obj, user):
    related = {}
    if "tags" in data:
        related["tags"] = data.pop("tags") or []
    for name in TEXT_FIELDS:
        if name in data and data[name] is None:
            data[name] = ""
    for name in REQUIRED_CHOICES:
        if name in data and data[name] is None:
            data.pop(name)
    if data.get("customer_email"):
        data["customer_email"] = data["customer_email"].strip().lower()
    for name, model, message in (("account", Account, _("No such company.")),
                                 ("contact", Contact, _("No such contact."))):
        if name in data and data[name] is not None:
            found = model.objects.restrict(user, "view").filter(pk=data[name]).first()
            if found is None:
                raise _invalid(name, message)
            data[name] = found
    if "category" in data and data["category"] is not None:
        pk = data["category"]
        # A ticket keeps a category that was deactivated since; new choices must be active.
        found = TicketCategory.objects.filter(pk=pk).first()
        if found is None or (not found.is_active and (obj is None or obj.category_id != pk)):
            raise _invalid("category", _("No such active category."))
        data["category"] = found
    if "custom" in data and data["custom"] is None:
        data["custom"] = {}
    return data, related


crud = crud_router(TICKET_API, out_schema=TicketOut, create_schema=TicketIn, update_schema=TicketPatch,
                   to_fields=ticket_fields, tag="tickets")


# -- commands ----------------------------------------------------------------------------------------


class AssignIn(InputSchema):
    owner: Id = Field(..., description="The agent to hand the ticket to; someone else needs the assign "
                      "permission and must be within your scope.")
    team: Id | None = Field(None, description="The queue; omitted: the agent's team.")
    version: int | None = Version


class MessageIn(InputSchema):
    body: str = Field(..., min_length=1, max_length=services.BODY_MAX)


class ReplyIn(MessageIn):
    version: int | None = Version


class StatusIn(InputSchema):
    status: TicketStatus = Field(..., description="Allowed moves: new/assigned → in_progress, waiting, resolved, "
                                 "closed; in_progress ↔ waiting; → resolved, closed; resolved/closed → "
                                 "in_progress (reopen).")
    note: str = Field("", max_length=services.BODY_MAX, description="An internal note about the change.")
    version: int | None = Version


class LinkRenewIn(InputSchema):
    send: bool = Field(True, description="Email the new link to the customer.")


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    is_public: bool


class MessageOut(Schema):
    id: int
    kind: str = Field(description="reply (the customer sees it), note (internal) or customer (from the "
                      "customer).")
    body: str
    author: int | None = Field(None, alias="author_id")
    author_name: str
    created_at: datetime.datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class MessageCreatedOut(Schema):
    message: MessageOut
    ticket: TicketOut


class MessageListOut(Schema):
    count: int
    items: list[MessageOut]


class EventOut(Schema):
    id: int
    kind: str = Field(description="created, assigned, status, escalated, sla_warning, sla_breach, rated or "
                      "link_revoked.")
    actor: int | None = Field(None, alias="actor_id")
    actor_name: str = ""
    at: datetime.datetime
    data: dict[str, Any]

    @staticmethod
    def resolve_actor_name(obj):
        return str(obj.actor) if obj.actor_id else ""

    @staticmethod
    def resolve_data(obj):
        return obj.data if isinstance(obj.data, dict) else {}


class EventListOut(Schema):
    count: int
    items: list[EventOut]


class StatusLinkOut(Schema):
    active: bool = Field(description="False once revoked (until renewed).")
    url: str = Field(description="The customer's status page; empty when revoked.")


class Page(Schema):
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


ACTION_TEXT = {
    "view": gettext_noop("Your role does not allow viewing tickets."),
    "change": gettext_noop("Your role does not allow changing tickets."),
    "assign": gettext_noop("Your role does not allow assigning tickets to others."),
}


def _ticket(request, pk, action="change"):
    """The ticket to act on: 403 when the role lacks the action (or only views this one), 404 out of scope."""
    return command_target(Ticket, request.auth, pk, action=action,
                          denied=_(ACTION_TEXT.get(action, ACTION_TEXT["change"])),
                          view_only=_("You may see this ticket but not change it."),
                          select_related=("owner", "team", "account", "contact", "category"))


def _shown(request, pk):
    return prepare_for_display([TICKET_API.base_queryset(request.auth).get(pk=pk)], request.auth)[0]


def _message(message):
    return TicketMessage.objects.prefetch_related("attachments").get(pk=message.pk)


@crud.post("/{pk}/assign", response={200: TicketOut, **ERRORS}, summary="Assign a ticket to an agent",
           description="Hands the ticket to the agent (and their team's queue); a new ticket becomes assigned. "
           "The agent is notified. " + STATE_CODES, operation_id="ticket_assign")
def assign(request, pk: Id, payload: AssignIn):
    user = request.auth
    if payload.owner != user.pk and not access.allows(user, "assign", Ticket):
        raise ApiError(403, "forbidden", _(ACTION_TEXT["assign"]))
    ticket = _ticket(request, pk)
    owner = get_user_model().objects.filter(pk=payload.owner, is_active=True).select_related("team").first()
    if owner is None:
        raise _invalid("owner", _("No such active user."))
    team = None
    if payload.team is not None:
        team = Team.objects.filter(pk=payload.team).first()
        if team is None:
            raise _invalid("team", _("No such team."))
    run_command(services.ticket_assign, actor=user, ticket=ticket, owner=owner, team=team, version=payload.version)
    return _shown(request, pk)


@crud.post("/{pk}/take", response={200: TicketOut, **ERRORS}, summary="Take a ticket (assign it to yourself)",
           description="For a ticket you can change, e.g. an unassigned one in your team's queue.",
           operation_id="ticket_take")
def take(request, pk: Id):
    ticket = _ticket(request, pk)
    run_command(services.ticket_assign, actor=request.auth, ticket=ticket, owner=request.auth)
    return _shown(request, pk)


@crud.post("/{pk}/reply", response={201: MessageCreatedOut, **ERRORS}, summary="Reply to the customer",
           description="The customer sees the reply on their status page and gets it by email. The first reply "
           "stops the first-response clock; a new or assigned ticket moves to in progress. " + STATE_CODES,
           operation_id="ticket_reply")
def reply(request, pk: Id, payload: ReplyIn):
    ticket = _ticket(request, pk)
    message = run_command(services.ticket_reply, actor=request.auth, ticket=ticket, body=payload.body,
                   version=payload.version)
    return 201, {"message": _message(message), "ticket": _shown(request, pk)}


@crud.post("/{pk}/notes", response={201: MessageCreatedOut, **ERRORS}, summary="Add an internal note",
           description="Never shown to the customer, never emailed.", operation_id="ticket_note")
def note(request, pk: Id, payload: MessageIn):
    ticket = _ticket(request, pk)
    message = run_command(services.ticket_note, actor=request.auth, ticket=ticket, body=payload.body)
    return 201, {"message": _message(message), "ticket": _shown(request, pk)}


@crud.post("/{pk}/status", response={200: TicketOut, **ERRORS}, summary="Change a ticket's status",
           description="Moves the ticket along its workflow; resolved/closed → in_progress reopens it (the "
           "resolution clock restarts). The customer is emailed. " + STATE_CODES, operation_id="ticket_set_status")
def set_status(request, pk: Id, payload: StatusIn):
    ticket = _ticket(request, pk)
    run_command(services.ticket_set_status, actor=request.auth, ticket=ticket, status=payload.status.value,
         note=payload.note, version=payload.version)
    return _shown(request, pk)


@crud.post("/{pk}/escalate", response={200: TicketOut, **ERRORS}, summary="Escalate a ticket",
           description="To the manager of the ticket's team (else the agent's manager), who is notified; the "
           "first escalation is stamped on the ticket.", operation_id="ticket_escalate")
def escalate(request, pk: Id):
    ticket = _ticket(request, pk)
    run_command(services.ticket_escalate, actor=request.auth, ticket=ticket)
    return _shown(request, pk)


def _link(ticket):
    url = services.status_url(ticket)
    return {"active": bool(url), "url": url}


@crud.get("/{pk}/status-link", response={200: StatusLinkOut, **ERRORS},
          summary="The customer's status link", description="For staff who can change the ticket.",
          operation_id="ticket_status_link")
def status_link(request, pk: Id):
    return _link(_ticket(request, pk))


@crud.post("/{pk}/status-link/revoke", response={200: StatusLinkOut, **ERRORS},
           summary="Revoke the customer's status link", description="The link stops working at once.",
           operation_id="ticket_status_link_revoke")
def status_link_revoke(request, pk: Id):
    ticket = _ticket(request, pk)
    run_command(services.ticket_link_revoke, actor=request.auth, ticket=ticket)
    return _link(ticket)


@crud.post("/{pk}/status-link/renew", response={200: StatusLinkOut, **ERRORS},
           summary="Issue a new status link", description="The old link stops working; the new one is emailed "
           "to the customer unless `send` is false.", operation_id="ticket_status_link_renew")
def status_link_renew(request, pk: Id, payload: LinkRenewIn | None = None):
    payload = payload or LinkRenewIn()
    ticket = _ticket(request, pk)
    run_command(services.ticket_link_renew, actor=request.auth, ticket=ticket, send=payload.send)
    return _link(ticket)


@crud.get("/{pk}/messages", response={200: MessageListOut, **ERRORS}, summary="A ticket's conversation",
          description="Replies, the customer's messages and internal notes (kind), oldest first.",
          operation_id="ticket_messages")
def messages(request, pk: Id, page: Query[Page]):
    ticket = _ticket(request, pk, "view")
    rows = ticket.messages.order_by("created_at", "id")
    items = list(rows.prefetch_related("attachments")[page.offset: page.offset + page.limit])
    return {"count": rows.count(), "items": items}


@crud.get("/{pk}/events", response={200: EventListOut, **ERRORS}, summary="A ticket's history",
          description="Creation, assignments, status changes, escalations, SLA warnings and breaches, the "
          "rating; oldest first.", operation_id="ticket_events")
def events(request, pk: Id, page: Query[Page]):
    ticket = _ticket(request, pk, "view")
    rows = ticket.events.order_by("at", "id")
    items = list(rows.select_related("actor")[page.offset: page.offset + page.limit])
    return {"count": rows.count(), "items": items}


router = Router()
router.add_router("/tickets", crud)
