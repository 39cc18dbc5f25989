"""What the calendar and the iCalendar feed show: tasks by due time, meetings, visits and calls by time.

Everything goes through `restrict()` for the user, so a record the user lost access to leaves their
calendar (and their feed) at once. "Mine" is the tasks assigned to the user and the interactions they
logged or take part in; "my team" widens that to the people their role's scope covers.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, Q

from guanxi.core import access
from guanxi.core.choices import Scope

from .choices import InteractionKind, TaskStatus
from .models import Interaction, Task

# Interactions with a time worth seeing on a calendar; notes, emails and messages are history only.
CALENDAR_KINDS = (InteractionKind.MEETING, InteractionKind.VISIT, InteractionKind.CALL)
# The longest an interaction lasts (the model's validator): how far before a window one may start and
# still overlap it.
MAX_DURATION = datetime.timedelta(minutes=24 * 60)
# A task has a due time, not a length; calendars show it as a short block.
TASK_LENGTH = datetime.timedelta(minutes=30)


@dataclass
class CalendarItem:
    kind: str  # "task" or "interaction"
    obj: object
    start: datetime.datetime
    end: datetime.datetime

    @property
    def key(self):
        return f"{self.kind}-{self.obj.pk}"


def team_people(user, model):
    """The users whose items "my team" shows for `model`, from the role's scope; None for nobody extra.

    Scope "all" does not mean "show me everyone's calendar": it shows the user's own team and the
    people below them in the organisation.
    """
    scope = access.grant(user, model).scope
    if scope == Scope.TEAM:
        people = access.team_member_ids(user)
    elif scope == Scope.SUBTREE:
        people = access.subordinate_ids(user) | {user.pk}
    elif scope == Scope.ALL:
        people = access.subordinate_ids(user) | access.team_member_ids(user)
    else:
        return None
    return people if len(people) > 1 else None


def has_team_view(user):
    return any(team_people(user, model) for model in (Task, Interaction))


def _people(user, model, team):
    people = team_people(user, model) if team else None
    return sorted(people) if people else [user.pk]


def tasks_between(user, start, end, *, team=False, action="view"):
    """Tasks due in [start, end) that the user may see and that are theirs (or their team's)."""
    people = _people(user, Task, team)
    owner = Q(owner_id=people[0]) if len(people) == 1 else Q(owner_id__in=people)
    # Naming both statuses lets the (owner, status, due_at) index serve the due_at range.
    return (Task.objects.restrict(user, action)
            .filter(owner, status__in=TaskStatus.values, due_at__gte=start, due_at__lt=end)
            .select_related("account", "contact", "lead", "opportunity", "owner")
            .order_by("due_at", "pk"))


def interactions_between(user, start, end, *, team=False, action="view"):
    """Meetings, visits and calls that may overlap [start, end), that the user may see and logged or
    takes part in (or their team). Callers drop the few that end before `start` (see `overlaps`)."""
    people = _people(user, Interaction, team)
    through = Interaction.participant_users.through
    taking_part = through.objects.filter(user_id__in=people).values("interaction_id")
    owner = Q(owner_id=people[0]) if len(people) == 1 else Q(owner_id__in=people)
    return (Interaction.objects.restrict(user, action)
            .filter(owner | Q(pk__in=taking_part), kind__in=CALENDAR_KINDS,
                    occurred_at__gte=start - MAX_DURATION, occurred_at__lt=end)
            .select_related("account", "contact", "lead", "opportunity", "owner")
            .order_by("occurred_at", "pk"))


def about_label(obj):
    """What a task or interaction is about, for a calendar title: its company, contact, deal or lead
    (links the user may not see are already redacted to empty by calendar_items)."""
    for name in ("account", "contact", "opportunity", "lead"):
        if getattr(obj, f"{name}_id", None):
            linked = getattr(obj, name)
            return linked.name or str(linked)
    return ""


def interaction_end(interaction):
    return interaction.occurred_at + datetime.timedelta(minutes=interaction.duration_minutes or 0)


def overlaps(interaction, start):
    end = interaction_end(interaction)
    return end > start if end > interaction.occurred_at else interaction.occurred_at >= start


def calendar_items(user, start, end, *, team=False, limit=2000, prefetch_participants=False):
    """(items sorted by start, truncated) for the window: at most `limit` of each kind."""
    from guanxi.customers.models import Contact
    from guanxi.framework.redaction import redact_links

    tasks = list(tasks_between(user, start, end, team=team)[:limit + 1])
    interactions_qs = interactions_between(user, start, end, team=team)
    if prefetch_participants:
        # Only the contacts taking part that the user may see are named.
        interactions_qs = interactions_qs.prefetch_related(
            Prefetch("participant_contacts", queryset=Contact.objects.restrict(user, "view").order_by("name")))
    interactions = list(interactions_qs[:limit + 1])
    # A visible task or meeting may name a company, contact, lead or deal the user may not see: shown empty.
    redact_links(tasks, user)
    redact_links(interactions, user)
    truncated = len(tasks) > limit or len(interactions) > limit
    items = [CalendarItem("task", t, t.due_at, t.due_at + TASK_LENGTH) for t in tasks[:limit]]
    items += [
        CalendarItem("interaction", i, i.occurred_at, max(interaction_end(i), i.occurred_at))
        for i in interactions[:limit] if overlaps(i, start)
    ]
    items.sort(key=lambda item: (item.start, item.key))
    return items, truncated
