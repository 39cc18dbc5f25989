"""framework.prepared: a query compiled once gives what the ORM gives, for each new value."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.core.models import ApiToken, hash_token
from guanxi.framework.api import TOKEN_USER
from guanxi.framework.prepared import PreparedQuery

pytestmark = pytest.mark.django_db


def _by_name(name):
    return ApiToken.objects.filter(name=name).order_by("pk").values_list("pk", "created_at", "revoked_at")


def _by_user(user_id):
    return ApiToken.objects.filter(user_id=user_id).order_by("pk").values_list("name", flat=True)


def test_rows_are_the_orm_rows_for_each_new_value(rep1, users):
    for name in ("a", "a", "b"):
        ApiToken.issue(user=rep1, name=name)
    ApiToken.issue(user=users["rep2"], name="c")
    by_name = PreparedQuery(ApiToken, _by_name)
    for name in ("a", "b", "none", "a"):
        # converters applied: SQLite hands back text, the ORM (and this) datetimes
        assert [tuple(row) for row in by_name.rows(name)] == list(_by_name(name)), name
    by_user = PreparedQuery("core.ApiToken", _by_user, kinds=(int,))
    assert by_user.rows(rep1.pk) == [["a"], ["a"], ["b"]]
    assert by_user.rows(users["rep2"].pk) == [["c"]]
    assert by_user.first(0) is None
    with CaptureQueriesContext(connection) as ctx:
        by_user.rows(rep1.pk)
    assert len(ctx.captured_queries) == 1


def test_a_value_the_field_would_change_is_refused(rep1):
    # An integer field turns a string marker into... an error, or the marker would not reach the SQL.
    with pytest.raises((ValueError, TypeError)):
        PreparedQuery(ApiToken, _by_user).rows(rep1.pk)


def test_token_user_honours_revocation_and_inactive_users(rep1):
    token, raw = ApiToken.issue(user=rep1, name="t")
    token_pk, last_used, *_user = TOKEN_USER.first(hash_token(raw))
    assert token_pk == token.pk and last_used is None
    assert TOKEN_USER.first(hash_token(raw + "x")) is None
    token.revoked_at = timezone.now()
    token.save()
    assert TOKEN_USER.first(hash_token(raw)) is None
    _token2, raw2 = ApiToken.issue(user=rep1, name="t2")
    rep1.is_active = False
    rep1.save()
    assert TOKEN_USER.first(hash_token(raw2)) is None
