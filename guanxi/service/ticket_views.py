"""Ticket pages beyond the generic ones: the detail page's conversation, history and command buttons, the
commands themselves (take, assign, reply, note, status, escalate, status link) and attachment downloads.

Every command loads the ticket through `Ticket.objects.restrict(user, action)` (404 outside the user's
scope) and calls `ticket_services`. With htmx the answer is the refreshed conversation and side panels
(the outcome shown inline); without, a redirect to the ticket with the outcome as a message.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.core import access
from guanxi.core.masking import mask_email
from guanxi.framework.errors import Conflict
from guanxi.framework.redaction import prepare_for_display
from guanxi.framework.validators import is_id

from . import ticket_services as svc
from .choices import MessageKind, SlaTarget, TicketEventKind, TicketStatus
from .models import Ticket, TicketAttachment, TicketMessage
from .sla import sla_state

# The status buttons, in workflow order: (target status, label, icon, button style, needs confirmation).
STATUS_BUTTONS = (
    (TicketStatus.IN_PROGRESS, "start", "bi-play-circle", "btn-outline-primary", False),
    (TicketStatus.WAITING, "wait", "bi-hourglass-split", "btn-outline-secondary", False),
    (TicketStatus.RESOLVED, "resolve", "bi-check2-circle", "btn-success", False),
    (TicketStatus.CLOSED, "close", "bi-lock", "btn-outline-danger", True),
)
# Attachment types a browser may show; anything else downloads as bytes (no uploaded HTML runs on our origin).
SAFE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}


def _status_label(command, reopen):
    return {
        "start": _("Reopen") if reopen else _("Start work"),
        "wait": _("Waiting on customer"),
        "resolve": _("Resolve"),
        "close": _("Close"),
    }[command]


def status_commands(ticket):
    """The status buttons valid from the ticket's status (ticket_services.TRANSITIONS)."""
    allowed = svc.TRANSITIONS.get(ticket.status, set())
    reopen = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    return [{"status": status.value, "command": command, "label": _status_label(command, reopen), "icon":
             "bi-arrow-counterclockwise" if reopen and command == "start" else icon, "style": style,
             "confirm": confirm}
            for status, command, icon, style, confirm in STATUS_BUTTONS if status in allowed]


def _event_text(event):
    """One line of the ticket's history in the reader's language."""
    data = event.data or {}
    kind = event.kind
    if kind == TicketEventKind.CREATED:
        return _("Ticket created")
    if kind == TicketEventKind.ASSIGNED:
        who = data.get("owner_label") or _("nobody")
        if data.get("rule_name"):
            return _("Assigned to %(user)s by rule “%(rule)s”") % {"user": who, "rule": data["rule_name"]}
        return _("Assigned to %(user)s") % {"user": who}
    if kind == TicketEventKind.STATUS:
        old, new = _status_name(data.get("old")), _status_name(data.get("new"))
        if data.get("reopened"):
            return _("Reopened: %(old)s → %(new)s") % {"old": old, "new": new}
        return _("Status: %(old)s → %(new)s") % {"old": old, "new": new}
    if kind == TicketEventKind.ESCALATED:
        text = svc.escalation_text(data.get("reason", "manual"))
        if data.get("to_label"):
            return _("Escalated to %(user)s: %(reason)s") % {"user": data["to_label"], "reason": text}
        return _("Escalated: %(reason)s") % {"reason": text}
    if kind in (TicketEventKind.SLA_WARNING, TicketEventKind.SLA_BREACH):
        target = data.get("target")
        target = SlaTarget(target).label if target in SlaTarget.values else ""
        label = event.get_kind_display()
        return f"{label} · {target}" if target else label
    if kind == TicketEventKind.RATED:
        return _("Rated %(score)s/5 by the customer") % {"score": data.get("score", "?")}
    return event.get_kind_display()


def _status_name(value):
    return TicketStatus(value).label if value in TicketStatus.values else (value or "—")


