"""Administrator pages for plain configuration models (categories, rules, policies…): list, add, edit,
delete and deactivate, declared in one place.

    pages = ConfigPages(model=SlaPolicy, form_class=SlaPolicyForm, name="sla_policy",
                        prefix="service/settings/sla/", columns=[(_("Name"), "name"), …],
                        index_url="service:settings")
    urlpatterns = pages.urls()   # sla_policy_list / _add / _edit / _delete / _deactivate

Every change is audited as SETTINGS_CHANGE with a before/after diff of the model's editable fields, in
the transaction of the change. Deletion is a POST after a confirmation page; a row other rows still
point at (PROTECT → ProtectedError) is refused with a message naming what uses it, and when the model
has `is_active` the page offers deactivating it instead. Subclass and override the small hooks
(`get_queryset`, `sort`, `form_kwargs`, `before_save`, `after_save`, `delete_refusal`, `list_context`)
for anything more.
"""

from datetime import date, datetime, time

from django import forms
from django.contrib import messages
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction
from guanxi.core.decorators import admin_required


def style_form(form):
    """Bootstrap classes on every widget (the generic templates render fields one by one)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
            continue
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


def _plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def snapshot(obj):
    """{field: value} of the model's editable concrete fields (related rows by their label, choices by their
    stored code, so that the audit reads the same in every language)."""
    values = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or not field.editable:
            continue
        if field.is_relation:
            related = getattr(obj, field.name, None)
            values[field.name] = str(related) if related is not None else None
        else:
            values[field.name] = _plain(field.value_from_object(obj))
    return values


def diff(before, after):
    """{field: [before, after]} of what changed (before None for a new row)."""
    before = before or {}
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def settings_audit(actor, obj, event, changes=None, record_type="", **extra):
    """One SETTINGS_CHANGE audit row for a configuration row (call inside the change's transaction)."""
    data = {"event": event, **({"changes": changes} if changes else {}), **extra}
    return audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, obj=obj,
                     record_type=record_type or f"{obj._meta.app_label}.{obj._meta.model_name}",
                     record_id=obj.pk, label=str(obj), data=data)


def _count_label(model, n):
    meta = model._meta
    return f"{n} {meta.verbose_name if n == 1 else meta.verbose_name_plural}"


def describe_rows(objs):
    """“3 tickets, 1 ticket category”: what a set of rows is, by model."""
    counts = {}
    for o in objs:
        counts[type(o)] = counts.get(type(o), 0) + 1
    return ", ".join(_count_label(m, n) for m, n in counts.items())


def deletion_effects(obj):
    """(protected rows, [“2 SLA policies”…] also deleted): what deleting `obj` would do, without doing it."""
    collector = Collector(using=DEFAULT_DB_ALIAS)
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError) as e:
        return list(e.protected_objects if isinstance(e, ProtectedError) else e.restricted_objects), []
    also = []
    for model, instances in collector.data.items():
        n = len([i for i in instances if i.pk != obj.pk or model is not type(obj)])
        if n:
            also.append(_count_label(model, n))
    for qs in collector.fast_deletes:
        n = qs.count()
        if n:
            also.append(_count_label(qs.model, n))
    return [], also


