"""Hide linked records the viewer may not see, on records read for display.

A record can be visible while a record it links to is not (an interaction about a contact I may see,
filed under a company I may not; a company whose parent belongs to another region). Lists, detail
pages, exports and the API show such links as empty instead of leaking the other record's name.
One query per linked record type and batch, never per row.
"""

from . import registry
from .querysets import RestrictedQuerySet
from .related import rows_attr


def _linked_fields(model):
    for field in model._meta.concrete_fields:
        if field.many_to_one and isinstance(field.related_model._default_manager.get_queryset(), RestrictedQuerySet):
            yield field


def redact_links(objs, user):
    """Set foreign keys to records outside `user`'s view to None, in place; marks the objects unsaveable."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    for field in _linked_fields(model):
        ids = {getattr(o, field.attname) for o in objs} - {None}
        if not ids:
            continue
        visible = set(field.related_model.objects.restrict(user, "view").filter(pk__in=ids)
                      .values_list("pk", flat=True))
        for obj in objs:
            if getattr(obj, field.attname) is not None and getattr(obj, field.attname) not in visible:
                setattr(obj, field.name, None)
                obj._guanxi_masked = True  # a display copy now: Record.save() refuses it
    try:
        rt = registry.get(model)
    except KeyError:
        return objs
    if rt.redact is not None:
        rt.redact(objs, user)
    return objs


def prepare_for_display(objs, user, *, reveal=False):
    """Everything a record read for showing needs: links redacted, personal data masked."""
    from guanxi.core.masking import mask_objects

    return mask_objects(redact_links(objs, user), reveal=reveal)


def redact_prefetched(objs, user, *, attr, model, linked_id):
    """Leave out of each object's prefetched `attr` the rows whose linked `model` record (id given by
    `linked_id(row)`) the viewer may not see — e.g. a contact's memberships of hidden companies, a deal's
    hidden contacts. One query for the whole batch; objects changed are marked unsaveable."""
    as_list = rows_attr(attr)  # read into a plain list (framework.related.rows_attr)
    listed = [o for o in objs if getattr(o, as_list, None) is not None]
    cached = [o for o in objs if attr in getattr(o, "_prefetched_objects_cache", {})]
    ids = {linked_id(row) for o in listed for row in getattr(o, as_list)}
    ids |= {linked_id(row) for o in cached for row in o._prefetched_objects_cache[attr]}
    if not ids:
        return
    visible = set(model.objects.restrict(user, "view").filter(pk__in=ids).values_list("pk", flat=True))
    for obj in listed:
        rows = getattr(obj, as_list)
        kept = [row for row in rows if linked_id(row) in visible]
        if len(kept) != len(rows):
            setattr(obj, as_list, kept)
            obj._guanxi_masked = True
    for obj in cached:
        rows = obj._prefetched_objects_cache[attr]
        kept = [row for row in rows if linked_id(row) in visible]
        if len(kept) != len(rows):
            shown = rows._chain()
            shown._result_cache, shown._prefetch_done = kept, True
            obj._prefetched_objects_cache[attr] = shown
            obj._guanxi_masked = True
