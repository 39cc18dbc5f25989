"""Reading to-many relations of records shown in lists and API pages.

`obj.tags.all()` builds a related manager and a queryset every time it is called, even when the rows were
prefetched: on a 25-row page with two relations that is fifty managers per render, a measurable part
of an API list request (docs/performance.md). Django's prefetch builds them too, once per row and
relation, unless the rows go to a plain list (`to_attr`). These read the prefetched rows directly and
fall back to a query when nothing was prefetched.
"""

from django.db.models import Prefetch


def rows_attr(name):
    return f"{name}_rows"


def prefetch_rows(name, queryset=None):
    """Prefetch relation `name` into a plain list (`obj.<name>_rows`): no manager or queryset per row.

    For read-only paths that read the relation through `related_rows` (the API's list and detail).
    """
    return Prefetch(name, queryset=queryset, to_attr=rows_attr(name))


def visible_rows_attr(name):
    return f"{name}_visible_rows"


def prefetch_visible_rows(name, queryset):
    """Like prefetch_rows, for rows the queryset already limits to what the viewer may see (e.g. the
    memberships of companies they may see): the redaction of linked records has nothing left to check."""
    return Prefetch(name, queryset=queryset, to_attr=visible_rows_attr(name))


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
