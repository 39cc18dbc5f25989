"""RestrictedQuerySet: the single access-control entry point (ARCHITECTURE.md §4)."""

from django.db import models

ACTIONS = ("view", "add", "change", "delete", "export", "assign", "reveal")


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """Only the rows `user` may perform `action` on.

        Every list, detail, edit, delete, export, search, autocomplete and API endpoint
        calls this. For now any active user may act on every live record; the
        access-control issue changes only this method.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self


class LiveManager(models.Manager.from_queryset(RestrictedQuerySet)):
    """Default manager: records not in the recycle bin."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllManager(models.Manager.from_queryset(RestrictedQuerySet)):
    """Every record, including those in the recycle bin."""