class ConfigPages:
    """The declaration of one configuration model's pages. Keyword arguments set the attributes below."""

    model = None
    form_class = None
    name = ""  # URL name base: <name>_list, <name>_add, <name>_edit, <name>_delete, <name>_deactivate
    prefix = ""  # URL prefix, e.g. "service/settings/categories/"
    columns = ()  # [(label, "attribute" or callable(obj))]; the first column links to the edit page
    ordering = None  # queryset ordering; None = the model's
    index_url = ""  # URL name of the settings index the pages link back to
    index_label = ""  # its title, for the breadcrumb
    title = None  # list page heading; default the model's verbose_name_plural
    description = ""  # a sentence under the heading
    record_type = ""  # audit record type; default "<app_label>.<model_name>"
    list_template = "framework/config_list.html"
    form_template = "framework/config_form.html"
    delete_template = "framework/config_confirm_delete.html"

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            if not hasattr(type(self), key):
                raise TypeError(f"ConfigPages has no option {key!r}")
            setattr(self, key, value)

    # -- hooks --------------------------------------------------------------------------------------

    def get_queryset(self, request):
        qs = self.model._default_manager.all()
        return qs.order_by(*self.ordering) if self.ordering else qs

    def sort(self, objects):
        """The rows in list order (override to sort in Python, e.g. a tree by path)."""
        return list(objects)

    def form_kwargs(self, request, obj):
        return {}

    def before_save(self, request, obj):
        """Runs in the save's transaction before the row is written (e.g. take locks)."""

    def after_save(self, request, obj, created):
        """Runs in the save's transaction, before the audit row (e.g. keep a single default)."""

    def delete_refusal(self, obj):
        """A message when `obj` must not be deleted for a reason of its own (None = deletable)."""
        return None

    def list_context(self, request, rows):
        return {}

    # -- helpers ------------------------------------------------------------------------------------

    def _url(self, request, suffix, *args):
        namespace = request.resolver_match.namespace if request.resolver_match else ""
        name = f"{self.name}_{suffix}"
        return reverse(f"{namespace}:{name}" if namespace else name, args=args)

    def _cell(self, obj, getter):
        value = getter(obj) if callable(getter) else getattr(obj, getter)
        if callable(value):
            value = value()
        return {"value": value, "is_bool": isinstance(value, bool)}

    def _base_context(self, request):
        meta = self.model._meta
        return {
            "pages": self, "verbose_name": meta.verbose_name,
            "title": self.title or meta.verbose_name_plural, "description": self.description,
            "list_url": self._url(request, "list"), "add_url": self._url(request, "add"),
            "index_url": reverse(self.index_url) if self.index_url else "", "index_label": self.index_label,
            "can_deactivate": self._has_active(),
        }

    def _has_active(self):
        return any(f.name == "is_active" for f in self.model._meta.concrete_fields)

    def _audit(self, request, obj, event, changes=None):
        settings_audit(request.user, obj, event, changes, record_type=self.record_type)

    # -- views --------------------------------------------------------------------------------------

    def list_view(self, request):
        rows = [{"object": obj, "cells": [self._cell(obj, g) for _label, g in self.columns],
                 "edit_url": self._url(request, "edit", obj.pk), "delete_url": self._url(request, "delete", obj.pk)}
                for obj in self.sort(self.get_queryset(request))]
        context = {**self._base_context(request), "rows": rows,
                   "headers": [label for label, _getter in self.columns]}
        context.update(self.list_context(request, rows))
        return render(request, self.list_template, context)

    def form_view(self, request, pk=None):
        obj = get_object_or_404(self.model, pk=pk) if pk is not None else None
        before = snapshot(obj) if obj is not None else None
        form = style_form(self.form_class(request.POST or None, instance=obj, **self.form_kwargs(request, obj)))
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                self.before_save(request, form.instance)
                saved = form.save()
                self.after_save(request, saved, created=obj is None)
                self._audit(request, saved, "create" if obj is None else "update", diff(before, snapshot(saved)))
            messages.success(request, _("“%(name)s” saved.") % {"name": saved})
            return redirect(self._url(request, "list"))
        context = {**self._base_context(request), "form": form, "object": obj,
                   "delete_url": self._url(request, "delete", obj.pk) if obj is not None else ""}
        return render(request, self.form_template, context, status=422 if request.method == "POST" else 200)

    def delete_view(self, request, pk):
        obj = get_object_or_404(self.model, pk=pk)
        refusal = self.delete_refusal(obj)
        protected, also = deletion_effects(obj) if refusal is None else ([], [])
        if refusal is None and protected:
            refusal = _("“%(name)s” is in use (%(users)s) and cannot be deleted.") % {
                "name": obj, "users": describe_rows(protected)}
        if request.method == "POST" and refusal is None:
            try:
                with transaction.atomic():
                    values = snapshot(obj)
                    self._audit(request, obj, "delete", diff(values, dict.fromkeys(values)))
                    obj.delete()
            except ProtectedError as e:  # something started using it since the confirmation page
                refusal = _("“%(name)s” is in use (%(users)s) and cannot be deleted.") % {
                    "name": obj, "users": describe_rows(e.protected_objects)}
            else:
                messages.success(request, _("“%(name)s” deleted.") % {"name": obj})
                return redirect(self._url(request, "list"))
        context = {**self._base_context(request), "object": obj, "refusal": refusal, "also": also,
                   "deactivate_url": self._url(request, "deactivate", obj.pk) if self._has_active() else ""}
        status = 409 if (request.method == "POST" and refusal) else 200
        return render(request, self.delete_template, context, status=status)

    def deactivate_view(self, request, pk):
        if not self._has_active():
            return redirect(self._url(request, "list"))
        with transaction.atomic():
            obj = get_object_or_404(self.model._default_manager.select_for_update(), pk=pk)
            if obj.is_active:
                obj.is_active = False
                obj.save(update_fields=["is_active"])
                self._audit(request, obj, "deactivate", {"is_active": [True, False]})
        messages.success(request, _("“%(name)s” deactivated.") % {"name": obj})
        return redirect(self._url(request, "list"))

    def urls(self):
        p, n = self.prefix, self.name
        return [
            path(p, admin_required(require_http_methods(["GET", "HEAD"])(self.list_view)), name=f"{n}_list"),
            path(f"{p}add/", admin_required(require_http_methods(["GET", "POST"])(self.form_view)), name=f"{n}_add"),
            path(f"{p}<int:pk>/", admin_required(require_http_methods(["GET", "POST"])(self.form_view)),
                 name=f"{n}_edit"),
            path(f"{p}<int:pk>/delete/", admin_required(require_http_methods(["GET", "POST"])(self.delete_view)),
                 name=f"{n}_delete"),
            path(f"{p}<int:pk>/deactivate/", admin_required(require_POST(self.deactivate_view)),
                 name=f"{n}_deactivate"),
        ]
