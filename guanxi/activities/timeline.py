"""The unified timeline of a record (company, contact, lead, deal...): interactions, changes, tasks and a
deal's stage changes (later tickets), newest first.

A *source* turns (viewer, the records the timeline covers, filters, position) into items; the timeline
merges the sources and pages through them with a keyset on (time, source rank, id), so that a page costs
the same at any depth. Other apps extend it from their AppConfig.ready():

- `register_source(SomeSource())` adds a kind of item (a deal's stage changes, a ticket...);
- `register_related("customers.account", fn)` widens what a record's timeline covers:
  fn(record, user) -> {type key: [ids]} of records the user may see (a company's timeline covers its
  contacts, relations, deals and the leads converted into it; a deal's covers its lead).

Visibility: a timeline only covers records the viewer may see (every target comes through restrict()),
each source reads through restrict() where its rows have their own visibility (interactions, whose rule is
"visible when any record it is about is", through selectors.visible_interactions_about), and labels of
the other records an item is about (a contact's company, a participant...) are shown only when visible.
"""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from guanxi.core.choices import TimelineKind
from guanxi.framework import registry
from guanxi.framework.validators import MAX_ID

from .choices import InteractionKind, TaskStatus
from .selectors import ACCOUNT, CONTACT, FILED_UNDER, LEAD, OPPORTUNITY, tasks_about, visible_interactions_about

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# How many related records (a company's contacts, relations) a company's timeline covers at most.
MAX_RELATED = 500

ICONS = {
    InteractionKind.CALL: "bi-telephone",
    InteractionKind.EMAIL: "bi-envelope",
    InteractionKind.MEETING: "bi-people",
    InteractionKind.VISIT: "bi-geo-alt",
    InteractionKind.NOTE: "bi-journal-text",
    InteractionKind.SOCIAL: "bi-wechat",
    InteractionKind.OTHER: "bi-chat-dots",
}


