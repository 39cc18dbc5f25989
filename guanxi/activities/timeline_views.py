"""Pages and htmx partials of a record's activity: the unified timeline (filters, infinite scroll), the
quick-log form and the follow-up summary; and the activity panel the company and contact pages include."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.core import access
from guanxi.framework import registry

from . import timeline
from .models import Interaction
from .quicklog import LOG_TARGETS, QuickLogForm
from .selectors import follow_up
from .services import interaction_log


class TimelineFilterForm(forms.Form):
    kind = forms.MultipleChoiceField(required=False, label=gettext_lazy("Type"))
    person = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                    label=gettext_lazy("Person"))
    since = forms.DateField(required=False, label=gettext_lazy("From"))
    until = forms.DateField(required=False, label=gettext_lazy("Until"))
    cursor = forms.CharField(required=False, max_length=64)

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and hasattr(data, "getlist"):
            # The filter form's "All types" option sends kind=""; it means no type filter.
            data = data.copy()
            data.setlist("kind", [k for k in data.getlist("kind") if k])
        super().__init__(data, *args, **kwargs)
        self.fields["kind"].choices = timeline.kind_choices()
        self.fields["person"].queryset = get_user_model().objects.order_by("-is_active", "username")

    def clean_cursor(self):
        value = self.cleaned_data.get("cursor") or ""
        if value:
            try:
                timeline.Position.decode(value)
            except timeline.BadCursor:
                raise ValidationError(_("Invalid position in the timeline.")) from None
        return value

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise ValidationError(_("The start of the period is after its end."))
        return cleaned

    def filters(self):
        cd = self.cleaned_data
        person = cd.get("person")
        return timeline.make_filters(kinds=cd.get("kind") or (), person=person.pk if person else None,
                                     since=cd.get("since"), until=cd.get("until"))

    def query(self, **extra):
        """The filters as a query string (for the next page's URL)."""
        cd = self.cleaned_data
        params = [("kind", k) for k in cd.get("kind") or ()]
        if cd.get("person"):
            params.append(("person", cd["person"].pk))
        for name in ("since", "until"):
            if cd.get(name):
                params.append((name, cd[name].isoformat()))
        params.extend(extra.items())
        return urlencode(params)


def _record(request, type_key, pk, types=None):
    """The record of a timeline URL, read through the user's scope (404 otherwise)."""
    if types is not None and type_key not in types:
        raise Http404
    try:
        rt = registry.get(type_key)
    except KeyError:
        raise Http404 from None
    return get_object_or_404(rt.model.objects.restrict(request.user, "view"), pk=pk)


def _timeline_context(record, user, form, page):
    url = reverse("activities:timeline", args=[record.type_key(), record.pk])
    next_url = f"{url}?{form.query(cursor=page.next_cursor)}" if page.next_cursor else ""
    return {"object": record, "timeline_page": page, "next_url": next_url}


@login_required
@require_GET
def timeline_items(request, type_key, pk):
    """A page of the timeline as <li> items: the filter form swaps them in, the last item loads the next."""
    record = _record(request, type_key, pk)
    form = TimelineFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(m for errs in form.errors.values() for m in errs))
    page = timeline.timeline_page(record, request.user, filters=form.filters(),
                                  cursor=form.cleaned_data["cursor"] or None)
    context = _timeline_context(record, request.user, form, page)
    context["first_page"] = not form.cleaned_data["cursor"]
    return render(request, "activities/timeline/_items.html", context)


def _summary_context(record, user, ctx=None):
    ctx = ctx or timeline.context_for(record, user)
    return {"object": record, "follow_up": follow_up(user, ctx.targets),
            "summary_url": reverse("activities:follow_up", args=[record.type_key(), record.pk])}


@login_required
@require_GET
def follow_up_summary(request, type_key, pk):
    record = _record(request, type_key, pk, LOG_TARGETS)
    return render(request, "activities/_follow_up.html", _summary_context(record, request.user))