EVENT_ICONS = {
    TicketEventKind.CREATED: "bi-plus-circle",
    TicketEventKind.ASSIGNED: "bi-person-check",
    TicketEventKind.STATUS: "bi-arrow-repeat",
    TicketEventKind.ESCALATED: "bi-exclamation-triangle text-danger",
    TicketEventKind.SLA_WARNING: "bi-alarm text-warning",
    TicketEventKind.SLA_BREACH: "bi-alarm-fill text-danger",
    TicketEventKind.RATED: "bi-star-fill text-warning",
    TicketEventKind.LINK_REVOKED: "bi-link-45deg",
}


def _conversation(ticket):
    """The messages (authors, attachments) and the files attached when the ticket was created."""
    rows = list(
        TicketMessage.objects.filter(ticket=ticket).select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=TicketAttachment.objects.order_by("created_at", "id")))
        .order_by("created_at", "id")
    )
    for m in rows:
        # A customer message's author is the customer's label, which falls back to their email address.
        if m.kind == MessageKind.CUSTOMER and "@" in (m.author_name or ""):
            m.author_name = mask_email(m.author_name)
    initial = list(TicketAttachment.objects.filter(ticket=ticket, message__isnull=True).order_by("created_at", "id"))
    return rows, initial


def workspace_context(ticket, request):
    """What the conversation, the commands and the side panels need (also after each command)."""
    user = request.user
    can_change = access.can(user, "change", ticket)
    rows, initial = _conversation(ticket)
    events = list(ticket.events.select_related("actor").order_by("at", "id"))
    context = {
        "object": ticket,
        "can_change": can_change,
        "conversation": rows,
        "initial_attachments": initial,
        "history": [{"event": e, "text": _event_text(e), "icon": EVENT_ICONS.get(e.kind, "bi-dot")} for e in events],
        "sla": sla_state(ticket),
        "is_open": ticket.is_open,
        "csat_range": range(1, 6),
    }
    if can_change:
        context["status_commands"] = status_commands(ticket)
        context["can_take"] = ticket.owner_id != user.pk and ticket.status != TicketStatus.CLOSED
        context["status_url"] = svc.status_url(ticket)
        if access.allows(user, "assign", Ticket):
            agents = list(access.assignable_users(user, Ticket).select_related("team"))
            load = svc.open_load([u.pk for u in agents])
            context["agents"] = [(u, load.get(u.pk, 0)) for u in agents]
    return context


def ticket_detail_context(obj, request):
    """Extra context of the generic detail page (framework RecordDetailView)."""
    return workspace_context(obj, request)


# -- commands ----------------------------------------------------------------------------------------


def _load(request, pk, action="change"):
    qs = Ticket.objects.restrict(request.user, action).select_related(
        "owner", "team", "team__manager", "account", "contact", "category", "category__parent",
        "category__parent__parent", "escalated_to")
    return get_object_or_404(qs, pk=pk)


def _version(request):
    raw = request.POST.get("version", "")
    return int(raw) if is_id(raw) else None


def _respond(request, ticket, message, ok=True, draft=None):
    """htmx: the refreshed panels with the outcome inline (a refused reply or note keeps its text in the
    box as `draft`); otherwise back to the ticket with a message."""
    if request.htmx:
        fresh = Ticket.objects.restrict(request.user, "view").filter(pk=ticket.pk).select_related(
            "owner", "team", "account", "contact", "category", "escalated_to").first()
        if fresh is None:  # e.g. handed to someone outside the user's scope: nothing more to show here
            (messages.success if ok else messages.error)(request, message)
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("service:ticket_list")
            return response
        fresh = prepare_for_display([fresh], request.user)[0]  # masked, as the page itself shows it
        context = workspace_context(fresh, request)
        context.update({"flash": message, "flash_ok": ok, "oob": True})
        if draft and not ok:
            context[f"draft_{draft}"] = request.POST.get("body", "")
        return render(request, "service/_ticket_response.html", context)
    (messages.success if ok else messages.error)(request, message)
    if Ticket.objects.restrict(request.user, "view").filter(pk=ticket.pk).exists():
        return redirect(ticket.get_absolute_url())
    return redirect("service:ticket_list")


