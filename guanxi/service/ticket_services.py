"""Ticket commands: create (classified, SLA clocks started, routed by the assignment rules), assign, reply,
internal note, status changes (start, wait, resolve, close, reopen), escalate, the customer's reply and
rating, and the customer's status link.

Each command runs in one transaction, locks the ticket row, bumps its version, writes a TicketEvent (the
ticket's history the customer and managers read), the audit row and, where the customer is concerned, the
email to the customer (queued in the outbox in the same transaction). Callers load the ticket through
`Ticket.objects.restrict(actor, action)` first (404 outside the actor's scope); the customer-side commands
(`ticket_customer_reply`, `ticket_rate`) are reached through the signed status link instead.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.framework.errors import Conflict, StateError
from guanxi.framework.services import diff, snapshot, tags_set, timeline_add
from guanxi.framework.validators import validate_no_nul

from .choices import OPEN_STATUSES, AssignMethod, MessageKind, TicketEventKind, TicketStatus
from .models import Ticket, TicketAssignmentRule, TicketAttachment, TicketEvent, TicketMessage, new_access_key
from .sla import business_minutes_between, calendar_spec, default_calendar, sla_apply

LINK_SALT = "guanxi.service.status-link"
BODY_MAX = 20_000
COMMENT_MAX = 2000
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = getattr(settings, "GUANXI_TICKET_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)

# status -> statuses an agent may move it to (reopen is resolved/closed -> in progress)
TRANSITIONS = {
    TicketStatus.NEW: {TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.ASSIGNED: {TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED,
                            TicketStatus.CLOSED},
    TicketStatus.IN_PROGRESS: {TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.WAITING: {TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.RESOLVED: {TicketStatus.CLOSED, TicketStatus.IN_PROGRESS},
    TicketStatus.CLOSED: {TicketStatus.IN_PROGRESS},
}
# Status changes the customer hears about by email.
CUSTOMER_NOTIFIED = {TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}


class TicketStateError(StateError):
    """The ticket's status does not allow the command (API: 409 with `code`)."""


def _ref(obj):
    return {"id": obj.pk, "label": str(obj)} if obj is not None else None


def _event(ticket, kind, actor, at, **data):
    return TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, at=at, data=data)


def _lock(ticket, version=None):
    """The ticket re-read under a row lock (no joins: see opportunity_services._lock); stale → Conflict."""
    locked = Ticket.all_objects.select_for_update().get(pk=ticket.pk)
    if version is not None and locked.version != version:
        raise Conflict()
    return locked


def _save(ticket, *names):
    """Write the named fields with a version bump (the caller holds the row lock)."""
    values = {name: getattr(ticket, name) for name in names}
    Ticket.all_objects.filter(pk=ticket.pk).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    ticket.version += 1


def _clean_text(value, field, max_length, required=True):
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("This field cannot be blank.")})
    validate_no_nul(value)
    if len(value) > max_length:
        raise ValidationError({field: _("Ensure this value has at most %(n)d characters.") % {"n": max_length}})
    return value


# -- create ------------------------------------------------------------------------------------------


