"""Reading the audit log: the auditor's page with filters and CSV export, and each record's History tab."""

import datetime
import json
from collections import defaultdict

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.framework import export, registry
from guanxi.framework.listing import count_rows
from guanxi.framework.registry import Column
from guanxi.framework.validators import MAX_ID, is_id, validate_no_nul
from guanxi.framework.views import change_rows

from .audit import audit_log
from .choices import AuditAction, AuditOutcome
from .decorators import auditor_required
from .models import AuditEvent

PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 20
# Audit bookkeeping itself is not a record type anyone filters by.
NOT_RECORD_TYPES = {"core.auditevent", "core.audithead", "core.timelineevent"}

# Labels of the detail keys the writers use; other keys show under their own name.
DETAIL_LABELS = {
    "operation": gettext_lazy("Operation"),
    "fields": gettext_lazy("Fields"),
    "rows": gettext_lazy("Rows"),
    "row_count": gettext_lazy("Rows"),
    "count": gettext_lazy("Rows"),
    "format": gettext_lazy("Format"),
    "filter": gettext_lazy("Filter"),
    "username": gettext_lazy("User name"),
    "target": gettext_lazy("Shared with"),
    "level": gettext_lazy("Access"),
    "revealed": gettext_lazy("Personal data in clear"),
    "via": gettext_lazy("Where"),
    "kind": gettext_lazy("Kind"),
    "change": gettext_lazy("Change"),
    "permissions": gettext_lazy("Permissions"),
    "prefix": gettext_lazy("Token prefix"),
    "locked_out": gettext_lazy("Locked out"),
    "record_type": gettext_lazy("Record type"),
    "name": gettext_lazy("Name"),
    "field_type": gettext_lazy("Type"),
    "rule": gettext_lazy("Rule"),
    "method": gettext_lazy("Method"),
    "owner": gettext_lazy("Owner"),
    "pool": gettext_lazy("customer pool"),
    "account": gettext_lazy("Company"),
    "contact": gettext_lazy("Contact"),
    "opportunity": gettext_lazy("Deal"),
    "reused_account": gettext_lazy("Existing company used"),
    "reused_contact": gettext_lazy("Existing contact used"),
    "command": gettext_lazy("Operation"),
    "seconds_in_stage": gettext_lazy("Time in the previous stage"),
}
# The commands that wrote a record's history (lead, deal, task, ticket and pool services), in words.
COMMANDS = {
    "assign": gettext_lazy("assign"),
    "convert": gettext_lazy("convert"),
    "set_status": gettext_lazy("change the status"),
    "status": gettext_lazy("change the status"),
    "disqualify": gettext_lazy("disqualify"),
    "requalify": gettext_lazy("requalify"),
    "move": gettext_lazy("move to another stage"),
    "won": gettext_lazy("mark as won"),
    "lost": gettext_lazy("mark as lost"),
    "reopen": gettext_lazy("reopen"),
    "change_pipeline": gettext_lazy("move to another pipeline"),
    "complete": gettext_lazy("complete"),
    "pool_claim": gettext_lazy("claim from the pool"),
    "pool_put": gettext_lazy("put into the pool"),
    "pool_return": gettext_lazy("return to the pool"),
    "pool_reclaim": gettext_lazy("reclaimed to the pool"),
    "renew": gettext_lazy("renew the customer's link"),
    "revoke": gettext_lazy("revoke the customer's link"),
}
ASSIGNMENT_RULES = {"sales.lead": "sales.assignmentrule", "service.ticket": "service.ticketassignmentrule"}
# Detail keys holding the id of another row: its model ("app.model", by the event's record type where the
# key means different things), so that the row's name is shown, never its id.
DETAIL_REFERENCES = {
    "owner": "core.user",
    "pool": "customers.pool",
    "rule": ASSIGNMENT_RULES,
    "account": "customers.account",
    "contact": "customers.contact",
    "opportunity": "sales.opportunity",
}
# Detail keys holding a choice's code: the model whose field of the same name labels it.
DETAIL_CHOICES = {"method": ASSIGNMENT_RULES}
# Bookkeeping the writers store alongside: shown otherwise ("rule_name" is the name of "rule").
HIDDEN_DETAILS = {"changes", "rule_name"}
BULK_OPERATIONS = {
    "create": gettext_lazy("Create"),
    "update": gettext_lazy("Update"),
    "share": gettext_lazy("Share"),
    "unshare": gettext_lazy("Stop sharing"),
    "add": gettext_lazy("Add"),
    "remove": gettext_lazy("Remove"),
    "enable": gettext_lazy("Switch on"),
    "disable": gettext_lazy("Switch off"),
    "assign_owner": gettext_lazy("Assign owner"),
    "add_tag": gettext_lazy("Add tag"),
    "remove_tag": gettext_lazy("Remove tag"),
    "delete": gettext_lazy("Move to recycle bin"),
}


