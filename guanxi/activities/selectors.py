"""Reads over activities: which interactions and tasks are about a record, and the figures derived from
them ("last contacted", "next step") so that nobody types them twice."""

import datetime
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from .choices import InteractionKind, TaskStatus
from .models import Interaction, Task

ACCOUNT, CONTACT = "customers.account", "customers.contact"
LEAD, OPPORTUNITY = "sales.lead", "sales.opportunity"
# Target type key -> the interaction/task field that files a row under a record of that type.
FILED_UNDER = {ACCOUNT: "account", CONTACT: "contact", LEAD: "lead", OPPORTUNITY: "opportunity"}
# Internal notes are history, not contact with the customer: they do not count as "last contacted".
NOT_CONTACT = (InteractionKind.NOTE,)


# How many interactions a contact's participation adds to a timeline at most (newest first).
MAX_PARTICIPATIONS = 1000


def _filed_under(targets):
    """Q for rows (interactions or tasks) filed under any record in `targets`; an empty Q when none."""
    condition = Q()
    for key, name in FILED_UNDER.items():
        ids = targets.get(key) or []
        if ids:
            condition |= Q(**{f"{name}_id__in": ids})
    return condition


def interactions_about(targets):
    """Q for the interactions about any record in `targets` = {type key: [ids]}: filed under one of the
    companies, contacts, leads or deals, or with one of the contacts taking part. None when nothing can match.

    The reference rule, for tests: visible_interactions_about() gives the same rows as
    Interaction.objects.restrict(user, "view").filter(interactions_about(targets)).
    """
    contacts = targets.get(CONTACT) or []
    condition = _filed_under(targets)
    if contacts:
        taking_part = Interaction.participant_contacts.through.objects.filter(contact_id__in=contacts)
        condition |= Q(pk__in=taking_part.values("interaction_id"))
    return condition or None


def visible_interactions_about(user, targets):
    """The interactions about the records in `targets` that `user` may see, as a queryset (None: nothing).

    `targets` must hold only records the user may see (read through restrict(), as timeline.context_for
    does). Then an interaction filed under one of them is visible by the rule in guanxi.core.access (an
    interaction is visible when any record it is about is), so those rows need no further row filter;
    only interactions that a target contact merely took part in are checked, by the records they are
    filed under (company, contact, lead, deal). Written this way because restrict() on interactions
    compiles to "account_id IN (every visible company) OR contact_id IN (every visible contact)", which
    PostgreSQL evaluates as hashed subplans over all of them: ~30 ms for a sales rep and ~2 s for an
    administrator per query at 200k companies and 1M interactions, against a few ms here (index scans on
    the target ids).
    """
    from guanxi.core import access

    if not access.allows(user, "view", Interaction):
        return None
    contacts = targets.get(CONTACT) or []
    filed = _filed_under(targets)
    condition = filed
    if contacts:
        taking_part = Interaction.participant_contacts.through.objects.filter(contact_id__in=contacts)
        names = list(FILED_UNDER.values())
        rows = list(
            Interaction.objects.filter(pk__in=taking_part.values("interaction_id")).exclude(filed)
            .order_by("-occurred_at", "-id").values_list("pk", *(f"{n}_id" for n in names))[:MAX_PARTICIPATIONS]
        )
        if rows:
            # Visible when any record it is filed under is visible (the rule of core.access), a query per type.
            seen = []
            for i, name in enumerate(names, start=1):
                ids = sorted({row[i] for row in rows if row[i]})
                model = Interaction._meta.get_field(name).related_model
                seen.append(set(model.objects.restrict(user, "view").filter(pk__in=ids)
                                .values_list("pk", flat=True)) if ids else set())
            visible = [row[0] for row in rows if any(row[i] in seen[i - 1] for i in range(1, len(names) + 1))]
            if visible:
                condition |= Q(pk__in=visible)
    if not condition:
        return None
    return Interaction.objects.filter(condition)


def tasks_about(targets):
    """Q for the tasks about any company, contact, lead or deal in `targets`; None when nothing can match."""
    return _filed_under(targets) or None


@dataclass(frozen=True)
class NextStep:
    """The next thing to do for a customer: an open task or the next step written on an interaction."""

    text: str
    due: datetime.date | datetime.datetime | None
    source: Interaction | Task

    @property
    def is_task(self):
        return isinstance(self.source, Task)

    @property
    def due_date(self):
        if isinstance(self.due, datetime.datetime):
            return timezone.localtime(self.due).date()
        return self.due

    @property
    def overdue(self):
        return self.due_date is not None and self.due_date < timezone.localdate()


@dataclass(frozen=True)
class FollowUp:
    last_contacted: Interaction | None
    next_step: NextStep | None


def follow_up(user, targets, *, now=None):
    """The "last contacted" and "next step" figures of the records in `targets`, as `user` may see them.

    - last contacted: the newest interaction up to now that is not an internal note;
    - next step: of the nearest open task (overdue first, undated last) and the next step written on the
      newest interaction up to now (a later interaction without one means it was dealt with), the one
      due first; the task when neither has a date.

    Two queries when the newest interaction is not a note, three otherwise (plus, with contacts among the
    targets, one to three for the interactions they took part in).
    """
    now = now or timezone.now()
    about = visible_interactions_about(user, targets)
    newest = last = None
    if about is not None:
        past = about.filter(occurred_at__lte=now).select_related("owner").order_by("-occurred_at", "-id")
        newest = past.first()
        last = newest
        if newest is not None and newest.kind in NOT_CONTACT:
            last = past.exclude(kind__in=NOT_CONTACT).first()
    candidates = []
    task_q = tasks_about(targets)
    if task_q is not None:
        task = (Task.objects.restrict(user, "view").filter(task_q, status=TaskStatus.OPEN)
                .order_by(F("due_at").asc(nulls_last=True), "id").first())
        if task is not None:
            candidates.append(NextStep(task.title, task.due_at, task))
    if newest is not None and newest.next_step:
        candidates.append(NextStep(newest.next_step, newest.next_step_due, newest))
    dated = [c for c in candidates if c.due is not None]
    if dated:
        chosen = min(dated, key=lambda c: (c.due_date, not c.is_task))
    else:
        chosen = candidates[0] if candidates else None
    return FollowUp(last_contacted=last, next_step=chosen)