@transaction.atomic
def ticket_create(*, actor, fields, related=None, at=None, message_id=None, files=(), notify_customer=True):
    """Create a ticket: classified as given, SLA clocks started, routed by the assignment rules (unless an
    owner is given), the customer acknowledged by email with their status link.

    `actor` is None for tickets from outside (public form, email-to-ticket).
    """
    if actor is not None and not access.allows(actor, "add", Ticket):
        raise PermissionDenied(_("Your role does not allow creating %(type)s.")
                               % {"type": Ticket._meta.verbose_name_plural})
    fields = dict(fields)
    owner = fields.pop("owner", None)
    ticket = Ticket(**fields)
    ticket.created_by = actor
    if message_id:
        ticket.source_message_id = message_id[:255]
    if not ticket.province and ticket.account_id:
        ticket.province = ticket.account.province or ""
    ticket.full_clean()
    now = at or timezone.now()
    ticket.save()
    if at is not None:  # demo data and tests place tickets in the past
        Ticket.all_objects.filter(pk=ticket.pk).update(created_at=at)
        ticket.created_at = at
    sla_apply(ticket, start=ticket.created_at)
    Ticket.all_objects.filter(pk=ticket.pk).update(
        sla_policy=ticket.sla_policy, first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due, first_response_warn_at=ticket.first_response_warn_at,
        resolution_warn_at=ticket.resolution_warn_at)
    if related and "tags" in related:
        tags_set(ticket, related["tags"])
    if files:
        _attach(ticket, None, files, public=True)
    _event(ticket, TicketEventKind.CREATED, actor, now, channel=ticket.channel)
    timeline_add(obj=ticket, kind=TimelineKind.CREATED, actor=actor, data={"label": str(ticket)})
    audit_log(actor=actor, action=AuditAction.CREATE, obj=ticket,
              data={"changes": diff({}, snapshot(ticket), Ticket)})
    if owner is not None:
        ticket_assign(actor=actor, ticket=ticket, owner=owner, at=now)
    elif ticket_assign_auto(ticket=ticket, actor=actor, at=now) is None and actor is not None and actor.team_id:
        # No rule placed it: it waits in the queue of the team of whoever recorded it, so that they (and
        # their teammates) still see it and someone can take it.
        _assign(ticket, actor=actor, owner=None, team=actor.team, at=now, data={"method": "creator_team"})
    if notify_customer:
        customer_email(ticket, "created", key=f"ticket:{ticket.pk}:created")
    return ticket


@transaction.atomic
def ticket_update(*, ticket, actor, fields, related=None, version=None):
    """Edit a ticket's facts; a new category or priority re-applies the SLA policy from creation time."""
    from guanxi.framework.services import record_update

    # Lock first and take the command-managed columns (status, SLA stamps…) as they are now: the save
    # below writes every column, and a sweep or command since the caller read the ticket must not be undone.
    locked = _lock(ticket)
    for field in Ticket._meta.concrete_fields:
        if not field.editable and field.attname != "version":
            setattr(ticket, field.attname, getattr(locked, field.attname))
    before = (ticket.category_id, ticket.priority)
    ticket = record_update(obj=ticket, actor=actor, fields=fields, related=related, version=version)
    if (ticket.category_id, ticket.priority) != before and ticket.is_open:
        names = _sla_reapply(ticket)
        Ticket.all_objects.filter(pk=ticket.pk).update(**{n: getattr(ticket, n) for n in names})
    return ticket


def _sla_reapply(ticket):
    """The policy of the ticket's new category or priority: the first-response clock from creation (unless
    answered), the resolution clock from creation or from the last reopen. A clock whose due time moves
    may warn and breach again under its new target. Returns the fields changed (in memory)."""
    due_before = (ticket.first_response_due, ticket.resolution_due)
    warn_before = ticket.first_response_warn_at
    names = sla_apply(ticket, start=ticket.created_at)
    if ticket.reopened_count:
        reopened = ticket.events.filter(kind=TicketEventKind.STATUS, data__reopened=True).order_by("-at").first()
        if reopened is not None:
            sla_apply(ticket, start=reopened.at, resolution_only=True)
    if ticket.first_responded_at:
        ticket.first_response_due, ticket.first_response_warn_at = due_before[0], warn_before
        names = [n for n in names if not n.startswith("first_response")]
    elif ticket.first_response_due != due_before[0]:
        ticket.first_response_warned_at = ticket.first_response_breached_at = None
        names += ["first_response_warned_at", "first_response_breached_at"]
    if ticket.resolution_due != due_before[1]:
        ticket.resolution_warned_at = ticket.resolution_breached_at = None
        names += ["resolution_warned_at", "resolution_breached_at"]
    return names


# -- assignment --------------------------------------------------------------------------------------


