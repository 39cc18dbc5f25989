"""Reads over activities: which interactions and tasks are about a record, and the figures derived from
them ("last contacted", "next step") so that nobody types them twice."""

import datetime
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from .choices import InteractionKind, TaskStatus
from .models import Interaction, Task

ACCOUNT, CONTACT = "customers.account", "customers.contact"
# Internal notes are history, not contact with the customer: they do not count as "last contacted".
NOT_CONTACT = (InteractionKind.NOTE,)


def interactions_about(targets):
    """Q for the interactions about any record in `targets` = {type key: [ids]}: filed under one of the
    companies or contacts, or with one of the contacts taking part. None when nothing can match."""
    accounts, contacts = targets.get(ACCOUNT) or [], targets.get(CONTACT) or []
    condition = Q()
    if accounts:
        condition |= Q(account_id__in=accounts)
    if contacts:
        taking_part = Interaction.participant_contacts.through.objects.filter(contact_id__in=contacts)
        condition |= Q(contact_id__in=contacts) | Q(pk__in=taking_part.values("interaction_id"))
    return condition or None


def tasks_about(targets):
    """Q for the tasks about any company or contact in `targets`; None when nothing can match."""
    accounts, contacts = targets.get(ACCOUNT) or [], targets.get(CONTACT) or []
    condition = Q()
    if accounts:
        condition |= Q(account_id__in=accounts)
    if contacts:
        condition |= Q(contact_id__in=contacts)
    return condition or None


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

    Two queries when the newest interaction is not a note, three otherwise.
    """
    now = now or timezone.now()
    about = interactions_about(targets)
    newest = last = None
    if about is not None:
        past = (Interaction.objects.restrict(user, "view").filter(about, occurred_at__lte=now)
                .select_related("owner").order_by("-occurred_at", "-id"))
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
