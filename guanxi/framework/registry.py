"""Record types: what the generic list/detail/edit/delete/export/API machinery needs to know about a model."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

_registry: dict[str, "RecordType"] = {}


@dataclass
class Column:
    name: str
    label: Any
    accessor: Callable[[Any], Any] | str | None = None
    order_by: tuple[str, ...] | None = None  # sortable when set: ORM fields, allow-listed
    link: bool = False

    def value(self, obj):
        if callable(self.accessor):
            return self.accessor(obj)
        value = obj
        for part in (self.accessor or self.name).split("."):
            display = getattr(value, f"get_{part}_display", None)
            value = display() if display else getattr(value, part, None)
            if value is None:
                return ""
        return value


@dataclass
class RecordType:
    model: type[models.Model]
    filterset_class: type
    form_class: type
    columns: list[Column]
    default_columns: list[str]
    default_ordering: str = "name"
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str | models.Prefetch, ...] = ()
    # What the API's reads need instead, when its schema needs less than the UI's columns (None: the same).
    # E.g. the API shows `owner_id`, not the owner's name: joining the user row costs ~1–2 ms per page.
    api_select_related: tuple[str, ...] | None = None
    # An entry may also be a loader of framework.related (e.g. ManyToManyRows("tags")), or a callable taking
    # the viewer and returning a Prefetch or a loader (rows limited to theirs, e.g. FilteredRows).
    api_prefetch_related: tuple[str | models.Prefetch | Callable | Any, ...] | None = None
    detail_template: str = "framework/detail.html"
    detail_fields: list[str] = field(default_factory=list)
    bulk_actions: tuple[str, ...] = ("assign_owner", "add_tag", "remove_tag", "delete")
    # Called by the generic services after the record itself is saved: (obj, related: dict, actor) -> changes
    save_related: Callable | None = None
    # Creates the record instead of services.record_create (UI add form and API create), for types whose
    # creation is a domain command (e.g. a deal entering its first stage): (*, actor, fields, related) -> obj
    create: Callable | None = None
    # Updates the record instead of services.record_update (UI edit form and API PATCH), for types whose
    # edits have domain consequences (e.g. a ticket's new priority re-applies its SLA):
    # (*, obj, actor, fields, related, version) -> obj
    update: Callable | None = None
    # Extra template context for the detail page: (obj, request) -> dict
    detail_context: Callable | None = None
    # Hide what the viewer may not see in related rows of records read for display: (objs, user) -> None
    # (foreign keys are handled generically by framework.redaction)
    redact: Callable | None = None
    icon: str = "bi-card-list"

    @property
    def key(self):
        return f"{self.model._meta.app_label}.{self.model._meta.model_name}"

    @property
    def url_prefix(self):
        return f"{self.model._meta.app_label}:{self.model._meta.model_name}"

    def url_name(self, action):
        return f"{self.url_prefix}_{action}"

    @property
    def verbose_name(self):
        return self.model._meta.verbose_name

    @property
    def verbose_name_plural(self):
        return self.model._meta.verbose_name_plural

    @property
    def ordering_allow_list(self) -> dict[str, tuple[str, ...]]:
        return {c.name: c.order_by for c in self.columns if c.order_by}

    def column(self, name):
        return next((c for c in self.columns if c.name == name), None)

    @property
    def has_tags(self):
        return any(f.name == "tags" for f in self.model._meta.get_fields())

    @property
    def has_owner(self):
        return any(f.name == "owner" for f in self.model._meta.get_fields())

    @property
    def has_sensitive_fields(self):
        return bool(getattr(self.model, "sensitive_fields", None))

    def base_queryset(self, user, action="view", *, api=False):
        qs = self.model.objects.restrict(user, action)
        select = self.api_select_related if api and self.api_select_related is not None else self.select_related
        prefetch = self.api_prefetch_related if api and self.api_prefetch_related is not None \
            else self.prefetch_related
        if select:
            qs = qs.select_related(*select)
        if prefetch:
            # An entry can depend on the viewer (a callable taking the user and returning a Prefetch or a
            # loader) and be a loader of framework.related with its statement compiled once.
            entries = [p(user) if callable(p) else p for p in prefetch]
            loaders = [p for p in entries if hasattr(p, "load")]
            if loaders:
                qs = qs.load_rows(*loaders)
            qs = qs.prefetch_related(*(p for p in entries if not hasattr(p, "load")))
        return qs


def register(record_type: RecordType) -> RecordType:
    _registry[record_type.key] = record_type
    return record_type


def get(key_or_model) -> RecordType:
    if not isinstance(key_or_model, str):
        key_or_model = f"{key_or_model._meta.app_label}.{key_or_model._meta.model_name}"
    return _registry[key_or_model]


def all_types() -> list[RecordType]:
    return list(_registry.values())