def _log_context(record, form, logged=None):
    return {"object": record, "log_form": form, "logged": logged,
            "log_url": reverse("activities:interaction_quick_log", args=[record.type_key(), record.pk])}


@login_required
@require_http_methods(["GET", "POST"])
def interaction_quick_log(request, type_key, pk):
    """Log an interaction from a company, contact, lead or deal page. With htmx: the form comes back (empty after
    success, with its errors and 422 otherwise) and the timeline and summary refresh themselves."""
    record = _record(request, type_key, pk, LOG_TARGETS)
    if not access.allows(request.user, "add", Interaction):
        raise PermissionDenied(_("Your role does not allow logging interactions."))
    if request.method == "GET":
        return render(request, "activities/_quick_log.html",
                      _log_context(record, QuickLogForm(record=record, user=request.user)))
    form = QuickLogForm(request.POST, record=record, user=request.user)
    logged = None
    if form.is_valid():
        try:
            logged = interaction_log(actor=request.user, **form.log_kwargs())
        except ValidationError as e:
            form.add_error(None, e)
    if logged is None:
        template = "activities/_quick_log.html" if request.htmx else "activities/quick_log_page.html"
        return render(request, template, _log_context(record, form), status=422)
    if not request.htmx:
        messages.success(request, _("%(kind)s logged.") % {"kind": logged.get_kind_display()})
        return redirect(record.get_absolute_url())
    response = render(request, "activities/_quick_log.html",
                      _log_context(record, QuickLogForm(record=record, user=request.user), logged=logged))
    response["HX-Trigger"] = "timeline-changed"
    return response


def activity_panel(record, request):
    """Context for the activity cards of a record page (summary, quick log, timeline's first page)."""
    user = request.user
    ctx = timeline.context_for(record, user)
    form = TimelineFilterForm({})
    form.is_valid()
    page = timeline.timeline_page(record, user, context=ctx)
    panel = {
        # Filters pay off on a customer's long history; a single record's own changes are few.
        "timeline_filters": record.type_key() in LOG_TARGETS,
        "filter_form": form,
        "kind_choices": timeline.kind_choices(),
        "people": get_user_model().objects.filter(is_active=True).order_by("username"),
        "timeline_url": reverse("activities:timeline", args=[record.type_key(), record.pk]),
        **_timeline_context(record, user, form, page),
    }
    if record.type_key() in LOG_TARGETS:
        panel.update(_summary_context(record, user, ctx))
        if access.allows(user, "add", Interaction):
            panel.update(_log_context(record, QuickLogForm(record=record, user=user)))
    return panel


def interaction_detail_context(obj, request):
    """The interaction page: its fields with the company, contact, lead or deal shown only when the reader
    may see them (it is visible through any of them), who took part, and its own timeline."""
    from guanxi.customers.models import Contact

    from .records import INTERACTION
    from .selectors import FILED_UNDER

    user = request.user
    hidden = set()
    for name in FILED_UNDER.values():
        pk = getattr(obj, f"{name}_id")
        model = Interaction._meta.get_field(name).related_model
        if pk and not model.objects.restrict(user, "view").filter(pk=pk).exists():
            hidden.add(name)
    fields = []
    for name in INTERACTION.detail_fields:
        if name == "content":
            continue
        model_field = Interaction._meta.get_field(name)
        display = getattr(obj, f"get_{name}_display", None)
        value = "—" if name in hidden else (display() if display else getattr(obj, name))
        url = getattr(value, "get_absolute_url", None) if name in ("account", "contact", "lead", "opportunity") \
            else None
        fields.append((model_field.verbose_name, value, url, "", False))
    return {
        "fields": fields,
        "participant_contacts": obj.participant_contacts.filter(
            pk__in=Contact.objects.restrict(user, "view").values("pk")).order_by("name"),
        "participant_users": obj.participant_users.order_by("username"),
        **activity_panel(obj, request),
    }