class BadCursor(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Position:
    """Where an item sits in the timeline; items are shown in descending order of (at, rank, pk)."""

    at: datetime.datetime
    rank: int
    pk: int

    def encode(self):
        micros = (self.at - EPOCH) // datetime.timedelta(microseconds=1)
        return f"{micros}.{self.rank}.{self.pk}"

    @classmethod
    def decode(cls, text):
        """The position of an opaque cursor string; BadCursor for anything this module did not write."""
        parts = str(text or "").split(".")
        if len(parts) != 3:
            raise BadCursor(text)
        micros, rank, pk = parts
        digits = micros[1:] if micros.startswith("-") else micros
        for part in (digits, rank, pk):
            if not (part.isascii() and part.isdigit() and len(part) <= 19):
                raise BadCursor(text)
        try:
            at = EPOCH + datetime.timedelta(microseconds=int(micros))
        except OverflowError:
            raise BadCursor(text) from None
        if int(pk) > MAX_ID or int(rank) > 1000:
            raise BadCursor(text)
        return cls(at, int(rank), int(pk))


@dataclass(frozen=True)
class Filters:
    """What the reader narrowed the timeline to. Empty `kinds` means every kind; `end` is exclusive."""

    kinds: frozenset = frozenset()
    person: int | None = None
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None


def user_timezone(user):
    try:
        return zoneinfo.ZoneInfo(getattr(user, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def make_filters(*, kinds=(), person=None, since=None, until=None, tz=None):
    """Filters from form or query values: dates are whole days in the reader's time zone `tz`."""
    tz = tz or timezone.get_current_timezone()

    def midnight(day):
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)

    return Filters(
        kinds=frozenset(k for k in kinds or () if k),
        person=person,
        start=midnight(since) if since else None,
        end=midnight(until + datetime.timedelta(days=1)) if until else None,
    )


@dataclass
class Ref:
    """Another record an item is about, as the reader may see it."""

    type_key: str
    pk: int
    type_label: Any
    label: str
    url: str


@dataclass
class Item:
    """One entry of the timeline, in fields every source fills the same way (the API serialises these)."""

    source: str
    position: Position
    kind: str  # the value the type filter matches: an interaction kind, "task", "change"...
    kind_label: Any
    icon: str
    title: str = ""
    content: str = ""
    outcome: str = ""
    next_step: str = ""
    due: datetime.date | datetime.datetime | None = None
    person: Any = None  # who logged or did it
    refs: list = field(default_factory=list)  # [(type key, id)] of the records it is about
    about: list = field(default_factory=list)  # [Ref] of those the reader may see, except the page's record
    contacts: list = field(default_factory=list)  # [Ref] of contacts taking part that the reader may see
    colleagues: list = field(default_factory=list)  # users taking part
    changes: list = field(default_factory=list)  # [(field label, before, after)]
    details: list = field(default_factory=list)  # [(label, value)]: duration, assignee, priority...
    url: str = ""
    obj: Any = None
    template: str = "activities/timeline/_item.html"

    @property
    def at(self):
        return self.position.at

    @property
    def due_display(self):
        if isinstance(self.due, datetime.datetime):
            return f"{timezone.localtime(self.due):%Y-%m-%d %H:%M}"
        return self.due.isoformat() if self.due else ""

    @property
    def cursor(self):
        return self.position.encode()


@dataclass
class Context:
    """The reader and the records one timeline covers: {type key: [ids]}, all visible to the reader."""

    user: Any
    record: Any
    targets: dict

    @property
    def key(self):
        return self.record.type_key()


@dataclass
class Page:
    items: list
    next_cursor: str | None


# -- sources -----------------------------------------------------------------------------------


class Source:
    """One kind of timeline entry. `rank` orders entries of different sources at the same instant."""

    name = ""
    rank = 0

    def kinds(self):
        """[(filter value, label)] this source answers to."""
        return []

    def fetch(self, ctx, filters, before, limit):
        """Up to `limit` items strictly after `before` (a Position, or None for the start), newest first."""
        raise NotImplementedError

    def prepare(self, items, ctx):
        """Finish the items of one page for display (batch loads); called once per page."""


class QuerySetSource(Source):
    """A source read from one queryset, ordered by `time_field` then id (both indexed for it)."""

    time_field = ""
    person_field = ""

    def queryset(self, ctx, filters):
        """The rows of this source for the context, or None when nothing can match."""
        raise NotImplementedError

    def to_item(self, obj, ctx):
        raise NotImplementedError

    def answers(self, filters):
        return not filters.kinds or bool(filters.kinds & {value for value, _label in self.kinds()})

    def after(self, position):
        """Rows that sort after `position` in the merged (at, rank, pk) descending order."""
        t = self.time_field
        if self.rank < position.rank:
            return Q(**{f"{t}__lte": position.at})
        if self.rank > position.rank:
            return Q(**{f"{t}__lt": position.at})
        return Q(**{f"{t}__lt": position.at}) | Q(**{t: position.at, "pk__lt": position.pk})

    def fetch(self, ctx, filters, before, limit):
        if not self.answers(filters):
            return []
        qs = self.queryset(ctx, filters)
        if qs is None:
            return []
        t = self.time_field
        if filters.person is not None:
            qs = qs.filter(**{self.person_field: filters.person})
        if filters.start is not None:
            qs = qs.filter(**{f"{t}__gte": filters.start})
        if filters.end is not None:
            qs = qs.filter(**{f"{t}__lt": filters.end})
        if before is not None:
            qs = qs.filter(self.after(before))
        return [self.to_item(obj, ctx) for obj in qs.order_by(f"-{t}", "-pk")[:limit]]


class InteractionSource(QuerySetSource):
    name = "interaction"
    rank = 40
    time_field = "occurred_at"
    person_field = "owner_id"

    def kinds(self):
        return list(InteractionKind.choices)

    def queryset(self, ctx, filters):
        from guanxi.customers.models import Contact

        qs = visible_interactions_about(ctx.user, ctx.targets)
        if qs is None:
            return None
        wanted = filters.kinds & set(InteractionKind.values)
        if filters.kinds:
            qs = qs.filter(kind__in=sorted(wanted))
        return qs.select_related("owner").prefetch_related(
            "participant_users",
            # Contacts the reader may not see are left out, names and all.
            Prefetch("participant_contacts", queryset=Contact.objects.restrict(ctx.user, "view").order_by("name")),
        )

    def to_item(self, obj, ctx):
        from guanxi.customers.models import Contact

        return Item(
            source=self.name, position=Position(obj.occurred_at, self.rank, obj.pk), kind=obj.kind,
            kind_label=obj.get_kind_display(), icon=ICONS.get(obj.kind, "bi-chat-dots"),
            title=obj.subject, content=obj.content, outcome=obj.outcome, next_step=obj.next_step,
            due=obj.next_step_due, person=obj.owner,
            details=[d for d in (
                (_("Direction"), obj.get_direction_display() if obj.direction else ""),
                (_("Duration"), _("%(n)d min") % {"n": obj.duration_minutes} if obj.duration_minutes else ""),
            ) if d[1]],
            refs=_refs(obj),
            contacts=[Ref(CONTACT, c.pk, Contact._meta.verbose_name, c.name, c.get_absolute_url())
                      for c in obj.participant_contacts.all()],
            colleagues=list(obj.participant_users.all()),
            url=obj.get_absolute_url(), obj=obj,
        )


def _refs(obj):
    """[(type key, id)] of the records an interaction or task is filed under."""
    return [(key, pk) for key, name in FILED_UNDER.items() if (pk := getattr(obj, f"{name}_id"))]


class TaskCreatedSource(QuerySetSource):
    name = "task_created"
    rank = 20
    time_field = "created_at"
    person_field = "created_by_id"

    def kinds(self):
        return [("task", _("Task"))]

    def base(self, ctx):
        from .models import Task

        about = tasks_about(ctx.targets)
        if about is None:
            return None
        return Task.objects.restrict(ctx.user, "view").filter(about).select_related("owner", "created_by")

    def queryset(self, ctx, filters):
        return self.base(ctx)

    def label(self):
        return _("Task created")

    def who(self, obj):
        return obj.created_by

    def to_item(self, obj, ctx):
        return Item(
            source=self.name, position=Position(getattr(obj, self.time_field), self.rank, obj.pk), kind="task",
            kind_label=self.label(), icon="bi-check2-square", title=obj.title, content=obj.description,
            due=obj.due_at, person=self.who(obj),
            refs=_refs(obj),
            details=[(_("Assignee"), obj.owner or "—"), (_("Priority"), obj.get_priority_display())],
            url=obj.get_absolute_url(), obj=obj,
        )


class TaskCompletedSource(TaskCreatedSource):
    name = "task_completed"
    rank = 30
    time_field = "completed_at"
    # Completing is the assignee's job; the task keeps no separate "completed by".
    person_field = "owner_id"

    def queryset(self, ctx, filters):
        qs = self.base(ctx)
        return None if qs is None else qs.filter(status=TaskStatus.DONE, completed_at__isnull=False)

    def label(self):
        return _("Task completed")

    def who(self, obj):
        return obj.owner

    def to_item(self, obj, ctx):
        item = super().to_item(obj, ctx)
        item.icon, item.content, item.due = "bi-check2-circle", "", None
        return item


class ChangeSource(QuerySetSource):
    """The change history (created, updated, linked...) of the records the timeline covers."""

    name = "change"
    rank = 10
    time_field = "at"
    person_field = "actor_id"

    def kinds(self):
        return [("change", _("Changes"))]

    def queryset(self, ctx, filters):
        from guanxi.core.models import TimelineEvent

        condition = Q()
        for key, ids in ctx.targets.items():
            if ids:
                condition |= Q(record_type=key, record_id__in=ids)
        if not condition:
            return None
        qs = TimelineEvent.objects.filter(condition).select_related("actor")
        if ctx.targets.get(OPPORTUNITY):
            # A deal's stage commands (guanxi.sales.opportunity_services) record `seconds_in_stage` with their
            # change row; StageChangeSource shows those moves, so they are not listed twice.
            qs = qs.exclude(record_type=OPPORTUNITY, data__has_key="seconds_in_stage")
        return qs

    def to_item(self, event, ctx):
        return Item(
            source=self.name, position=Position(event.at, self.rank, event.pk), kind="change",
            kind_label=event.get_kind_display(), icon="bi-pencil-square", title=(event.data or {}).get("label", ""),
            person=event.actor, refs=[(event.record_type, event.record_id)], obj=event,
        )

    def prepare(self, items, ctx):
        """Change rows, with the names of linked records the reader may not see replaced by "—"."""
        from guanxi.customers.models import Account
        from guanxi.sales.models import Lead

        wanted = defaultdict(set)  # model -> ids referenced by foreign-key changes
        rows = []
        for item in items:
            event = item.obj
            model = _model(event.record_type)
            parsed = []
            for name, pair in ((event.data or {}).get("changes") or {}).items():
                label, choices, related = name, {}, None
                if model is not None:
                    try:
                        f = model._meta.get_field(name)
                        label, choices = f.verbose_name, dict(f.flatchoices or ())
                        related = f.related_model if f.is_relation else None
                    except FieldDoesNotExist:
                        pass
                before, after = pair if isinstance(pair, (list, tuple)) and len(pair) == 2 else (None, pair)
                for value in (before, after):
                    if related is not None and isinstance(value, dict) and isinstance(value.get("id"), int):
                        wanted[related].add(value["id"])
                parsed.append((label, choices, related, before, after))
            rows.append(parsed)
        visible = {}
        for model, ids in wanted.items():
            if hasattr(model.objects, "restrict"):
                visible[model] = set(model.objects.restrict(ctx.user, "view").filter(pk__in=ids)
                                     .values_list("pk", flat=True))
        # A lead's conversion names the lead it came from: shown, with a link, when the reader sees the lead.
        converted = {_converted_lead(item.obj) for item in items} - {None}
        lead_urls = {lead.pk: lead.get_absolute_url() for lead in
                     Lead.objects.restrict(ctx.user, "view").filter(pk__in=converted).only("pk")} if converted else {}
        # Linking and unlinking a company keep its name only: shown when the reader sees a company so named.
        linked = {item.title for item in items if item.obj.kind in (TimelineKind.LINKED, TimelineKind.UNLINKED)
                  and item.title and not _is_conversion(item.obj)}
        seen_names = set(Account.objects.restrict(ctx.user, "view").filter(name__in=linked)
                         .values_list("name", flat=True)) if linked else set()
        for item, parsed in zip(items, rows, strict=True):
            if _is_conversion(item.obj):
                lead = _converted_lead(item.obj)
                if lead in lead_urls and item.title:
                    item.title = _("Converted from lead %(lead)s") % {"lead": item.title}
                    item.url = lead_urls[lead]
                else:
                    item.title = _("Converted from a lead")
            elif item.obj.kind in (TimelineKind.LINKED, TimelineKind.UNLINKED) and item.title not in seen_names:
                item.title = "—"
            item.changes = [
                (label, _shown(before, choices, related, visible), _shown(after, choices, related, visible))
                for label, choices, related, before, after in parsed
            ]


def _is_conversion(event):
    """The row a lead's conversion (guanxi.sales.lead_services.lead_convert) leaves on what it became."""
    return event.kind == TimelineKind.LINKED and (event.data or {}).get("command") == "convert"


def _converted_lead(event):
    lead = (event.data or {}).get("lead") if _is_conversion(event) else None
    return lead if isinstance(lead, int) and not isinstance(lead, bool) else None


def _model(type_key):
    try:
        return apps.get_model(type_key)
    except (LookupError, ValueError):
        return None


def _shown(value, choices, related, visible):
    if related is not None and isinstance(value, dict):
        if related in visible and value.get("id") not in visible[related]:
            return "—"
        return value.get("label") or "—"
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = choices.get(value, value)
    if isinstance(value, dict):
        return value.get("label") or ", ".join(f"{k}: {v}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value in (None, "") else value


class StageChangeSource(QuerySetSource):
    """A deal's moves between stages (its StageHistory stays), with the time spent in the stage it left.

    Shown on the deal and, since a company's timeline covers its deals, on the company. Stays carry no
    visibility of their own: the timeline covers only deals the reader may see.
    """

    name = "stage"
    rank = 25
    time_field = "entered_at"
    person_field = "moved_by_id"

    def kinds(self):
        return [("stage", _("Stage changes"))]

    def queryset(self, ctx, filters):
        from guanxi.sales.models import StageHistory

        ids = ctx.targets.get(OPPORTUNITY) or []
        if not ids:
            return None
        return StageHistory.objects.filter(opportunity_id__in=ids).select_related(
            "stage", "moved_by", "opportunity__lost_reason")

    def to_item(self, row, ctx):
        return Item(
            source=self.name, position=Position(row.entered_at, self.rank, row.pk), kind="stage",
            kind_label=_("Stage change"), icon="bi-signpost-split", person=row.moved_by,
            refs=[(OPPORTUNITY, row.opportunity_id)], obj=row,
        )

    def prepare(self, items, ctx):
        """Titles with the previous stage and the days spent there (one query for the page's deals)."""
        from guanxi.sales.choices import StageKind
        from guanxi.sales.models import StageHistory

        stays = defaultdict(list)
        rows = (StageHistory.objects.filter(opportunity_id__in={i.obj.opportunity_id for i in items})
                .select_related("stage").order_by("entered_at", "id"))
        for stay in rows:
            stays[stay.opportunity_id].append(stay)
        for item in items:
            row = item.obj
            earlier = [s for s in stays[row.opportunity_id] if (s.entered_at, s.pk) < (row.entered_at, row.pk)]
            if not earlier:
                item.title = _("Started in %(stage)s") % {"stage": row.stage}
                continue
            previous = earlier[-1]
            days = max(0, ((previous.left_at or row.entered_at) - previous.entered_at).days)
            item.title = ngettext(
                "Moved to %(stage)s after %(days)d day in %(previous)s",
                "Moved to %(stage)s after %(days)d days in %(previous)s", days,
            ) % {"stage": row.stage, "days": days, "previous": previous.stage}
            deal = row.opportunity
            if row.left_at is None and row.stage.kind == StageKind.LOST and deal.lost_reason_id:
                item.details = [(_("Lost reason"), deal.lost_reason)]
                if deal.lost_note:
                    item.content = deal.lost_note


# -- registries ----------------------------------------------------------------------------------

_sources: dict[str, Source] = {}
_related: dict[str, list[Callable]] = defaultdict(list)


def register_source(source: Source) -> Source:
    _sources[source.name] = source
    return source


def register_related(type_key: str, fn: Callable) -> Callable:
    """fn(record, user) -> {type key: [ids]} that a record of `type_key`'s timeline also covers.

    The ids must come through restrict(user, "view"): the timeline trusts them as visible."""
    if fn not in _related[type_key]:
        _related[type_key].append(fn)
    return fn


def sources():
    return sorted(_sources.values(), key=lambda s: -s.rank)


def kind_choices():
    """[(value, label)] of the type filter, from every source (each value once)."""
    seen, choices = set(), []
    for source in sources():
        for value, label in source.kinds():
            if value not in seen:
                seen.add(value)
                choices.append((value, label))
    return choices


def _account_related(account, user):
    from guanxi.customers.models import AccountContact, AccountRelation, Contact

    contacts = list(
        AccountContact.objects.filter(account=account, contact__in=Contact.objects.restrict(user, "view"))
        .order_by("contact_id").values_list("contact_id", flat=True)[:MAX_RELATED]
    )
    relations = list(
        AccountRelation.objects.restrict(user, "view")
        .filter(Q(from_account=account) | Q(to_account=account)).values_list("pk", flat=True)[:MAX_RELATED]
    )
    return {CONTACT: contacts, "customers.accountrelation": relations}


register_source(InteractionSource())
register_source(TaskCompletedSource())
register_source(TaskCreatedSource())
def _account_deals(account, user):
    """A company's timeline also covers its deals (their interactions, tasks, stage changes and changes)."""
    from guanxi.sales.models import Opportunity

    deals = list(Opportunity.objects.restrict(user, "view").filter(account=account).order_by("-pk")
                 .values_list("pk", flat=True)[:MAX_RELATED])
    return {OPPORTUNITY: deals}


def _converted_leads(field):
    """A company's or contact's timeline also covers the leads converted into it (their history before)."""

    def related(record, user):
        from guanxi.sales.models import Lead

        leads = list(Lead.objects.restrict(user, "view").filter(**{field: record}).order_by("-pk")
                     .values_list("pk", flat=True)[:MAX_RELATED])
        return {LEAD: leads} if leads else {}

    related.__name__ = f"_leads_by_{field}"
    return related


def _deal_lead(deal, user):
    """A deal's timeline also covers the lead it was converted from (when the reader may see it)."""
    from guanxi.sales.models import Lead

    if not deal.lead_id:
        return {}
    return {LEAD: list(Lead.objects.restrict(user, "view").filter(pk=deal.lead_id).values_list("pk", flat=True))}


register_source(ChangeSource())
register_source(StageChangeSource())
register_related(ACCOUNT, _account_related)
register_related(ACCOUNT, _account_deals)
register_related(ACCOUNT, _converted_leads("converted_account"))
register_related(CONTACT, _converted_leads("converted_contact"))
register_related(OPPORTUNITY, _deal_lead)


# -- reading -------------------------------------------------------------------------------------


def context_for(record, user):
    """The Context of `record`'s timeline. The record must have been read through restrict(user, "view")."""
    targets = {record.type_key(): [record.pk]}
    for fn in _related.get(record.type_key(), ()):
        for key, ids in fn(record, user).items():
            merged = targets.setdefault(key, [])
            merged.extend(i for i in ids if i not in merged)
    return Context(user=user, record=record, targets=targets)


def timeline_page(record, user, *, filters=None, cursor=None, limit=PAGE_SIZE, context=None):
    """One page of `record`'s timeline as `user` sees it; `cursor` is a Page.next_cursor (BadCursor if not)."""
    filters = filters or Filters()
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    before = Position.decode(cursor) if cursor else None
    ctx = context or context_for(record, user)
    items = []
    for source in sources():
        items.extend(source.fetch(ctx, filters, before, limit + 1))
    items.sort(key=lambda i: i.position, reverse=True)
    page, more = items[:limit], len(items) > limit
    by_source = defaultdict(list)
    for item in page:
        by_source[item.source].append(item)
    for name, group in by_source.items():
        _sources[name].prepare(group, ctx)
    _resolve_about(page, ctx)
    return Page(items=page, next_cursor=page[-1].cursor if more and page else None)


def _resolve_about(items, ctx):
    """Fill item.about with the other records each item is about that the reader may see (a query per type)."""
    own = (ctx.key, ctx.record.pk)
    wanted = defaultdict(set)
    for item in items:
        for ref in item.refs:
            if tuple(ref) != own:
                wanted[ref[0]].add(ref[1])
    found = {}
    for key, ids in wanted.items():
        try:
            rt = registry.get(key)
        except KeyError:
            continue
        qs = rt.model.objects.restrict(ctx.user, "view").filter(pk__in=sorted(ids))
        if rt.select_related:
            qs = qs.select_related(*rt.select_related)
        for obj in qs:
            found[(key, obj.pk)] = Ref(key, obj.pk, rt.verbose_name, str(obj), obj.get_absolute_url())
    for item in items:
        item.about = [found[tuple(ref)] for ref in item.refs if tuple(ref) in found]
