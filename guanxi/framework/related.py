"""Reading to-many relations of records shown in lists and API pages.

`obj.tags.all()` builds a related manager and a queryset every time it is called, even when the rows were
prefetched: on a 25-row page with two relations that is fifty managers per render, a measurable part
of an API list request (docs/performance.md). These read the prefetched rows directly and fall back to
a query when nothing was prefetched.
"""


def related_rows(obj, name):
    """The rows of `obj`'s to-many relation `name`: the prefetched ones if any, else a query."""
    cache = getattr(obj, "_prefetched_objects_cache", None)
    if cache is not None and name in cache:
        return cache[name]
    return getattr(obj, name).all()


def tag_names(obj):
    return [t.name for t in related_rows(obj, "tags")]


def tags_text(obj):
    """Tags as one cell of a list or an export."""
    return ", ".join(tag_names(obj))
