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


# How many interactions a contact's participation adds to a timeline at most (newest first).
MAX_PARTICIPATIONS = 1000


def interactions_about(targets):
    """Q for the interactions about any record in `targets` = {type key: [ids]}: filed under one of the
    companies or contacts, or with one of the contacts taking part. None when nothing can match.

    The reference rule, for tests: visible_interactions_about() gives the same rows as
    Interaction.objects.restrict(user, "view").filter(interactions_about(targets)).
    """
    accounts, contacts = targets.get(ACCOUNT) or [], targets.get(CONTACT) or []
    condition = Q()
    if accounts:
        condition |= Q(account_id__in=accounts)
    if contacts:
        taking_part = Interaction.participant_contacts.through.objects.filter(contact_id__in=contacts)
        condition |= Q(contact_id__in=contacts) | Q(pk__in=taking_part.values("interaction_id"))
    return condition or None


def visible_interactions_about(user, targets):
    """The interactions about the records in `targets` that `user` may see, as a queryset (None: nothing).

    `targets` must hold only records the user may see (read through restrict(), as timeline.context_for
    does). Then an interaction filed under one of them is visible by the rule in guanxi.core.access (an
    interaction is visible when any record it is about is), so those rows need no further row filter;
    only interactions that a target contact merely took part in are checked, by their own company and
    contact. Written this way because restrict() on interactions compiles to "account_id IN (every
    visible company) OR contact_id IN (every visible contact)", which PostgreSQL evaluates as hashed
    subplans over all of them: ~30 ms for a sales rep and ~2 s for an administrator per query at 200k
    companies and 1M interactions, against a few ms here (index scans on the target ids).
    """
    from guanxi.core import access
    from guanxi.customers.models import Account, Contact

    if not access.allows(user, "view", Interaction):
        return None
    accounts, contacts = targets.get(ACCOUNT) or [], targets.get(CONTACT) or []
    condition = Q()
    if accounts:
        condition |= Q(account_id__in=accounts)
    if contacts:
        condition |= Q(contact_id__in=contacts)
        taking_part = Interaction.participant_contacts.through.objects.filter(contact_id__in=contacts)
        rows = list(
            Interaction.objects.filter(pk__in=taking_part.values("interaction_id"))
            .exclude(Q(account_id__in=accounts) | Q(contact_id__in=contacts))
            .order_by("-occurred_at", "-id").values_list("pk", "account_id", "contact_id")[:MAX_PARTICIPATIONS]
        )
        if rows:
            about_accounts = {a for _pk, a, _c in rows if a}
            about_contacts = {c for _pk, _a, c in rows if c}
            seen_accounts = set(Account.objects.restrict(user, "view").filter(pk__in=sorted(about_accounts))
                                .values_list("pk", flat=True)) if about_accounts else set()
            seen_contacts = set(Contact.objects.restrict(user, "view").filter(pk__in=sorted(about_contacts))
                                .values_list("pk", flat=True)) if about_contacts else set()
            visible = [pk for pk, a, c in rows if a in seen_accounts or c in seen_contacts]
            if visible:
                condition |= Q(pk__in=visible)
    if not condition:
        return None
    return Interaction.objects.filter(condition)


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
