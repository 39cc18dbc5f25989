"""RestrictedQuerySet: the single access-control entry point (ARCHITECTURE.md §4)."""

from itertools import islice

from django.db import models


class RestrictedQuerySet(models.QuerySet):
    _row_loaders = ()

    def load_rows(self, *loaders):
        """Like prefetch_related, for loaders with a `load(objs)` (e.g. framework.related.ManyToManyRows)
        that read a relation of the fetched records in a statement compiled once."""
        clone = self._chain()
        clone._row_loaders = (*self._row_loaders, *loaders)
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._row_loaders = self._row_loaders
        return clone

    def _loads_rows(self):
        return self._row_loaders and issubclass(self._iterable_class, models.query.ModelIterable)

    def _fetch_all(self):
        fetched = self._result_cache is not None
        super()._fetch_all()
        if not fetched and self._loads_rows():
            try:
                for loader in self._row_loaders:
                    loader.load(self._result_cache)
            except BaseException:
                self._result_cache = None  # never records without their loaded rows
                raise

    def _iterator(self, use_chunked_fetch, chunk_size):
        # As Django's prefetch does for iterator(): a chunk at a time. A loader may limit rows to what the
        # viewer may see (FilteredRows), so no path may read the records without running it.
        rows = super()._iterator(use_chunked_fetch, chunk_size)
        if not self._loads_rows():
            yield from rows
            return
        while chunk := list(islice(rows, chunk_size or 2000)):
            for loader in self._row_loaders:
                loader.load(chunk)
            yield from chunk

    def restrict(self, user, action="view"):
        """Only the rows `user` may perform `action` on.

        Every list, detail, edit, delete, export, search, autocomplete, bulk action and API endpoint
        calls this; the rules (role, scope, shares) live in guanxi.core.access.
        """
        from guanxi.core.access import restrict_queryset

        return restrict_queryset(self, user, action)


class LiveManager(models.Manager.from_queryset(RestrictedQuerySet)):
    """Default manager: records not in the recycle bin."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllManager(models.Manager.from_queryset(RestrictedQuerySet)):
    """Every record, including those in the recycle bin."""
