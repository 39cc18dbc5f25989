"""Reading to-many relations of records shown in lists and API pages.

`obj.tags.all()` builds a related manager and a queryset every time it is called, even when the rows were
prefetched: on a 25-row page with two relations that is fifty managers per render, a measurable part
of an API list request (docs/performance.md). Django's prefetch builds them too, once per row and
relation, unless the rows go to a plain list (`to_attr`). `related_rows` reads loaded or prefetched rows
directly and falls back to a query when nothing was read.

The loaders here (ManyToManyRows, FilteredRows) read a relation of a page into plain lists with a
statement compiled once per shape, where Django's prefetch builds and compiles its statement for every
page; a RecordType names them in `api_prefetch_related` and querysets run them (`load_rows`).
"""

import functools

from .prepared import PreparedQuery


def rows_attr(name):
    return f"{name}_rows"


@functools.lru_cache(maxsize=1024)
def _many_to_many_query(model, name, size):
    """(PreparedQuery, related model, attnames) of many-to-many `name`'s rows for `size` records."""
    field = model._meta.get_field(name)
    source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    related = field.related_model
    plain_ordering = all(isinstance(o, str) for o in related._meta.ordering)
    if related._default_manager.all().query.where or not plain_ordering:
        raise TypeError(f"{related.__name__}: a filtering default manager or an expression ordering")
    attnames = [f.attname for f in related._meta.concrete_fields]
    # The related model's own ordering, as Django's prefetch applies it.
    ordering = [f"-{target}__{o[1:]}" if o.startswith("-") else f"{target}__{o}" for o in related._meta.ordering]

    def build(*ids):
        return (field.remote_field.through.objects.filter(**{f"{source}_id__in": ids})
                .order_by(*ordering, f"{target}_id")
                .values_list(f"{source}_id", *(f"{target}__{a}" for a in attnames)))

    return PreparedQuery(field.remote_field.through, build, kinds=(int,) * size), related, attnames


class ManyToManyRows:
    """Loads many-to-many relation `name` of a page of records into a plain list, `obj.<name>_rows` (no
    manager or queryset per row), with one statement compiled once per page size (and thread).

    For read-only paths that read the relation through `related_rows` (the API's list and detail).
    Django's prefetch builds and compiles its statement for every page: on the 2-core machine of
    docs/performance.md that was 0.7 ms of a contact list request for the tags, the compiled statement
    0.2 ms. A queryset takes it through `RestrictedQuerySet.load_rows`.
    """

    def __init__(self, name):
        self.name = name

    def load(self, objs):
        if not objs:
            return
        by_id = {obj.pk: [] for obj in objs}
        prepared, related, attnames = _many_to_many_query(type(objs[0]), self.name, len(by_id))
        alias = prepared.alias
        for source_id, *values in prepared.rows(*by_id):
            by_id[source_id].append(related.from_db(alias, attnames, values))
        attr = rows_attr(self.name)
        for obj in objs:
            setattr(obj, attr, by_id[obj.pk])


# A record type's tags, for the API's reads (`api_prefetch_related`).
TAGS = ManyToManyRows("tags")


@functools.lru_cache(maxsize=512)
def _filtered_rows_query(model, name, condition, size):
    """(PreparedQuery, related model, attnames) of reverse foreign key `name`'s rows matching `condition`
    for `size` records. `condition` holds values only, so its compiled statement serves every page of that
    size for every viewer with an equal condition (a user's own, repeated request after request)."""
    fk = model._meta.get_field(name).field
    related = fk.model
    attnames = [f.attname for f in related._meta.concrete_fields]
    ordering = [*related._meta.ordering, "pk"]

    def build(*ids):
        return (related._default_manager.filter(condition, **{f"{fk.attname}__in": ids})
                .order_by(*ordering).values_list(*attnames))

    return PreparedQuery(related, build, kinds=(int,) * size), related, attnames


class FilteredRows:
    """Loads the rows of reverse foreign key relation `name` of a page of records that match `condition`
    (a Q over the related model, e.g. the viewer's visibility of what they link) into `obj.<attr>`, with one
    statement compiled once per condition and page size (and thread). The condition keys that cache, so it
    must hold plain immutable values (numbers, strings, tuples, value objects such as access.ViewerPools):
    a queryset in it would never match, a list changed later would be compiled for the wrong rows.

    Building and compiling a contact page's prefetch of its visible companies cost 0.9 ms of a 6.6 ms API
    request on the machine of docs/performance.md; the statement itself about 0.2 ms.
    """

    def __init__(self, name, condition, attr):
        self.name, self.condition, self.attr = name, condition, attr

    def load(self, objs):
        if not objs:
            return
        model = type(objs[0])
        by_id = {obj.pk: [] for obj in objs}
        prepared, related, attnames = _filtered_rows_query(model, self.name, self.condition, len(by_id))
        fk_index = attnames.index(model._meta.get_field(self.name).field.attname)
        alias = prepared.alias
        for values in prepared.rows(*by_id):
            by_id[values[fk_index]].append(related.from_db(alias, attnames, values))
        for obj in objs:
            setattr(obj, self.attr, by_id[obj.pk])


def visible_rows_attr(name):
    return f"{name}_visible_rows"


def related_rows(obj, name):
    """The rows of `obj`'s to-many relation `name`: the prefetched ones if any, else a query."""
    rows = getattr(obj, visible_rows_attr(name), None)
    if rows is not None:
        return rows
    rows = getattr(obj, rows_attr(name), None)
    if rows is not None:
        return rows
    cache = getattr(obj, "_prefetched_objects_cache", None)
    if cache is not None and name in cache:
        return cache[name]
    return getattr(obj, name).all()


def tag_names(obj):
    return [t.name for t in related_rows(obj, "tags")]


def tags_text(obj):
    """Tags as one cell of a list or an export."""
    return ", ".join(tag_names(obj))
