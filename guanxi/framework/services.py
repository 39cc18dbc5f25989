"""Generic record maintenance: create, update, delete to the recycle bin, restore, purge, bulk actions.

Domain commands (convert a lead, move a deal) are app services; these cover plain edits for every
record type. Each call is one transaction and writes its timeline rows in it.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.core.masking import mask_field

from . import registry
from .errors import Conflict
from .money import money_display

TAG_MAX = 50


def _plain(value):
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    if isinstance(value, Money):  # as pages write amounts: "¥169,000.00"
        return money_display(value.amount, value.currency)
    if isinstance(value, (datetime.date, datetime.datetime, Decimal)):
        return str(value)
    return value


def snapshot(obj):
    data = {}
    for f in obj._meta.concrete_fields:
        if not f.editable or f.primary_key or f.name in ("created_by",):
            continue
        if f.name.endswith("_currency"):
            continue
        data[f.name] = _plain(getattr(obj, f.name))
    data["custom"] = dict(obj.custom or {})
    if registry.get(type(obj)).has_tags and obj.pk:
        data["tags"] = sorted(obj.tags.values_list("name", flat=True))
    return data


DIFF_TEXT_MAX = 500


def _shorten(value):
    # History rows say what changed; a 100 kB email body is kept on the record, not copied into each row.
    if isinstance(value, str) and len(value) > DIFF_TEXT_MAX:
        return value[:DIFF_TEXT_MAX] + f"… ({len(value)})"
    return value


def diff(before, after, model=None):
    """{field: [before, after]} of what changed; sensitive values masked (compared in clear first),
    long texts shortened."""
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if model is not None:
        changes = {k: [mask_field(model, k, b), mask_field(model, k, a)] for k, (b, a) in changes.items()}
    return {k: [_shorten(b), _shorten(a)] for k, (b, a) in changes.items()}


def check_owner(*, actor, model, owner):
    """Owners can only be chosen within the actor's assign scope (no handing records to strangers)."""
    from guanxi.core.access import assignable_owner_ids

    if actor is None:
        return
    allowed = assignable_owner_ids(actor, model)
    if owner is None:
        if allowed is not None:
            raise ValidationError({"owner": _("Choose an owner.")})
    elif allowed is not None and owner.pk not in allowed:
        raise ValidationError({"owner": _("You cannot make this user the owner.")})


def timeline_add(*, obj, kind, actor, data=None):
    from guanxi.core.models import TimelineEvent

    return TimelineEvent.objects.create(
        record_type=obj.type_key(), record_id=obj.pk, kind=kind, actor=actor, data=data or {}
    )


def clean_tag_names(names):
    cleaned = []
    for name in names or []:
        if not isinstance(name, str):
            raise ValidationError({"tags": _("Tags must be text.")})
        name = name.strip()
        if not name:
            continue
        if len(name) > TAG_MAX or "\x00" in name:
            raise ValidationError({"tags": _("A tag has at most %(n)d characters.") % {"n": TAG_MAX}})
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def tags_set(obj, names):
    from guanxi.core.models import Tag

    names = clean_tag_names(names)
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    obj.tags.set(Tag.objects.filter(name__in=names))


def _save_related(obj, related, actor):
    related = dict(related or {})
    if "tags" in related:
        tags_set(obj, related.pop("tags"))
    rt = registry.get(type(obj))
    if related and rt.save_related:
        rt.save_related(obj, related, actor)


@transaction.atomic
def record_create(*, model, actor, fields, related=None):
    obj = model(**fields)
    if hasattr(obj, "created_by_id"):
        obj.created_by = actor
    if hasattr(obj, "owner_id"):
        if obj.owner_id is None and actor is not None and "owner" not in fields:
            obj.owner = actor
        check_owner(actor=actor, model=model, owner=obj.owner)
    obj.full_clean()
    obj.save()
    _save_related(obj, related, actor)
    timeline_add(obj=obj, kind=TimelineKind.CREATED, actor=actor, data={"label": str(obj)})
    audit_log(actor=actor, action=AuditAction.CREATE, obj=obj,
              data={"changes": diff({}, snapshot(obj), model)})
    return obj


def create_for(rt):
    """The create function of a record type: its own `create` hook, else record_create."""
    if rt.create is not None:
        return rt.create
    return lambda *, actor, fields, related=None: record_create(model=rt.model, actor=actor, fields=fields,
                                                                related=related)