def _run(request, ticket, command, success, draft=None):
    """Run `command()` and answer with `success` or the service's error as a clear message (never a 500)."""
    try:
        command()
    except svc.TicketStateError as e:
        message = e.message
    except Conflict:
        message = _("Someone else changed this ticket meanwhile. Here is the latest state; please try again.")
    except ValidationError as e:
        message = " ".join(e.messages)
    except PermissionDenied as e:
        message = str(e) or _("Your role does not allow this.")
    else:
        return _respond(request, ticket, success)
    return _respond(request, ticket, message, ok=False, draft=draft)


@login_required
@require_POST
def ticket_take(request, pk):
    ticket = _load(request, pk)
    return _run(request, ticket, lambda: svc.ticket_assign(actor=request.user, ticket=ticket, owner=request.user,
                                                           version=_version(request)),
                _("You now handle this ticket."))


@login_required
@require_POST
def ticket_assign(request, pk):
    ticket = _load(request, pk)
    if not access.allows(request.user, "assign", Ticket):
        raise PermissionDenied(_("Your role does not allow assigning tickets."))
    raw = request.POST.get("owner", "")
    owner = get_user_model().objects.filter(pk=raw, is_active=True).first() if is_id(raw) else None
    if owner is None:
        return _respond(request, ticket, _("Choose an agent."), ok=False)
    return _run(request, ticket, lambda: svc.ticket_assign(actor=request.user, ticket=ticket, owner=owner,
                                                           version=_version(request)),
                _("Assigned to %(user)s.") % {"user": owner})


@login_required
@require_POST
def ticket_reply(request, pk):
    ticket = _load(request, pk)
    return _run(request, ticket, lambda: svc.ticket_reply(
        actor=request.user, ticket=ticket, body=request.POST.get("body", ""), files=request.FILES.getlist("files"),
        version=_version(request)), _("Reply sent to the customer."), draft="reply")


@login_required
@require_POST
def ticket_note(request, pk):
    ticket = _load(request, pk)
    return _run(request, ticket, lambda: svc.ticket_note(
        actor=request.user, ticket=ticket, body=request.POST.get("body", ""), files=request.FILES.getlist("files")),
        _("Internal note added."), draft="note")


@login_required
@require_POST
def ticket_status(request, pk):
    ticket = _load(request, pk)
    status = request.POST.get("status", "")
    if status not in TicketStatus.values:
        return _respond(request, ticket, _("Unknown status."), ok=False)
    label = TicketStatus(status).label
    return _run(request, ticket, lambda: svc.ticket_set_status(
        actor=request.user, ticket=ticket, status=status, version=_version(request),
        note=request.POST.get("note", "")), _("Status changed to “%(status)s”.") % {"status": label})


@login_required
@require_POST
def ticket_escalate(request, pk):
    ticket = _load(request, pk)
    return _run(request, ticket, lambda: svc.ticket_escalate(actor=request.user, ticket=ticket, reason="manual"),
                _("Ticket escalated."))


@login_required
@require_POST
def ticket_link_revoke(request, pk):
    ticket = _load(request, pk)
    return _run(request, ticket, lambda: svc.ticket_link_revoke(actor=request.user, ticket=ticket),
                _("The customer's status link no longer works."))


@login_required
@require_POST
def ticket_link_renew(request, pk):
    ticket = _load(request, pk)
    send = request.POST.get("send", "1") != "0"
    return _run(request, ticket, lambda: svc.ticket_link_renew(actor=request.user, ticket=ticket, send=send),
                _("A new status link was created and sent to the customer.") if send
                else _("A new status link was created."))


@login_required
@require_GET
def ticket_attachment(request, pk, attachment_pk):
    """Download an attachment of a ticket the user may see (internal ones too: this is the staff side)."""
    ticket = _load(request, pk, "view")
    attachment = get_object_or_404(TicketAttachment, pk=attachment_pk, ticket=ticket)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError, OSError):
        raise Http404(_("The file is missing.")) from None
    content_type = attachment.content_type if attachment.content_type in SAFE_TYPES else "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=attachment.filename, content_type=content_type)
