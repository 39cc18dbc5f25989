"""Shared list mechanics for the UI and the API: filtering, allow-listed ordering, pagination, counts."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _


class BadOrdering(ValueError):
    code = "invalid_ordering"


def parse_ordering(rt, raw):
    """Turn `name,-created` into ORM order_by terms via the record type's allow-list only."""
    allowed = rt.ordering_allow_list
    terms = []
    for part in [p.strip() for p in (raw or "").split(",") if p.strip()]:
        desc = part.startswith("-")
        key = part.lstrip("-")
        if key not in allowed:
            raise BadOrdering(
                _("Unknown ordering field “%(field)s”. Allowed: %(allowed)s")
                % {"field": key, "allowed": ", ".join(sorted(allowed))}
            )
        terms.extend(("-" + f if desc else f) for f in allowed[key])
    if not terms:
        return None
    return [*terms, "-pk" if terms[-1].startswith("-") else "pk"]  # a unique tail keeps pages stable


@dataclass
class Count:
    value: int
    exact: bool
    estimated: bool = False

    def __str__(self):
        if self.exact:
            return f"{self.value:,}"
        return f"≈{self.value:,}" if self.estimated else f"{self.value:,}+"


def _table_estimate(model):
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None


def _whole_table(queryset):
    """Whether the queryset selects what the model's default manager does (no user filter, no scope).

    The table estimate counts every row, so it only stands for a list that is not narrowed by a filter
    or by the user's access scope (a sales rep's unfiltered list is their own records).
    """
    return queryset.query.where == queryset.model._default_manager.all().query.where


def count_rows(queryset, *, filtered):
    """An exact count while it is cheap; beyond the limit an estimate (whole table, PostgreSQL) or “N+”.

    An exact count(*) over a million rows costs tens of milliseconds per request (ARCHITECTURE.md §9).
    """
    limit = settings.GUANXI_EXACT_COUNT_LIMIT
    n = queryset.order_by()[: limit + 1].count()
    if n <= limit:
        return Count(n, exact=True)
    if not filtered and _whole_table(queryset):
        estimate = _table_estimate(queryset.model)
        if estimate and estimate > limit:
            return Count(estimate, exact=False, estimated=True)
    return Count(limit, exact=False)


def page_and_count(queryset, *, offset, limit, filtered):
    """(rows, Count) of one page; the count query is skipped when the page itself shows the total.

    A page with fewer than `limit` rows is the last one, so the total is offset + its rows (an empty
    page past the end still needs the count: the total is then somewhere below the offset). Beyond
    the exact-count limit count_rows answers “N+”, and so does this.
    """
    rows = list(queryset[offset : offset + limit])
    total = offset + len(rows)
    if len(rows) < limit and (rows or offset == 0) and total <= settings.GUANXI_EXACT_COUNT_LIMIT:
        return rows, Count(total, exact=True)
    return rows, count_rows(queryset, filtered=filtered)