def _rule_matches(rule, ticket, ancestors):
    from guanxi.sales.scoring import province_matches, split_values

    if rule.category_id and rule.category_id not in ancestors:
        return False
    if rule.priority and rule.priority != ticket.priority:
        return False
    provinces = split_values(rule.provinces)
    return not (provinces and not province_matches(ticket.province, provinces))


def matching_rules(ticket):
    ancestors = ticket.category.ancestor_ids() if ticket.category_id else []
    rules = TicketAssignmentRule.objects.filter(is_active=True).select_related("team").order_by("position", "id")
    return [r for r in rules if _rule_matches(r, ticket, ancestors)]


def _team_members(team_id):
    return list(get_user_model().objects.filter(team_id=team_id, is_active=True).order_by("id")
                .values_list("pk", flat=True))


def _next_in_team(rule):
    """The member whose turn it is (round-robin: cursor advanced under the rule's row lock; least-loaded:
    fewest open tickets, ties by id). None when the team has no active member."""
    locked = TicketAssignmentRule.objects.select_for_update().get(pk=rule.pk)
    members = _team_members(locked.team_id)
    if not members:
        return None
    if locked.method == AssignMethod.LEAST_LOADED:
        load = dict(Ticket.objects.filter(owner_id__in=members, status__in=OPEN_STATUSES)
                    .values_list("owner_id").annotate(n=Count("id")))
        chosen = min(members, key=lambda pk: (load.get(pk, 0), pk))
    else:
        after = [pk for pk in members if locked.last_user_id is not None and pk > locked.last_user_id]
        chosen = after[0] if after else members[0]
    TicketAssignmentRule.objects.filter(pk=locked.pk).update(last_user_id=chosen)
    return get_user_model().objects.get(pk=chosen)


def ticket_assign_auto(*, ticket, actor, at=None):
    """Route an unassigned ticket by the first matching rule that can place it: into the rule's team
    queue, to the member whose turn it is. Returns the rule, or None (the ticket stays unassigned)."""
    for rule in matching_rules(ticket):
        owner = _next_in_team(rule)
        if owner is None:
            continue
        _assign(ticket, actor=actor, owner=owner, team=rule.team, at=at or timezone.now(),
                data={"rule": rule.pk, "rule_name": rule.name, "method": rule.method})
        return rule
    return None


def _assign(ticket, *, actor, owner, team, at, data=None):
    locked = _lock(ticket)
    before_owner, before_team = locked.owner, locked.team
    locked.owner, locked.team = owner, team
    locked.assigned_at = at
    names = ["owner", "team", "assigned_at"]
    if locked.status == TicketStatus.NEW and owner is not None:
        locked.status = TicketStatus.ASSIGNED
        names.append("status")
    _save(locked, *names)
    for name in names + ["version"]:
        setattr(ticket, name, getattr(locked, name))
    changes = {"owner": [_ref(before_owner), _ref(owner)], "team": [_ref(before_team), _ref(team)]}
    changes = {k: v for k, v in changes.items() if v[0] != v[1]}
    _event(ticket, TicketEventKind.ASSIGNED, actor, at, owner=owner.pk if owner else None,
           owner_label=str(owner) if owner else "", team=team.pk if team else None, **(data or {}))
    audit_log(actor=actor, action=AuditAction.TICKET_ASSIGN, obj=ticket, data={"changes": changes, **(data or {})})
    timeline_add(obj=ticket, kind=TimelineKind.UPDATED, actor=actor,
                 data={"changes": changes, "command": "assign", **(data or {})})
    if owner is not None and owner != actor:
        _notify(owner, "ticket_assigned", ticket,
                lambda: (_("Ticket assigned to you: %(ticket)s") % {"ticket": ticket},
                         ticket.description[:300]),
                key=f"ticket:{ticket.pk}:assigned:{owner.pk}:{ticket.version}")


