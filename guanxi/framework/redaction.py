"""Hide linked records the viewer may not see, on records read for display.

A record can be visible while a record it links to is not (an interaction about a contact I may see,
filed under a company I may not; a company whose parent belongs to another region). Lists, detail
pages, exports and the API show such links as empty instead of leaking the other record's name.
One query per linked record type and batch, never per row.
"""

from . import registry
from .querysets import RestrictedQuerySet


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