def record_type_choices():
    """(key, label) for every model of Guanxi's apps: audit rows name their record by `app_label.model_name`."""
    choices = []
    for config in apps.get_app_configs():
        if not config.name.startswith("guanxi."):
            continue
        for model in config.get_models():
            key = f"{model._meta.app_label}.{model._meta.model_name}"
            if key not in NOT_RECORD_TYPES:
                choices.append((key, capfirst(model._meta.verbose_name_plural)))
    return sorted(choices, key=lambda c: str(c[1]))


def record_type_label(key):
    try:
        return capfirst(apps.get_model(key)._meta.verbose_name)
    except (LookupError, ValueError):
        return key


class AuditFilterForm(forms.Form):
    since = forms.DateTimeField(
        label=gettext_lazy("From"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    until = forms.DateTimeField(
        label=gettext_lazy("Until"), required=False,
        help_text=gettext_lazy("A date alone includes that whole day."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    user = forms.ModelChoiceField(label=gettext_lazy("User"), required=False, queryset=get_user_model().objects.none())
    action = forms.ChoiceField(label=gettext_lazy("Event"), required=False)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), required=False)
    record_type = forms.ChoiceField(label=gettext_lazy("Record type"), required=False)
    record_id = forms.IntegerField(label=gettext_lazy("Record ID"), required=False, min_value=1, max_value=MAX_ID)
    q = forms.CharField(label=gettext_lazy("Record name contains"), required=False, max_length=200,
                        validators=[validate_no_nul])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["user"].queryset = get_user_model().objects.order_by("username")
        self.fields["user"].label_from_instance = lambda u: (
            u.username if str(u) == u.username else f"{u.username} ({u})")
        self.fields["user"].empty_label = _("All")
        self.fields["action"].choices = every + list(AuditAction.choices)
        self.fields["outcome"].choices = every + list(AuditOutcome.choices)
        self.fields["record_type"].choices = every + record_type_choices()
        for field in self.fields.values():
            kind = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", f"{kind} {kind}-sm")

    def clean_until(self):
        until = self.cleaned_data.get("until")
        raw = (self.data.get("until") or "").strip()
        if until is not None and len(raw) == 10:  # "2025-03-01": up to the end of that day
            until += datetime.timedelta(days=1)
        return until

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", _("The end of the time range must be after its start."))
        return data

    def apply(self, qs):
        data = self.cleaned_data
        if data.get("since"):
            qs = qs.filter(at__gte=data["since"])
        if data.get("until"):
            qs = qs.filter(at__lt=data["until"])
        if data.get("user"):
            qs = qs.filter(actor_id=data["user"].pk)
        for name in ("action", "outcome", "record_type", "record_id"):
            if data.get(name) not in (None, ""):
                qs = qs.filter(**{name: data[name]})
        if data.get("q"):
            qs = qs.filter(record_label__icontains=data["q"])
        return qs

    @property
    def is_filtered(self):
        return any(v not in (None, "") for v in self.cleaned_data.values())

    def description(self):
        """The filter as plain JSON for the export's own audit row."""
        described = {}
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            if isinstance(value, datetime.datetime):
                value = value.astimezone(datetime.UTC).isoformat()
            elif name == "user":
                value = value.username
            described[name] = value
        return described


# Fixed words the writers store in details ("via", "kind"), shown in the reader's language.
DETAIL_WORDS = {
    "edit form": gettext_lazy("edit form"),
    "api": gettext_lazy("API"),
    "calendar feed": gettext_lazy("calendar feed"),
    # Ticket assignments without a rule.
    "manual": gettext_lazy("by hand"),
    "creator_team": gettext_lazy("queue of the creator's team"),
}


def _detail_value(key, value):
    if key == "command" and isinstance(value, str):
        return COMMANDS.get(value, value)
    if key == "seconds_in_stage" and isinstance(value, (int, float)) and not isinstance(value, bool):
        now = timezone.now()
        return timesince(now - datetime.timedelta(seconds=value), now, depth=2)
    if key in ("operation", "change"):
        return BULK_OPERATIONS.get(value, value)
    if key in ("via", "kind", "method") and isinstance(value, str):
        return DETAIL_WORDS.get(value, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "level" and isinstance(value, list):
        from .choices import ShareLevel

        return " → ".join(str(ShareLevel(v).label) if v in ShareLevel.values else "—" for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_detail_value(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def _model(key, record_type, table):
    """The model `table` names for detail `key` of an event on `record_type`, or None."""
    label = table.get(key)
    if isinstance(label, dict):
        label = label.get(record_type)
    try:
        return apps.get_model(label) if label else None
    except (LookupError, ValueError):
        return None


def _is_ref(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _reference_names(events, user):
    """{(model, id): name} of the rows the events' details name by id, one query per model. Records the
    reader may not see are left out (shown as "—")."""
    wanted = defaultdict(set)
    for e in events:
        data = e.data or {}
        for key, value in data.items():
            if key == "rule" and data.get("rule_name"):
                continue  # the name it had then is stored with it
            model = _model(key, e.record_type, DETAIL_REFERENCES)
            if model is not None and _is_ref(value):
                wanted[model].add(value)
    names = {}
    for model, ids in wanted.items():
        manager = model.objects
        qs = manager.restrict(user, "view") if hasattr(manager, "restrict") else manager.all()
        names.update(((model, obj.pk), str(obj)) for obj in qs.filter(pk__in=ids))
    return names


def _field_label(model, name):
    try:
        return str(capfirst(model._meta.get_field(name).verbose_name)) if model is not None else name
    except FieldDoesNotExist:
        return name  # not a model field (an export column such as custom fields): its own name


def detail_items(e, names):
    """(label, value) of an event's details: references by name, choices and field names in the reader's
    language; `names` comes from _reference_names()."""
    data = e.data or {}
    try:
        record_model = apps.get_model(e.record_type) if e.record_type else None
    except (LookupError, ValueError):
        record_model = None
    items = []
    for key, value in data.items():
        if key in HIDDEN_DETAILS or key.endswith("_id"):
            continue
        label = DETAIL_LABELS.get(key, key)
        model = _model(key, e.record_type, DETAIL_REFERENCES)
        if key == "rule" and data.get("rule_name"):
            value = data["rule_name"]
        elif model is not None and (value is None or _is_ref(value)):
            if value is None:
                continue  # nobody, no pool: nothing to say
            value = names.get((model, value), "—")
        elif key == "fields" and isinstance(value, list):
            value = ", ".join(_field_label(record_model, v) if isinstance(v, str) else str(v) for v in value)
        else:
            choices = _model(key, e.record_type, DETAIL_CHOICES)
            if choices is not None and isinstance(value, str):
                value = dict(choices._meta.get_field(key).flatchoices).get(value, value)
            value = _detail_value(key, value)
        items.append((label, value))
    return items


def annotate(events, user, *, links=True):
    """Add what the templates show: readable field changes and other details, record type and link."""
    visible = set()
    if links:
        ids = defaultdict(set)
        for e in events:
            if e.record_type and e.record_id:
                ids[e.record_type].add(e.record_id)
        for key, pks in ids.items():
            try:
                rt = registry.get(key)
            except KeyError:
                continue
            # Live records only: the detail page of a record in the recycle bin answers 404.
            for pk in rt.model.objects.restrict(user, "view").filter(pk__in=pks).values_list("pk", flat=True):
                visible.add((key, pk))
    names = _reference_names(events, user)
    for e in events:
        # A create lists every field; the empty ones ("—" → "—") say nothing.
        e.change_rows = [(label, before, after) for label, before, after in change_rows(e) if before != after]
        e.detail_items = detail_items(e, names)
        e.type_label = record_type_label(e.record_type) if e.record_type else ""
        e.record_url = None
        if (e.record_type, e.record_id) in visible:
            try:
                e.record_url = reverse(registry.get(e.record_type).url_name("detail"), args=[e.record_id])
            except NoReverseMatch:
                pass
    return events


def _page(qs, before, after, size):
    """Keyset pages, newest first: (rows, has_newer, has_older). Deep pages cost what the first one does."""
    if after is not None:
        newer = list(qs.filter(pk__gt=after).order_by("pk")[: size + 1])
        if len(newer) > size:
            rows = newer[:size][::-1]
            return rows, True, qs.filter(pk__lt=rows[-1].pk).exists()
        before = None  # fewer than a page is newer: show the newest page
    base = qs.filter(pk__lt=before) if before is not None else qs
    rows = list(base.order_by("-pk")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    has_newer = before is not None and qs.filter(pk__gte=before).exists()
    return rows, has_newer, has_older


def _cursor(request, name):
    """A keyset cursor from the query string: None when absent; raises ValueError when malformed."""
    raw = request.GET.get(name, "")
    if raw == "":
        return None
    if not is_id(raw):
        raise ValueError(name)
    return int(raw)


@auditor_required
def audit_log_view(request):
    form = AuditFilterForm(request.GET or None)
    status = 200
    try:
        before, after = _cursor(request, "before"), _cursor(request, "after")
    except ValueError:
        return HttpResponseBadRequest(_("Invalid page position."))
    qs = AuditEvent.objects.select_related("actor")
    if form.is_bound and not form.is_valid():
        qs, status = qs.none(), 400
    elif form.is_bound:
        qs = form.apply(qs)
    rows, has_newer, has_older = _page(qs, before, after, PAGE_SIZE)
    query = request.GET.copy()
    for name in ("before", "after"):
        query.pop(name, None)
    context = {
        "form": form,
        "events": annotate(rows, request.user),
        "count": count_rows(qs, filtered=form.is_bound and form.is_valid() and form.is_filtered),
        "has_newer": has_newer,
        "has_older": has_older,
        "newer": rows[0].pk if rows else None,
        "older": rows[-1].pk if rows else None,
        "query": query.urlencode(),
    }
    return render(request, "core/audit/list.html", context, status=status)


def _export_columns():
    # The file streams after the view returns: resolve the reader's time zone and language now.
    tz = timezone.get_current_timezone()
    actions = {value: str(label) for value, label in AuditAction.choices}
    outcomes = {value: str(label) for value, label in AuditOutcome.choices}
    return [
        Column("id", "ID", accessor="pk"),
        Column("at", _("Time (%(zone)s)") % {"zone": tz.key if hasattr(tz, "key") else str(tz)},
               accessor=lambda e: e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")),
        Column("at_utc", _("Time (UTC)"), accessor=lambda e: e.at.astimezone(datetime.UTC).isoformat()),
        Column("user", _("User"), accessor="actor_label"),
        Column("action", _("Event"), accessor=lambda e: actions.get(e.action, e.action)),
        Column("outcome", _("Outcome"), accessor=lambda e: outcomes.get(e.outcome, e.outcome)),
        Column("record_type", _("Record type"), accessor="record_type"),
        Column("record_id", _("Record ID"), accessor="record_id"),
        Column("record", _("Record"), accessor="record_label"),
        Column("ip", _("IP address"), accessor="ip"),
        Column("user_agent", _("User agent"), accessor="user_agent"),
        Column("details", _("Details"),
               accessor=lambda e: json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data else ""),
    ]


@auditor_required
def audit_export(request):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label if k in form.fields else k}: {' '.join(v)}"
                           for k, v in form.errors.items())
        return HttpResponseBadRequest(_("Invalid filter: %(errors)s") % {"errors": errors})
    # Freeze the rows before this export's own row is written, so the count matches the file.
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    qs = form.apply(AuditEvent.objects.filter(pk__lte=last)).order_by("-pk")
    n = qs.count()
    audit_log(actor=request.user, action=AuditAction.AUDIT_EXPORT,
              data={"filter": form.description(), "rows": n, "format": "csv"})
    return export.response(qs, _export_columns(), "csv", filename="audit-log")


@login_required
def record_history(request, type_key, pk):
    """A record's audit rows for its History tab (htmx partial): anyone who may view the record."""
    try:
        rt = registry.get(type_key)
    except KeyError:
        raise Http404
    obj = get_object_or_404(rt.model.all_objects.restrict(request.user, "view"), pk=pk)
    try:
        before = _cursor(request, "before")
    except ValueError:
        return HttpResponseBadRequest(_("Invalid page position."))
    qs = AuditEvent.objects.filter(record_type=rt.key, record_id=obj.pk).select_related("actor")
    rows, _newer, has_older = _page(qs, before, None, HISTORY_PAGE_SIZE)
    context = {
        "object": obj,
        "rt": rt,
        "events": annotate(rows, request.user, links=False),
        "has_older": has_older,
        "older": rows[-1].pk if rows else None,
        "continued": before is not None,
    }
    return render(request, "core/audit/_history.html", context)