@transaction.atomic
def record_update(*, obj, actor, fields, related=None, version=None):
    """Apply `fields` (and related sets such as tags). A stale `version` raises Conflict, changing nothing."""
    model = type(obj)
    before = snapshot(model.all_objects.get(pk=obj.pk))
    for name, value in fields.items():
        setattr(obj, name, value)
    previous_owner = (before.get("owner") or {}).get("id") if isinstance(before.get("owner"), dict) else None
    if "owner" in fields and obj.owner_id != previous_owner:
        check_owner(actor=actor, model=model, owner=obj.owner)
    obj.full_clean()
    current = obj.version if version is None else version
    if not model.all_objects.filter(pk=obj.pk, version=current).update(version=F("version") + 1):
        raise Conflict()
    obj.version = current + 1
    obj.save()
    _save_related(obj, related, actor)
    changes = diff(before, snapshot(obj), model)
    if changes:
        timeline_add(obj=obj, kind=TimelineKind.UPDATED, actor=actor, data={"changes": changes})
        audit_log(actor=actor, action=AuditAction.UPDATE, obj=obj, data={"changes": changes})
    return obj


@transaction.atomic
def record_delete(*, obj, actor, audit=True):
    """Move to the recycle bin; `record_restore` brings it back."""
    type(obj).all_objects.filter(pk=obj.pk).update(
        deleted_at=timezone.now(), deleted_by=actor, version=F("version") + 1
    )
    timeline_add(obj=obj, kind=TimelineKind.DELETED, actor=actor, data={"label": str(obj)})
    if audit:
        audit_log(actor=actor, action=AuditAction.DELETE, obj=obj)


@transaction.atomic
def record_restore(*, obj, actor):
    obj.deleted_at = None
    obj.deleted_by = None
    # Restoring may collide with a live record created meanwhile (e.g. the same credit code).
    obj.validate_constraints()
    type(obj).all_objects.filter(pk=obj.pk).update(deleted_at=None, deleted_by=None, version=F("version") + 1)
    timeline_add(obj=obj, kind=TimelineKind.RESTORED, actor=actor, data={"label": str(obj)})
    audit_log(actor=actor, action=AuditAction.RESTORE, obj=obj)


@transaction.atomic
def record_purge(*, obj, actor):
    if obj.deleted_at is None:
        raise ValidationError(_("Only records in the recycle bin can be purged."))
    audit_log(actor=actor, action=AuditAction.PURGE, obj=obj)
    obj.delete()


@transaction.atomic
def records_bulk(*, rt, actor, queryset, action, owner=None, tag=None):
    """Apply one bulk action to every record in `queryset` (already restricted). Returns the count."""
    from guanxi.core.models import Tag

    objs = list(queryset.select_for_update(of=("self",)))  # a no-op on SQLite

    def audit(obj, changes=None):
        # One row per record, so that each record's history shows the bulk change.
        audit_log(actor=actor, action=AuditAction.BULK, obj=obj,
                  data={"operation": action, **({"changes": changes} if changes else {})})

    if action == "delete":
        for obj in objs:
            record_delete(obj=obj, actor=actor, audit=False)
            audit(obj)
        return len(objs)
    if action == "assign_owner":
        if owner is None:
            raise ValidationError(_("Choose an owner."))
        check_owner(actor=actor, model=rt.model, owner=owner)
        for obj in objs:
            if obj.owner_id != owner.pk:
                before = obj.owner
                type(obj).all_objects.filter(pk=obj.pk).update(owner=owner, version=F("version") + 1)
                changes = {"owner": [_plain(before), _plain(owner)]}
                timeline_add(obj=obj, kind=TimelineKind.UPDATED, actor=actor, data={"changes": changes})
                audit(obj, changes)
        return len(objs)
    if action in ("add_tag", "remove_tag"):
        names = clean_tag_names([tag])
        if not names:
            raise ValidationError(_("Enter a tag."))
        tag_obj, _created = Tag.objects.get_or_create(name=names[0])
        for obj in objs:
            before = sorted(t.name for t in obj.tags.all())
            (obj.tags.add if action == "add_tag" else obj.tags.remove)(tag_obj)
            after = sorted(t.name for t in obj.tags.all())
            if before != after:
                type(obj).all_objects.filter(pk=obj.pk).update(version=F("version") + 1)
                timeline_add(
                    obj=obj, kind=TimelineKind.UPDATED, actor=actor, data={"changes": {"tags": [before, after]}}
                )
                audit(obj, {"tags": [before, after]})
        return len(objs)
    raise ValidationError(_("Unknown bulk action."))