@transaction.atomic
def ticket_assign(*, actor, ticket, owner, team=None, version=None, at=None):
    """Hand the ticket to `owner` (and their team's queue). Taking a ticket oneself needs `change`; giving
    it to someone else needs `assign` with them inside the actor's scope."""
    if actor is not None and owner is not None and owner != actor:
        allowed = access.assignable_owner_ids(actor, Ticket)
        if not access.allows(actor, "assign", Ticket) or (allowed is not None and owner.pk not in allowed):
            raise ValidationError({"owner": _("You cannot assign tickets to this user.")})
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": _("This user is inactive.")})
    # The queue follows the agent: escalations go to their team's manager.
    if team is not None and owner is not None and owner.team_id and team.pk != owner.team_id:
        raise ValidationError({"team": _("This agent works in another team.")})
    if team is not None and owner is not None and not owner.team_id and actor is not None \
            and not access.allows(actor, "assign", Ticket):
        raise ValidationError({"team": _("You cannot move tickets between teams.")})
    if version is not None:
        _lock(ticket, version)
    if owner is not None and owner.pk == ticket.owner_id and (team is None or team.pk == ticket.team_id):
        return ticket
    team = team or (owner.team if owner is not None and owner.team_id else ticket.team)
    _assign(ticket, actor=actor, owner=owner, team=team, at=at or timezone.now(), data={"method": "manual"})
    return ticket


# -- conversation ------------------------------------------------------------------------------------


