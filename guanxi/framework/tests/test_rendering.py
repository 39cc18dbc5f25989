"""framework.rendering: a page rendered in one pydantic call is what ninja renders, nested schemas included."""

import datetime
from types import SimpleNamespace

import pytest
from ninja import Schema

from guanxi.framework.rendering import RowRenderer


class Part(Schema):
    account: int
    role: str = ""


class Whole(Schema):
    name: str
    parts: list[Part]
    main: Part | None = None
    at: datetime.datetime

    @staticmethod
    def resolve_parts(obj):
        return [{"account": a, "role": r} for a, r in obj.parts]


def test_rows_with_nested_schemas_are_what_ninja_validates():
    at = datetime.datetime(2026, 12, 3, 8, 30, tzinfo=datetime.UTC)
    main = SimpleNamespace(account=1, role="采购")  # an object, read by its attributes as ninja's getter does
    rows = [SimpleNamespace(name="甲", parts=[(1, "采购"), (2, "")], main=main, at=at),
            SimpleNamespace(name="<b>乙</b>", parts=[], main=None, at=at)]
    expected = [Whole.from_orm(row).model_dump() for row in rows]
    assert RowRenderer(Whole).render(rows) == expected
    assert expected[0]["parts"] == [{"account": 1, "role": "采购"}, {"account": 2, "role": ""}]


def test_what_the_plain_models_cannot_copy_is_refused():
    class WithResolver(Schema):
        role: str

        @staticmethod
        def resolve_role(obj):
            return "x"

    class Outer(Schema):
        inner: list[WithResolver]

    with pytest.raises(TypeError, match="resolvers"):
        RowRenderer(Outer)
