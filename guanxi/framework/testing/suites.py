"""RecordTypeSuite: UI, API, filter, search, ordering, pagination, export, bulk and query-count tests
for one record type, driven by the data its test class declares.

Declarations (class attributes; any value may be a zero-argument callable, called inside the test,
so that related rows are created in the test database):

- ``record_type``: registry key, e.g. ``"customers.account"``.
- ``api_path``: e.g. ``"/api/v1/accounts"``.
- ``model_factory``: a factory-boy factory for the model.
- ``create_data`` / ``update_data``: API bodies for POST and PATCH (PATCH gets ``version`` added).
- ``invalid_create_data``: a POST body the API must refuse with 422.
- ``form_data`` / ``form_update``: UI form POST data for creating, and the changes for an edit.
- ``filter_cases``: ``[(params, matching_kwargs, non_matching_kwargs), ...]``; a param value may be a
  one-argument callable that gets the matching object (e.g. to filter by its parent id).
- ``search_cases``: ``[(q, matching_kwargs, non_matching_kwargs), ...]``.
- ``ordering_case``: ``(ordering_key, [kwargs in ascending order, ...])``.
- ``export_text_field``: a factory kwarg whose text shows in an export column (formula escaping).
- ``export_filter_case``: ``(params, matching_kwargs, non_matching_kwargs)`` for the export and
  "all matching" bulk tests, with plain param values; defaults to ``filter_cases[0]``.
- ``rich_kwargs``: factory kwargs giving a row everything the list shows (tags, companies) for the
  query-count tests.
"""

import csv
import io
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from guanxi.framework import registry

FORMULA_PAYLOADS = ('=HYPERLINK("http://evil.example/x","点我")', "+1", "@x", "-2+3", "=1+1")


def resolve(value, *args):
    """Call callables (recursively inside dicts and lists) to get concrete declaration values."""
    if callable(value):  # a function or a factory class
        return resolve(value(*args))
    if isinstance(value, dict):
        return {k: resolve(v, *args) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, *args) for v in value]
    return value


def api_ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def export_rows(response, fmt):
    """The rows of a CSV or XLSX export response, header first."""
    assert response.status_code == 200, getattr(response, "content", b"")
    data = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "csv":
        text = data.decode("utf-8")
        assert text.startswith("\ufeff")
        return list(csv.reader(io.StringIO(text[1:])))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