def _attach(ticket, message, files, public):
    files = list(files or [])
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError({"files": _("Attach at most %(n)d files.") % {"n": MAX_ATTACHMENTS}})
    for upload in files:
        data = upload.read()
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ValidationError({"files": _("“%(name)s” is larger than %(mb)d MB.") % {
                "name": upload.name, "mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)}})
        name = (upload.name or "file").replace("\x00", "")[-200:]
        row = TicketAttachment(ticket=ticket, message=message, filename=name,
                               content_type=(getattr(upload, "content_type", "") or "")[:100], size=len(data),
                               sha256=hashlib.sha256(data).hexdigest(), is_public=public)
        row.file.save(name, ContentFile(data), save=False)
        row.save()


def _message(ticket, kind, body, author, at, message_id=None, author_name=""):
    return TicketMessage.objects.create(
        ticket=ticket, kind=kind, body=body, author=author, created_at=at,
        author_name=author_name or (str(author) if author else ""), message_id=message_id,
    )


@transaction.atomic
def ticket_reply(*, actor, ticket, body, files=(), version=None, at=None):
    """A reply the customer sees (status page and email). The first one stops the first-response clock;
    a new or assigned ticket moves to in progress."""
    body = _clean_text(body, "body", BODY_MAX)
    locked = _lock(ticket, version)
    if locked.status == TicketStatus.CLOSED:
        raise TicketStateError("ticket_closed", _("The ticket is closed; reopen it to reply."))
    now = at or timezone.now()
    message = _message(locked, MessageKind.REPLY, body, actor, now)
    _attach(locked, message, files, public=True)
    names = []
    if locked.first_responded_at is None:
        locked.first_responded_at = now
        locked.first_response_minutes = business_minutes_since_created(locked, now)
        names += ["first_responded_at", "first_response_minutes"]
    if locked.status in (TicketStatus.NEW, TicketStatus.ASSIGNED):
        old = locked.status
        locked.status = TicketStatus.IN_PROGRESS
        names.append("status")
        _event(locked, TicketEventKind.STATUS, actor, now, old=old, new=locked.status)
    if locked.owner_id is None and actor is not None:
        locked.owner, locked.assigned_at = actor, now
        names += ["owner", "assigned_at"]
    _save(locked, *names)
    audit_log(actor=actor, action=AuditAction.TICKET_REPLY, obj=locked,
              data={"message": message.pk, "length": len(body)})
    customer_email(locked, "reply", key=f"ticket:{locked.pk}:reply:{message.pk}", message=message)
    _sync(ticket, locked)
    return message


@transaction.atomic
def ticket_note(*, actor, ticket, body, files=(), at=None):
    """An internal note: never shown to the customer, never emailed."""
    body = _clean_text(body, "body", BODY_MAX)
    message = _message(ticket, MessageKind.NOTE, body, actor, at or timezone.now())
    _attach(ticket, message, files, public=False)
    Ticket.all_objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    return message


def business_minutes_since_created(ticket, end):
    """Working minutes from the ticket's creation to `end` on its SLA calendar (else the default one)."""
    calendar = (ticket.sla_policy.calendar if ticket.sla_policy_id and ticket.sla_policy.calendar_id
                else default_calendar())
    if calendar is None:
        return None
    return round(business_minutes_between(calendar_spec(calendar), ticket.created_at, end), 2)


def _sync(ticket, locked):
    for name in ("status", "version", "first_responded_at", "first_response_minutes", "resolved_at",
                 "resolution_minutes", "closed_at", "owner_id", "team_id",
                 "assigned_at", "reopened_count", "resolution_due", "resolution_warn_at", "escalated_at",
                 "escalated_to_id", "csat_score", "csat_comment", "csat_at", "access_key"):
        setattr(ticket, name, getattr(locked, name))


# -- status ------------------------------------------------------------------------------------------


@transaction.atomic
def ticket_set_status(*, actor, ticket, status, version=None, note="", at=None):
    """Move the ticket along its workflow; resolved/closed → in progress is a reopen (the resolution clock
    restarts). The customer is emailed about the change."""
    if status not in TicketStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    note = _clean_text(note, "note", BODY_MAX, required=False)
    locked = _lock(ticket, version)
    old = locked.status
    if status == old:
        return ticket
    if status not in TRANSITIONS.get(old, set()):
        raise TicketStateError("invalid_transition", _("A ticket cannot go from “%(old)s” to “%(new)s”.") % {
            "old": TicketStatus(old).label, "new": TicketStatus(status).label})
    now = at or timezone.now()
    names = ["status"]
    locked.status = status
    # Only back to work is a reopen; closing a resolved ticket keeps its resolution.
    done = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    reopened = old in done and status not in done
    if reopened:
        locked.reopened_count += 1
        locked.resolved_at = None
        locked.resolution_minutes = None
        locked.closed_at = None
        names += ["reopened_count", "resolved_at", "resolution_minutes", "closed_at"]
        names += [n for n in sla_apply(locked, start=now, resolution_only=True) if n != "sla_policy"]
    if status == TicketStatus.CLOSED:
        locked.closed_at = now
        names.append("closed_at")
    if status == TicketStatus.RESOLVED or (status == TicketStatus.CLOSED and locked.resolved_at is None):
        locked.resolved_at = now
        locked.resolution_minutes = business_minutes_since_created(locked, now)
        names += ["resolved_at", "resolution_minutes"]
    _save(locked, *names)
    _event(locked, TicketEventKind.STATUS, actor, now, old=old, new=status, reopened=reopened)
    if note:
        _message(locked, MessageKind.NOTE, note, actor, now)
    changes = {"status": [old, status]}
    audit_log(actor=actor, action=AuditAction.TICKET_STATUS, obj=locked, data={"changes": changes})
    timeline_add(obj=locked, kind=TimelineKind.UPDATED, actor=actor, data={"changes": changes, "command": "status"})
    if status in CUSTOMER_NOTIFIED:
        customer_email(locked, f"status_{status}", key=f"ticket:{locked.pk}:status:{locked.version}")
    _sync(ticket, locked)
    return ticket


# -- escalation --------------------------------------------------------------------------------------


def escalation_target(ticket):
    """Whom an escalation goes to: the manager of the ticket's team, else the agent's own manager."""
    if ticket.team_id and ticket.team.manager_id:
        return ticket.team.manager
    if ticket.owner_id and ticket.owner.manager_id:
        return ticket.owner.manager
    return None


@transaction.atomic
def ticket_escalate(*, actor, ticket, reason="manual", at=None, key=None):
    """Escalate to the team's manager: stamped on the ticket (first time), in its history, audited, and
    the manager notified. `key` makes a repeated call for the same cause notify once."""
    locked = _lock(ticket)
    now = at or timezone.now()
    target = escalation_target(locked)
    names = []
    if locked.escalated_at is None:
        locked.escalated_at, locked.escalated_to = now, target
        names += ["escalated_at", "escalated_to"]
        # Only the first escalation changes the ticket; a later one must not make an open form stale.
        _save(locked, *names)
    _event(locked, TicketEventKind.ESCALATED, actor, now, reason=reason, to=target.pk if target else None,
           to_label=str(target) if target else "")
    audit_log(actor=actor, action=AuditAction.TICKET_ESCALATE, obj=locked,
              data={"reason": reason, "to": _ref(target)})
    if target is not None:
        _notify(target, "ticket_escalated", locked,
                lambda: (_("Ticket escalated: %(ticket)s") % {"ticket": locked}, escalation_text(reason)),
                key=key or f"ticket:{locked.pk}:escalated:{now.isoformat()}")
    _sync(ticket, locked)
    return target


def escalation_text(reason):
    return {
        "first_response": _("The first-response target was breached."),
        "resolution": _("The resolution target was breached."),
    }.get(reason, _("Escalated by an agent."))


# -- the customer's side -----------------------------------------------------------------------------


@transaction.atomic
def ticket_customer_reply(*, ticket, body, files=(), message_id=None, at=None, reopen=True):
    """The customer writes (status page or email). Waiting on customer → in progress; a resolved ticket
    reopens; a closed one takes no more messages. With `reopen=False` (an automatic reply) the message is
    kept and the status left alone."""
    body = _clean_text(body, "body", BODY_MAX)
    locked = _lock(ticket)
    if locked.status == TicketStatus.CLOSED:
        raise TicketStateError("ticket_closed", _("This ticket is closed. Please submit a new one."))
    if message_id and TicketMessage.objects.filter(message_id=message_id).exists():
        return None
    now = at or timezone.now()
    message = _message(locked, MessageKind.CUSTOMER, body, None, now, message_id=message_id,
                       author_name=locked.customer_label)
    _attach(locked, message, files, public=True)
    if reopen and locked.status in (TicketStatus.WAITING, TicketStatus.RESOLVED):
        _sync(ticket, locked)
        ticket_set_status(actor=None, ticket=ticket, status=TicketStatus.IN_PROGRESS, at=now)
        locked = ticket
    else:
        _save(locked)
        _sync(ticket, locked)
    if ticket.owner_id:
        owner = ticket.owner
        _notify(owner, "ticket_customer_reply", ticket,
                lambda: (_("The customer replied: %(ticket)s") % {"ticket": ticket}, body[:300]),
                key=f"ticket:{ticket.pk}:customer:{message.pk}")
    return message


@transaction.atomic
def ticket_rate(*, ticket, score, comment="", at=None):
    """The customer's satisfaction rating (1–5) after resolution; once per resolution."""
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ValidationError({"score": _("Choose a rating from 1 to 5.")}) from None
    if not 1 <= score <= 5:
        raise ValidationError({"score": _("Choose a rating from 1 to 5.")})
    comment = _clean_text(comment, "comment", COMMENT_MAX, required=False)
    locked = _lock(ticket)
    if locked.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise TicketStateError("not_resolved", _("You can rate the ticket once it is resolved."))
    if locked.csat_at is not None and locked.resolved_at and locked.csat_at >= locked.resolved_at:
        raise TicketStateError("already_rated", _("You have already rated this ticket. Thank you!"))
    now = at or timezone.now()
    locked.csat_score, locked.csat_comment, locked.csat_at = score, comment, now
    _save(locked, "csat_score", "csat_comment", "csat_at")
    _event(locked, TicketEventKind.RATED, None, now, score=score)
    audit_log(actor=None, action=AuditAction.TICKET_RATE, obj=locked, data={"score": score})
    if locked.owner_id:
        _notify(locked.owner, "ticket_rated", locked,
                lambda: (_("Rated %(score)d/5: %(ticket)s") % {"score": score, "ticket": locked}, comment[:300]),
                key=f"ticket:{locked.pk}:rated:{now.isoformat()}")
    _sync(ticket, locked)
    return ticket


# -- the status link ---------------------------------------------------------------------------------


def status_token(ticket):
    """The signed token of the ticket's status link ("" when the link is revoked)."""
    if not ticket.access_key:
        return ""
    return signing.dumps([ticket.pk, ticket.access_key], salt=LINK_SALT, compress=False)


def status_url(ticket):
    from django.urls import reverse

    from guanxi.activities.task_services import site_url

    token = status_token(ticket)
    return site_url().rstrip("/") + reverse("service_public:status", args=[token]) if token else ""


def ticket_from_token(token):
    """The ticket a status-link token opens, or None (bad signature, revoked or replaced key, deleted)."""
    try:
        pk, key = signing.loads(token, salt=LINK_SALT)
        pk, key = int(pk), str(key)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    ticket = Ticket.objects.filter(pk=pk).select_related("account", "contact", "category", "owner").first()
    if ticket is None or not ticket.access_key or not constant_time_compare(ticket.access_key, key):
        return None
    return ticket


@transaction.atomic
def ticket_link_revoke(*, actor, ticket):
    """The customer's link stops working at once."""
    locked = _lock(ticket)
    locked.access_key = ""
    _save(locked, "access_key")
    _event(locked, TicketEventKind.LINK_REVOKED, actor, timezone.now())
    audit_log(actor=actor, action=AuditAction.TICKET_LINK, obj=locked, data={"command": "revoke"})
    _sync(ticket, locked)
    return ticket


@transaction.atomic
def ticket_link_renew(*, actor, ticket, send=True):
    """A new link (the old one stops working), emailed to the customer when `send`."""
    locked = _lock(ticket)
    locked.access_key = new_access_key()
    _save(locked, "access_key")
    audit_log(actor=actor, action=AuditAction.TICKET_LINK, obj=locked, data={"command": "renew"})
    _sync(ticket, locked)
    if send:
        customer_email(ticket, "link", key=f"ticket:{ticket.pk}:link:{ticket.version}")
    return ticket


# -- notifications and emails ------------------------------------------------------------------------


def _notify(user, kind, ticket, text, key):
    """An in-app notification in the recipient's language (`text` is called under their language)."""
    from guanxi.core.notifications import notification_create

    if user is None or not user.is_active:
        return
    with translation.override(user.language or settings.LANGUAGE_CODE):
        title, body = text()
    notification_create(user=user, kind=kind, title=title, body=body, url=ticket.get_absolute_url(), dedupe_key=key)


def customer_address(ticket):
    if ticket.contact_id and ticket.contact.email:
        return ticket.contact.email
    return ticket.customer_email


def customer_email(ticket, event, *, key, message=None):
    """Queue the customer's email about `event` (bilingual templates, in the ticket's language) in the
    caller's transaction. Nothing when the customer left no address."""
    from .emails import render_customer_email

    to = customer_address(ticket)
    if not to:
        return None
    from guanxi.integrations.services import outbound_create

    subject, body = render_customer_email(ticket, event, message=message, link=status_url(ticket))
    return outbound_create(to=to, subject=subject, body_text=body, dedupe_key=key[:200])


def customer_visible_messages(ticket):
    return ticket.messages.exclude(kind=MessageKind.NOTE).order_by("created_at", "id")


def open_load(owner_ids=None):
    """{agent id: open tickets} for the assignment pickers (only the agents offered, when given: counting
    every owner's backlog cost a fifth of the ticket page at 100k tickets)."""
    qs = Ticket.objects.filter(status__in=OPEN_STATUSES, owner__isnull=False)
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=list(owner_ids))
    return dict(qs.values_list("owner_id").annotate(n=Count("id")))
