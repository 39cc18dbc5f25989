"""Generic record views: one list, detail, edit, delete, export and bulk view, parameterised per record type."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction
from guanxi.core.masking import revealed_fields, sensitive_fields

from . import customfields, export, registry, services
from .errors import Conflict
from .listing import BadOrdering, count_rows, parse_ordering
from .redaction import prepare_for_display
from .registry import Column
from .validators import is_id

PAGE_SIZES = (25, 50, 100)


def custom_columns(rt, definitions):
    return [
        Column(
            name=f"cf_{d.name}", label=d.label,
            accessor=(lambda obj, d=d: customfields.display_value(d, (obj.custom or {}).get(d.name))),
            order_by=(f"custom__{d.name}",),
        )
        for d in definitions
    ]


class RecordViewMixin:
    rt: registry.RecordType = None

    def columns(self, definitions):
        return list(self.rt.columns) + custom_columns(self.rt, definitions)

    def get_object(self, request, pk, action="view"):
        return get_object_or_404(self.rt.base_queryset(request.user, action), pk=pk)

    def require(self, request, action):
        """Type-level actions (add, export): a role without them gets 403 (no record is involved)."""
        if not access.allows(request.user, action, self.rt.model):
            raise PermissionDenied(_("Your role does not allow this."))

    def type_actions(self, request):
        return {a for a in access.ACTIONS if access.allows(request.user, a, self.rt.model)}


@method_decorator(login_required, name="dispatch")
class RecordListView(RecordViewMixin, View):
    template_name = "framework/list.html"

    def filtered(self, request, action="view"):
        """(filterset, ordered queryset) for the request's filters and ordering; raises BadOrdering."""
        fs = self.rt.filterset_class(request.GET, queryset=self.rt.base_queryset(request.user, action), request=request)
        qs = fs.qs if fs.is_valid() else fs.queryset.none()
        ordering = parse_ordering(self.rt, request.GET.get("sort")) or parse_ordering(self.rt, self.rt.default_ordering)
        return fs, qs.order_by(*ordering)

    def chosen_columns(self, request, all_columns):
        names = {c.name for c in all_columns}
        prefs = request.user.preferences.setdefault("columns", {})
        if "cols" in request.GET:
            chosen = [c for c in request.GET.getlist("cols") if c in names]
            if chosen and prefs.get(self.rt.key) != chosen:
                prefs[self.rt.key] = chosen
                request.user.save(update_fields=["preferences"])
        chosen = prefs.get(self.rt.key) or self.rt.default_columns
        return [c for c in all_columns if c.name in chosen] or [all_columns[0]]

    def get(self, request):
        try:
            fs, qs = self.filtered(request)
        except BadOrdering as e:
            return HttpResponseBadRequest(str(e))
        all_columns = self.columns(fs.custom_definitions)
        columns = self.chosen_columns(request, all_columns)
        default_size = settings.GUANXI_PAGE_SIZE if settings.GUANXI_PAGE_SIZE in PAGE_SIZES else PAGE_SIZES[0]
        try:
            per_page = int(request.GET.get("per_page", default_size))
            page = max(1, int(request.GET.get("page", 1)))
        except ValueError:
            per_page, page = default_size, 1
        per_page = per_page if per_page in PAGE_SIZES else default_size
        rows = list(qs[(page - 1) * per_page : page * per_page + 1])
        has_next = len(rows) > per_page
        rows = prepare_for_display(rows[:per_page], request.user)
        count = count_rows(qs, filtered=fs.is_filtered)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "rt": self.rt,
            "filterset": fs,
            "columns": columns,
            "all_columns": all_columns,
            "rows": [(obj, [c.value(obj) for c in columns]) for obj in rows],
            "count": count,
            "page": page,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "has_next": has_next,
            "has_prev": page > 1,
            "query": query.urlencode(),
            "sort": request.GET.get("sort", self.rt.default_ordering),
            "saved_views": request.user.saved_views.filter(record_type=self.rt.key),
            "users": access.assignable_users(request.user, self.rt.model),
            "allowed": self.type_actions(request),
        }
        if request.htmx and request.htmx.target == "record-table":
            return render(request, "framework/_table.html", context)
        return render(request, self.template_name, context)


