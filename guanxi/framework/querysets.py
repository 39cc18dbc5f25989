"""RestrictedQuerySet: the single access-control entry point (ARCHITECTURE.md §4)."""

from django.db import models


class RestrictedQuerySet(models.QuerySet):
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