class RecordTypeSuite:
    pytestmark = [pytest.mark.django_db]

    record_type: str = ""
    api_path: str = ""
    model_factory = None
    create_data: dict = {}
    update_data: dict = {}
    invalid_create_data: dict = {}
    form_data: dict = {}
    form_update: dict = {}
    filter_cases: list = []
    search_cases: list = []
    ordering_case: tuple | None = None
    export_text_field: str = "name"
    export_filter_case: tuple | None = None
    rich_kwargs: dict = {}

    # -- helpers -------------------------------------------------------------------------------

    @property
    def rt(self):
        return registry.get(self.record_type)

    @property
    def model(self):
        return self.rt.model

    def url(self, action, *args):
        return reverse(self.rt.url_name(action), args=args)

    def make(self, **kwargs):
        return self.model_factory(**resolve(kwargs))

    def ui_ids(self, response):
        assert response.status_code == 200, response.content[:2000]
        return [obj.pk for obj, _values in response.context["rows"]]

    def count_all(self):
        return self.model.all_objects.count()

    def timeline_kinds(self, obj):
        from guanxi.core.models import TimelineEvent

        return list(
            TimelineEvent.objects.filter(record_type=self.record_type, record_id=obj.pk,
                                         kind__in=("created", "updated", "deleted", "restored"))
            .order_by("at", "id").values_list("kind", flat=True)
        )

    # -- UI ------------------------------------------------------------------------------------

    def test_ui_list_shows_live_rows_only(self, client_rep1):
        rows = [self.make() for _ in range(3)]
        deleted = self.make()
        self.model.all_objects.filter(pk=deleted.pk).update(deleted_at="2024-01-01T00:00:00Z")
        response = client_rep1.get(self.url("list"))
        ids = self.ui_ids(response)
        assert sorted(ids) == sorted(r.pk for r in rows)
        assert response.context["count"].value == 3
        first_column = response.context["rows"][0][1][0]
        assert escape(str(first_column)) in response.content.decode()

    def test_ui_requires_login(self, client, db):
        obj = self.make()
        for url in (self.url("list"), self.url("detail", obj.pk), self.url("add"), self.url("edit", obj.pk)):
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url

    def test_ui_detail(self, client_rep1):
        obj = self.make()
        response = client_rep1.get(self.url("detail", obj.pk))
        assert response.status_code == 200
        assert escape(str(obj)) in response.content.decode()

    def test_ui_missing_and_deleted_are_404(self, client_rep1):
        obj = self.make()
        self.model.all_objects.filter(pk=obj.pk).update(deleted_at="2024-01-01T00:00:00Z")
        for action in ("detail", "edit", "delete"):
            assert client_rep1.get(self.url(action, obj.pk)).status_code == 404
            assert client_rep1.get(self.url(action, 2**62)).status_code == 404
        assert client_rep1.get(f"{self.url('list')}{10**30}/").status_code == 404

    def test_ui_create_then_edit(self, client_rep1, rep1):
        data = resolve(self.form_data)
        assert client_rep1.get(self.url("add")).status_code == 200
        before = self.count_all()
        response = client_rep1.post(self.url("add"), data)
        assert response.status_code == 302, response.content.decode()[:3000]
        assert self.count_all() == before + 1
        obj = self.model.objects.latest("pk")
        assert response["Location"] == obj.get_absolute_url()
        assert obj.created_by == rep1
        assert self.timeline_kinds(obj) == ["created"]

        assert client_rep1.get(self.url("edit", obj.pk)).status_code == 200
        changes = resolve(self.form_update)
        response = client_rep1.post(self.url("edit", obj.pk), {**data, **changes, "version": obj.version})
        assert response.status_code == 302, response.content.decode()[:3000]
        fresh = self.model.objects.get(pk=obj.pk)
        assert fresh.version == obj.version + 1
        for name, value in changes.items():
            assert str(getattr(fresh, name)) == str(value)
        assert self.timeline_kinds(obj) == ["created", "updated"]

        # A stale version: 409, nothing changes.
        stale = {**data, "version": obj.version}
        response = client_rep1.post(self.url("edit", obj.pk), stale)
        assert response.status_code == 409
        again = self.model.objects.get(pk=obj.pk)
        assert again.version == fresh.version
        for name in changes:
            assert getattr(again, name) == getattr(fresh, name)

    def test_ui_create_invalid_changes_nothing(self, client_rep1):
        before = self.count_all()
        response = client_rep1.post(self.url("add"), {})
        assert response.status_code == 422
        assert response.context["form"].errors
        assert self.count_all() == before

    def test_ui_delete_to_recycle_bin_and_restore(self, client_rep1):
        obj = self.make()
        assert client_rep1.get(self.url("delete", obj.pk)).status_code == 200
        response = client_rep1.post(self.url("delete", obj.pk))
        assert response.status_code == 302
        assert not self.model.objects.filter(pk=obj.pk).exists()
        trashed = self.model.all_objects.get(pk=obj.pk)
        assert trashed.deleted_at is not None and trashed.deleted_by is not None
        assert client_rep1.get(self.url("detail", obj.pk)).status_code == 404
        assert obj.pk not in self.ui_ids(client_rep1.get(self.url("list")))

        trash = client_rep1.get(reverse("trash"))
        assert trash.status_code == 200
        restore_url = reverse("trash_restore", args=[self.record_type, obj.pk])
        assert restore_url in trash.content.decode()
        response = client_rep1.post(restore_url)
        assert response.status_code == 302 and response["Location"] == obj.get_absolute_url()
        restored = self.model.objects.get(pk=obj.pk)
        assert restored.deleted_at is None
        assert self.timeline_kinds(obj)[-2:] == ["deleted", "restored"]
        # Restoring a live record is a 404, not a second restore.
        assert client_rep1.post(restore_url).status_code == 404

    # -- API -----------------------------------------------------------------------------------

    def test_api_create_get_patch_delete(self, api, rep1):
        data = resolve(self.create_data)
        response = api.post(self.api_path, data)
        assert response.status_code == 201, response.content
        body = response.json()
        obj = self.model.objects.get(pk=body["id"])
        assert body["version"] == obj.version == 1
        assert obj.created_by == rep1

        response = api.get(f"{self.api_path}/{obj.pk}")
        assert response.status_code == 200
        assert response.json() == body

        changes = resolve(self.update_data)
        response = api.patch(f"{self.api_path}/{obj.pk}", {"version": 1, **changes})
        assert response.status_code == 200, response.content
        patched = response.json()
        assert patched["version"] == 2
        for name, value in changes.items():
            assert patched[name] == value, name

        # Stale version: 409, a JSON error, nothing changes.
        before = api.get(f"{self.api_path}/{obj.pk}").json()
        response = api.patch(f"{self.api_path}/{obj.pk}", {"version": 1, **resolve(self.update_data)})
        assert response.status_code == 409
        assert response.json()["code"] == "stale_version"
        assert api.get(f"{self.api_path}/{obj.pk}").json() == before

        response = api.delete(f"{self.api_path}/{obj.pk}")
        assert response.status_code == 204
        assert api.get(f"{self.api_path}/{obj.pk}").status_code == 404
        assert api.delete(f"{self.api_path}/{obj.pk}").status_code == 404
        assert self.model.all_objects.get(pk=obj.pk).deleted_at is not None
        assert self.timeline_kinds(obj) == ["created", "updated", "deleted"]

    def test_api_invalid_create_is_422_and_creates_nothing(self, api):
        before = self.count_all()
        # Not objects: a JSON string must not pass as one whose `title` is str.title.
        for body in ({}, resolve(self.invalid_create_data), [], "x", "title", 1, None):
            response = api.post(self.api_path, body)
            assert response.status_code == 422, (body, response.content)
            assert response.json()["code"] == "invalid_input"
        assert self.count_all() == before

    def test_api_missing_ids_are_404_or_422(self, api):
        obj = self.make()
        self.model.all_objects.filter(pk=obj.pk).update(deleted_at="2024-01-01T00:00:00Z")
        for pk in (obj.pk, 2**62):
            assert api.get(f"{self.api_path}/{pk}").status_code == 404
            assert api.patch(f"{self.api_path}/{pk}", {"version": 1}).status_code == 404
            response = api.delete(f"{self.api_path}/{pk}")
            assert response.status_code == 404 and response.json()["code"] == "not_found"
        for pk in (10**30, 0, -1, "abc"):
            assert api.get(f"{self.api_path}/{pk}").status_code in (404, 422)
            assert api.patch(f"{self.api_path}/{pk}", {"version": 1}).status_code in (404, 422)

    def test_api_requires_token(self, db):
        obj = self.make()
        anonymous = Client()
        bad = {"HTTP_AUTHORIZATION": "Bearer gx_not-a-real-token"}
        before = self.count_all()
        for headers in ({}, bad):
            for method, url in (("get", self.api_path), ("get", f"{self.api_path}/{obj.pk}"),
                                ("post", self.api_path), ("patch", f"{self.api_path}/{obj.pk}"),
                                ("delete", f"{self.api_path}/{obj.pk}")):
                response = getattr(anonymous, method)(url, data=json.dumps({"version": 1}) if method != "get" else None,
                                                      content_type="application/json", **headers)
                assert response.status_code == 401, (method, url)
                assert response.json()["code"] == "not_authenticated"
        assert self.count_all() == before
        assert self.model.objects.get(pk=obj.pk).version == obj.version

    # -- lists: filters, search, ordering, pagination -----------------------------------------

    def test_filters(self, api, client_rep1):
        assert self.filter_cases, "declare filter_cases"
        for params, matching, non_matching in self.filter_cases:
            self.model.all_objects.all().delete()
            match = self.make(**matching)
            other = self.make(**non_matching)
            query = {k: resolve(v, match) for k, v in params.items()}
            assert api_ids(api.get(self.api_path, **query)) == [match.pk], query
            assert self.ui_ids(client_rep1.get(self.url("list"), query)) == [match.pk], query
            assert other.pk in api_ids(api.get(self.api_path))

    def test_invalid_filter_value_is_400_not_500(self, api, client_rep1):
        self.make()
        names = [n for n, f in self.rt.filterset_class.base_filters.items() if n not in ("q", "tag")]
        for name in names:
            for value in ("\x00", "not-a-value-☃", str(10**30)):
                response = api.get(self.api_path, **{name: value})
                assert response.status_code in (200, 400, 422), (name, value, response.content)
                if response.status_code != 200:
                    assert response.json()["code"] in ("invalid_filter", "invalid_input")
                assert client_rep1.get(self.url("list"), {name: value}).status_code in (200, 400)

    def test_search(self, api, client_rep1):
        assert self.search_cases, "declare search_cases"
        for q, matching, non_matching in self.search_cases:
            self.model.all_objects.all().delete()
            match = self.make(**matching)
            self.make(**non_matching)
            assert api_ids(api.get(self.api_path, q=q)) == [match.pk], q
            assert self.ui_ids(client_rep1.get(self.url("list"), {"q": q})) == [match.pk], q

    def test_ordering(self, api, client_rep1):
        key, kwargs_list = self.ordering_case
        # Created in reverse order, so that falling back to the primary key would fail.
        objs = [self.make(**kw) for kw in reversed(kwargs_list)]
        ascending = [o.pk for o in reversed(objs)]
        assert api_ids(api.get(self.api_path, ordering=key)) == ascending
        assert api_ids(api.get(self.api_path, ordering=f"-{key}")) == ascending[::-1]
        assert self.ui_ids(client_rep1.get(self.url("list"), {"sort": key})) == ascending
        assert self.ui_ids(client_rep1.get(self.url("list"), {"sort": f"-{key}"})) == ascending[::-1]

    def test_unknown_ordering_is_400(self, api, client_rep1, client_manager):
        self.make()
        for bad in ("password", "owner__password", "-deleted_at", "name;drop", "custom__x"):
            if bad.lstrip("-") in self.rt.ordering_allow_list:
                continue
            response = api.get(self.api_path, ordering=bad)
            assert response.status_code == 400, bad
            assert response.json()["code"] == "invalid_ordering"
            assert "ordering" in response.json()["errors"]
            assert client_rep1.get(self.url("list"), {"sort": bad}).status_code == 400
            assert client_manager.get(self.url("export"), {"sort": bad}).status_code == 400

    def test_pagination(self, api, client_rep1):
        objs = [self.make() for _ in range(5)]
        seen = []
        for offset in (0, 2, 4):
            response = api.get(self.api_path, limit=2, offset=offset)
            body = response.json()
            assert body["count"] == 5 and body["count_exact"] is True
            seen.extend(item["id"] for item in body["items"])
        assert sorted(seen) == sorted(o.pk for o in objs)
        assert api.get(self.api_path, limit=2, offset=10).json()["items"] == []
        for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "x"}):
            response = api.get(self.api_path, **bad)
            assert response.status_code == 422, bad
        page1 = self.ui_ids(client_rep1.get(self.url("list"), {"per_page": 25}))
        assert len(page1) == 5
        assert self.ui_ids(client_rep1.get(self.url("list"), {"page": 2})) == []
        assert self.ui_ids(client_rep1.get(self.url("list"), {"page": "x", "per_page": "y"})) == page1

    # -- export --------------------------------------------------------------------------------

    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_export_current_filter_with_formulas_escaped(self, client_manager, fmt):
        # Sales reps may not export; their manager may (and sees rep1's records).
        client_rep1 = client_manager
        params, matching, non_matching = self.export_filter_case or self.filter_cases[0]
        matches = [self.make(**{**matching, self.export_text_field: p}) for p in FORMULA_PAYLOADS]
        other = self.make(**non_matching)
        query = resolve(params)
        rows = export_rows(client_rep1.get(self.url("export"), {**query, "format": fmt}), fmt)
        header, body = rows[0], rows[1:]
        assert header[0] == "ID"
        ids = sorted(int(r[0]) for r in body)
        assert ids == sorted(m.pk for m in matches)
        assert other.pk not in ids
        cells = {str(c) for r in body for c in r}
        for obj in matches:
            payload = getattr(obj, self.export_text_field)
            assert "'" + payload in cells, (payload, cells)
            assert payload not in cells
        for r in body:
            for c in r:
                assert not (isinstance(c, str) and c and c[0] in "=+-@\t\r"), c

    def test_export_unknown_format_is_400(self, client_manager):
        assert client_manager.get(self.url("export"), {"format": "exe"}).status_code == 400

    # -- bulk actions --------------------------------------------------------------------------

    def bulk(self, client, **data):
        response = client.post(self.url("bulk"), data)
        assert response.status_code == 302, response.content[:2000]
        return response

    def test_bulk_actions(self, client_manager, users):
        client_rep1 = client_manager  # assigning owners takes a role with `assign`
        objs = [self.make() for _ in range(3)]
        chosen, untouched = objs[:2], objs[2]
        ids = [o.pk for o in chosen]
        actions = self.rt.bulk_actions
        if "assign_owner" in actions:
            self.bulk(client_rep1, action="assign_owner", ids=ids, owner=users["rep2"].pk)
            assert set(self.model.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {users["rep2"].pk}
            assert self.model.objects.get(pk=untouched.pk).owner_id != users["rep2"].pk
            # A bad owner changes nothing (and is not a 500).
            self.bulk(client_rep1, action="assign_owner", ids=ids, owner="not-a-user")
            self.bulk(client_rep1, action="assign_owner", ids=ids, owner=str(10**30))
            assert set(self.model.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {users["rep2"].pk}
        if "add_tag" in actions:
            self.bulk(client_rep1, action="add_tag", ids=ids, tag="  重点客户 ")
            for obj in chosen:
                assert [t.name for t in obj.tags.all()] == ["重点客户"]
            assert not untouched.tags.exists()
        if "remove_tag" in actions:
            self.bulk(client_rep1, action="remove_tag", ids=ids[:1], tag="重点客户")
            assert not chosen[0].tags.exists()
            assert [t.name for t in chosen[1].tags.all()] == ["重点客户"]
        versions = dict(self.model.objects.values_list("pk", "version"))
        self.bulk(client_rep1, action="delete", ids=[*ids, "²", "-1", str(10**30), "x"])
        assert set(self.model.objects.values_list("pk", flat=True)) == {untouched.pk}
        assert self.model.all_objects.filter(pk__in=ids, deleted_at__isnull=False).count() == 2
        assert all(self.model.all_objects.get(pk=pk).version == versions[pk] + 1 for pk in ids)
        # Unknown actions change nothing.
        self.bulk(client_rep1, action="drop_table", ids=[untouched.pk])
        assert self.model.objects.filter(pk=untouched.pk).exists()

    def test_bulk_all_matching_uses_the_filter(self, client_rep1):
        params, matching, non_matching = self.export_filter_case or self.filter_cases[0]
        match = self.make(**matching)
        other = self.make(**non_matching)
        query = resolve(params)
        self.bulk(client_rep1, action="delete", all_matching="1", **query)
        assert not self.model.objects.filter(pk=match.pk).exists()
        assert self.model.objects.filter(pk=other.pk).exists()

    # -- query counts (no N+1) -----------------------------------------------------------------

    def _queries(self, fn):
        with CaptureQueriesContext(connection) as ctx:
            fn()
        return len(ctx.captured_queries)

    def _assert_constant(self, fn):
        for _ in range(3):
            self.make(**self.rich_kwargs)
        fn()  # warm caches (content types, sessions) before counting
        small = self._queries(fn)
        for _ in range(17):
            self.make(**self.rich_kwargs)
        large = self._queries(fn)
        assert small == large, f"{small} queries for 3 rows, {large} for 20"

    def test_ui_list_query_count_is_constant(self, client_rep1):
        all_columns = [c.name for c in self.rt.columns]

        def fetch():
            response = client_rep1.get(self.url("list"), {"cols": all_columns, "per_page": 25})
            assert response.status_code == 200

        self._assert_constant(fetch)

    def test_api_list_query_count_is_constant(self, api):
        def fetch():
            assert api.get(self.api_path, limit=50).status_code == 200

        self._assert_constant(fetch)

    def test_api_list_items_are_what_the_detail_answers(self, api):
        # The list renders its page itself (framework.rendering), the detail through ninja: same schema,
        # so the same JSON, tags, companies and masked personal data included.
        objs = [self.make(**self.rich_kwargs), self.make()]
        response = api.get(self.api_path, limit=200)
        assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
        items = {item["id"]: item for item in response.json()["items"]}
        for obj in objs:
            assert items[obj.pk] == api.get(f"{self.api_path}/{obj.pk}").json()

    def test_export_query_count_is_constant(self, client_manager):
        def fetch():
            export_rows(client_manager.get(self.url("export"), {"format": "csv"}), "csv")

        self._assert_constant(fetch)


def assert_invalid_input(response, field=None):
    """A 422 with the API's error body, naming `field` among the errors when given."""
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_input"
    if field:
        assert field in body["errors"], body
    return body