@method_decorator(login_required, name="dispatch")
class RecordDetailView(RecordViewMixin, View):
    def get(self, request, pk):
        obj = self.get_object(request, pk)
        allowed = {a for a in ("change", "delete", "reveal") if access.can(request.user, a, obj)}
        definitions = customfields.definitions_for(self.rt.model)
        sensitive = sensitive_fields(self.rt.model)
        revealable = set(revealed_fields(obj)) if "reveal" in allowed else set()
        prepare_for_display([obj], request.user)
        fields = []
        for name in self.rt.detail_fields:
            field = self.rt.model._meta.get_field(name)
            display = getattr(obj, f"get_{name}_display", None)
            # A required link the viewer may not see was redacted to None (a deal's hidden company).
            value = display() if display else getattr(obj, name, None)
            fields.append((field.verbose_name, value, _link_for(value, request.user),
                           name if name in revealable else "", name in sensitive))
        custom = [(d.label, customfields.display_value(d, (obj.custom or {}).get(d.name))) for d in definitions]
        context = {
            "rt": self.rt,
            "object": obj,
            "allowed": allowed,
            "fields": fields,
            "custom": custom,
            "timeline": timeline_for([(obj.type_key(), [obj.pk])]),
        }
        if self.rt.detail_context:
            context.update(self.rt.detail_context(obj, request))
        return render(request, self.rt.detail_template, context)


def _link_for(value, user):
    """The page of a linked value, when the viewer may open it. Records the viewer may not see were
    redacted to None already; others (a customer pool) say so themselves through `viewable_by(user)`."""
    url = getattr(value, "get_absolute_url", None)
    if url is None or not getattr(value, "viewable_by", lambda user: True)(user):
        return None
    return url


def timeline_for(targets, limit=50):
    """Timeline events of several records, newest first: targets = [(type_key, [ids])]."""
    from django.db.models import Q

    from guanxi.core.models import TimelineEvent

    condition = Q()
    for key, ids in targets:
        if ids:
            condition |= Q(record_type=key, record_id__in=ids)
    if not condition:
        return []
    events = list(TimelineEvent.objects.filter(condition).select_related("actor")[:limit])
    for event in events:
        event.change_rows = change_rows(event)
        try:
            event.type_label = registry.get(event.record_type).verbose_name
        except KeyError:
            event.type_label = ""
    return events


