"""ORM queries of a fixed shape, compiled to SQL once and then run with new values through a cursor.

Compiling a queryset can cost more than running it: on the 2-core machine of docs/performance.md the
API token look-up took 1.6 ms through the ORM and 0.2 ms as the same SQL through a cursor. Look-ups
made on every request keep one shape and change only their values; the rows come back as the ORM
would give them (the backend's and the fields' converters applied).
"""

import threading

from django.apps import apps
from django.core.exceptions import EmptyResultSet
from django.db import connections, router


class PreparedQuery:
    """`build(*markers)` returns the queryset (usually a `values_list`) with a marker in place of each
    value; `rows(*values)` runs its SQL with the values in the markers' places. A marker is a string or,
    for a field that needs an integer, a negative number no id or constant of ours takes."""

    def __init__(self, model, build, kinds=(str,)):
        self.model = model  # a model or its "app_label.Model" (module level, before the apps are ready)
        self.build = build
        self.kinds = kinds  # str or int per value: what its field turns the marker into
        self._compiled = threading.local()  # a compiler belongs to its thread's connection

    @property
    def alias(self):
        model = apps.get_model(self.model) if isinstance(self.model, str) else self.model
        return router.db_for_read(model)

    def _compile(self, alias):
        markers = [f"\x1fguanxi-prepared-{i}\x1f" if kind is str else -(2**62) - i
                   for i, kind in enumerate(self.kinds)]
        compiler = self.build(*markers).query.get_compiler(alias)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # a filter that matches nothing (e.g. `pk__in=[]`): no rows, as the ORM answers
            return None
        slots = [(pos, markers.index(value)) for pos, value in enumerate(params) if value in markers]
        if sorted(i for _pos, i in slots) != list(range(len(markers))):
            raise ValueError("each value must reach the SQL unchanged, exactly once")
        converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        return sql, list(params), slots, compiler, converters

    def rows(self, *values):
        alias = self.alias
        compiled = getattr(self._compiled, alias, False)
        if compiled is False:
            compiled = self._compile(alias)
            setattr(self._compiled, alias, compiled)
        if compiled is None:
            return []
        sql, params, slots, compiler, converters = compiled
        params = list(params)
        for pos, i in slots:
            params[pos] = values[i]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return list(compiler.apply_converters(rows, converters)) if converters else [list(row) for row in rows]

    def first(self, *values):
        found = self.rows(*values)
        return found[0] if found else None