def change_rows(event):
    """(label, before, after) for each changed field, labelled in the reader's language."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    changes = (event.data or {}).get("changes") or {}
    try:
        model = apps.get_model(event.record_type)
    except (LookupError, ValueError):
        model = None
    rows = []
    for name, (before, after) in changes.items():
        label, choices = name, {}
        if model is not None:
            try:
                field = model._meta.get_field(name)
                label, choices = field.verbose_name, dict(field.flatchoices or ())
            except FieldDoesNotExist:
                pass
        # Tag changes are lists, which cannot be choice keys (and dict.get would raise on them).
        before, after = (choices.get(v, v) if isinstance(v, (str, int)) else v for v in (before, after))
        rows.append((label, _display(before), _display(after)))
    return rows


def _display(value):
    if isinstance(value, dict):
        return value.get("label") or ", ".join(f"{k}: {v}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value in (None, "") else value


@method_decorator(login_required, name="dispatch")
class RecordEditView(RecordViewMixin, View):
    template_name = "framework/form.html"

    def get_form(self, request, obj=None):
        data = request.POST if request.method == "POST" else None
        kwargs = {"instance": obj, "user": request.user}
        if obj is None and data is None:
            # Prefill from the query string, e.g. "Add subsidiary" links pass ?parent=<id>.
            kwargs["initial"] = {k: v[:200] for k, v in request.GET.items()}
        return self.rt.form_class(data, **kwargs)

    def load(self, request, pk):
        if pk:
            return self.get_object(request, pk, "change")
        self.require(request, "add")
        return None

    def get(self, request, pk=None):
        obj = self.load(request, pk)
        form = self.get_form(request, obj)
        if obj is not None and form.shown_sensitive:
            # The edit form shows personal data in clear to users who may reveal it: that is a reveal.
            audit_log(actor=request.user, action=AuditAction.REVEAL, obj=obj,
                      data={"fields": form.shown_sensitive, "via": "edit form"})
        return self.render_form(request, form, obj)

    def render_form(self, request, form, obj, status=200):
        context = {"rt": self.rt, "form": form, "object": obj}
        if obj:
            context["validate_url"] = reverse(self.rt.url_name("validate"), args=[obj.pk])
        else:
            context["validate_url"] = reverse(self.rt.url_name("validate_new"))
        return render(request, self.template_name, context, status=status)

    def post(self, request, pk=None):
        obj = self.load(request, pk)
        form = self.get_form(request, obj)
        if not form.is_valid():
            return self.render_form(request, form, obj, status=422)
        try:
            if obj is None:
                obj = services.create_for(self.rt)(actor=request.user, fields=form.model_fields(),
                                                   related=form.related())
                messages.success(
                    request, _("%(type)s “%(name)s” created.") % {"type": capfirst(self.rt.verbose_name), "name": obj}
                )
            else:
                (self.rt.update or services.record_update)(
                    obj=obj, actor=request.user, fields=form.model_fields(), related=form.related(),
                    version=form.cleaned_data.get("version") or obj.version,
                )
                messages.success(request, _("Changes saved."))
        except Conflict:
            form.add_error(None, _("Someone else changed this record while you were editing. Reload it and try again."))
            return self.render_form(request, form, obj, status=409)
        except ValidationError as e:
            form.add_error(None, e)
            return self.render_form(request, form, obj, status=422)
        return redirect(obj.get_absolute_url())


@method_decorator(login_required, name="dispatch")
class RecordValidateView(RecordEditView):
    """Inline validation: the errors of one field, rendered for htmx to swap in while the user types."""

    def get(self, request, pk=None):
        raise Http404

    def post(self, request, pk=None):
        obj = self.load(request, pk)
        form = self.get_form(request, obj)
        field = request.GET.get("field", "")
        form.is_valid()
        errors = form.errors.get(field, []) if field in form.fields else []
        return render(request, "framework/_field_errors.html", {"errors": errors, "field": field})


@method_decorator(login_required, name="dispatch")
class RecordDeleteView(RecordViewMixin, View):
    def get(self, request, pk):
        obj = self.get_object(request, pk, "delete")
        return render(request, "framework/confirm_delete.html", {"rt": self.rt, "object": obj})

    def post(self, request, pk):
        obj = self.get_object(request, pk, "delete")
        services.record_delete(obj=obj, actor=request.user)
        messages.success(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                _("“%(name)s” moved to the recycle bin.") % {"name": obj},
                reverse("trash"), _("Open the recycle bin"),
            ),
        )
        return redirect(self.rt.url_name("list"))


@method_decorator(login_required, name="dispatch")
class RecordExportView(RecordListView):
    def get(self, request):
        self.require(request, "export")
        try:
            fs, qs = self.filtered(request, action="export")
        except BadOrdering as e:
            return HttpResponseBadRequest(str(e))
        fmt = request.GET.get("format", "csv")
        if fmt not in ("csv", "xlsx"):
            return HttpResponseBadRequest(_("Unknown export format."))
        reveal = request.GET.get("reveal") == "1" and bool(sensitive_fields(self.rt.model))
        if reveal:
            # Clear values only for the rows the user may reveal (a reveal scope can be narrower).
            self.require(request, "reveal")
            qs = qs.filter(pk__in=self.rt.model.objects.restrict(request.user, "reveal").values("pk"))
        columns = [Column("id", "ID")] + self.columns(fs.custom_definitions)
        query = request.GET.copy()
        query.pop("format", None)
        audit_log(actor=request.user, action=AuditAction.EXPORT, record_type=self.rt.key,
                  label=str(self.rt.verbose_name_plural),
                  data={"format": fmt, "fields": [c.name for c in columns], "rows": qs.count(),
                        "filter": query.urlencode()[:1000], "revealed": reveal})
        def prepare(objs):
            prepare_for_display(objs, request.user, reveal=reveal)

        return export.response(qs, columns, fmt, filename=str(self.rt.model._meta.model_name), prepare=prepare)


@method_decorator(login_required, name="dispatch")
class RecordBulkView(RecordListView):
    ACTION_PERMISSION = {"delete": "delete", "assign_owner": "assign", "add_tag": "change", "remove_tag": "change"}

    def post(self, request):
        action = request.POST.get("action", "")
        back = request.POST.get("next") or reverse(self.rt.url_name("list"))
        if action not in self.rt.bulk_actions:
            messages.error(request, _("Unknown bulk action."))
            return redirect(back)
        permission = self.ACTION_PERMISSION[action]
        if request.POST.get("all_matching") == "1":
            request.GET = request.POST  # the list filters travel with the form
            try:
                _fs, qs = self.filtered(request, action=permission)
            except BadOrdering as e:
                return HttpResponseBadRequest(str(e))
        else:
            ids = [i for i in request.POST.getlist("ids") if is_id(i)]
            qs = self.rt.base_queryset(request.user, permission).filter(pk__in=ids)
        owner = None
        if action == "assign_owner":
            owner_pk = request.POST.get("owner", "")
            owner = get_user_model().objects.filter(is_active=True, pk=owner_pk).first() if is_id(owner_pk) else None
        try:
            n = services.records_bulk(
                rt=self.rt, actor=request.user, queryset=qs, action=action, owner=owner, tag=request.POST.get("tag")
            )
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
            return redirect(back)
        messages.success(request, _("%(n)d records updated.") % {"n": n})
        return redirect(back)


@login_required
@require_POST
def saved_view_create(request, type_key):
    from guanxi.core.models import SavedView

    rt = registry.get(type_key)
    name = request.POST.get("name", "").strip()[:100]
    query = request.POST.get("query", "")[:2000]
    back = reverse(rt.url_name("list")) + ("?" + query if query else "")
    if not name or "\x00" in name:
        messages.error(request, _("Give the view a name."))
        return redirect(back)
    columns = request.user.preferences.get("columns", {}).get(rt.key, [])
    SavedView.objects.update_or_create(
        user=request.user, record_type=rt.key, name=name, defaults={"query": query, "columns": columns}
    )
    messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return redirect(back)


@login_required
@require_POST
def saved_view_delete(request, type_key, view_pk):
    rt = registry.get(type_key)
    get_object_or_404(request.user.saved_views, pk=view_pk, record_type=rt.key).delete()
    return redirect(rt.url_name("list"))


@login_required
def autocomplete(request, type_key):
    try:
        rt = registry.get(type_key)
    except KeyError:
        raise Http404
    q = request.GET.get("q", "").strip()[:100]
    qs = rt.base_queryset(request.user, "view")
    if q:
        qs = rt.filterset_class({"q": q}, queryset=qs).qs
    qs = qs.order_by(*parse_ordering(rt, rt.default_ordering))[:20]
    return JsonResponse({"results": [{"value": str(o.pk), "text": str(o)} for o in qs]})


@login_required
def trash(request):
    sections = []
    for rt in registry.all_types():
        if not access.allows(request.user, "view", rt.model):
            continue
        qs = rt.model.all_objects.restrict(request.user, "view").filter(deleted_at__isnull=False)
        items = list(qs.select_related("deleted_by").order_by("-deleted_at")[:100])
        restorable = set(
            rt.model.all_objects.restrict(request.user, "delete").filter(pk__in=[o.pk for o in items])
            .values_list("pk", flat=True)
        )
        sections.append((rt, [(obj, obj.pk in restorable) for obj in items]))
    return render(request, "framework/trash.html", {"sections": sections, "can_purge": access.is_admin(request.user)})


def _trashed(request, type_key, pk, action):
    try:
        rt = registry.get(type_key)
    except KeyError:
        raise Http404
    qs = rt.model.all_objects.restrict(request.user, action).filter(deleted_at__isnull=False)
    return rt, get_object_or_404(qs, pk=pk)


@login_required
@require_POST
def trash_restore(request, type_key, pk):
    rt, obj = _trashed(request, type_key, pk, "delete")
    try:
        services.record_restore(obj=obj, actor=request.user)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("trash")
    messages.success(request, _("“%(name)s” restored.") % {"name": obj})
    return redirect(obj.get_absolute_url())


@login_required
@require_POST
def trash_purge(request, type_key, pk):
    if not access.is_admin(request.user):
        raise Http404
    rt, obj = _trashed(request, type_key, pk, "delete")
    services.record_purge(obj=obj, actor=request.user)
    messages.success(request, _("“%(name)s” permanently deleted.") % {"name": obj})
    return redirect("trash")


@login_required
@require_POST
def reveal(request, type_key, pk, field):
    """Show one sensitive value in clear (htmx swaps it in); an explicit, audited action."""
    try:
        rt = registry.get(type_key)
    except KeyError:
        raise Http404
    if field not in sensitive_fields(rt.model):
        raise Http404
    obj = get_object_or_404(rt.model.objects.restrict(request.user, "reveal"), pk=pk)
    audit_log(actor=request.user, action=AuditAction.REVEAL, obj=obj, data={"fields": [field]})
    return render(request, "framework/_revealed.html", {"value": getattr(obj, field), "field": field})


def record_urls(rt):
    """The URL patterns of one record type (list, add, detail, edit, delete, validate, export, bulk, views)."""
    name = rt.model._meta.model_name
    kw = {"rt": rt}
    return [
        path("", RecordListView.as_view(**kw), name=f"{name}_list"),
        path("new/", RecordEditView.as_view(**kw), name=f"{name}_add"),
        path("validate/", RecordValidateView.as_view(**kw), name=f"{name}_validate_new"),
        path("export/", RecordExportView.as_view(**kw), name=f"{name}_export"),
        path("bulk/", RecordBulkView.as_view(**kw), name=f"{name}_bulk"),
        path("<int:pk>/", RecordDetailView.as_view(**kw), name=f"{name}_detail"),
        path("<int:pk>/edit/", RecordEditView.as_view(**kw), name=f"{name}_edit"),
        path("<int:pk>/validate/", RecordValidateView.as_view(**kw), name=f"{name}_validate"),
        path("<int:pk>/delete/", RecordDeleteView.as_view(**kw), name=f"{name}_delete"),
    ]


def list_url(rt, **params):
    url = reverse(rt.url_name("list"))
    return f"{url}?{urlencode(params)}" if params else url


