"""Rendering a page of records through an API schema with one call into pydantic.

ninja validates a response from model instances through its DjangoGetter: a Python call per field and
row, about 500 on a 25-row page of contacts and a tenth of an API list request (docs/performance.md).
Reading the values into dicts first, as that getter would (`resolve_<field>`, else the attribute), and
validating those with a plain pydantic model of the same fields gives the same values and JSON from
one call into pydantic-core.
"""

import datetime
import decimal
import functools
import types
from typing import Annotated, Union, get_args, get_origin

from django.db.models import Manager, QuerySet
from django.db.models.fields.files import FieldFile
from ninja import Schema
from ninja.renderers import JSONRenderer
from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

_JSON = JSONRenderer()
CONTENT_TYPE = f"{_JSON.media_type}; charset={_JSON.charset}"


_SCALARS = {str, int, bool, float, list, dict, datetime.date, datetime.datetime, decimal.Decimal}


def _convert(value):
    # What ninja's DjangoGetter does with a value read from a model instance.
    if isinstance(value, Manager):
        return list(value.all())
    if isinstance(value, QuerySet):
        return list(value)
    if callable(value):
        return value()
    if isinstance(value, FieldFile):
        return value.url if value else None
    return value


def _check(schema):
    decorators = schema.__pydantic_decorators__
    if decorators.field_validators or decorators.model_serializers or decorators.field_serializers:
        raise TypeError(f"{schema.__name__}: validators and serializers are not copied to the plain model")


class _Nested(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # ninja's getter reads objects' attributes too


@functools.cache
def _plain_model(schema):
    """A plain pydantic model of a nested ninja Schema's fields: ninja's validator would wrap each value
    in its getter first, a Python call per field and row."""
    _check(schema)
    decorators = schema.__pydantic_decorators__
    own_validators = set(decorators.model_validators) - set(Schema.__pydantic_decorators__.model_validators)
    if (schema._ninja_resolvers or own_validators or decorators.computed_fields
            or schema.model_config != Schema.model_config):
        raise TypeError(f"{schema.__name__}: resolvers, validators, computed fields and its own configuration "
                        "are not copied to the plain model")
    fields = {name: (_plain(info.annotation), info) for name, info in schema.model_fields.items()}
    return create_model(f"{schema.__name__}Plain", __base__=_Nested, **fields)


def _plain(annotation):
    """The annotation with every nested ninja Schema replaced by its plain model (list[X], X | None, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, Schema):
        return _plain_model(annotation)
    args = get_args(annotation)
    plain = tuple(_plain(a) for a in args)
    if plain == args:
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated:
        return Annotated[(plain[0], *annotation.__metadata__)]
    if origin in (Union, types.UnionType):
        return Union[plain]  # noqa: UP007 (rebuilt from its parts)
    return origin[plain]


class RowRenderer:
    """`render(objs)` → the rows as `schema.model_validate(obj).model_dump()` would give them."""

    def __init__(self, schema):
        _check(schema)
        self.readers = []
        fields = {}
        for name, info in schema.model_fields.items():
            key = info.alias or name  # what pydantic asks ninja's getter for
            resolver = schema._ninja_resolvers.get(key)
            if resolver is not None and (not resolver._static or resolver._takes_context):
                raise TypeError(f"{schema.__name__}.resolve_{key}: only static resolvers without context")
            self.readers.append((key, resolver._func if resolver else None))
            fields[name] = (_plain(info.annotation), info)
        plain = create_model(f"{schema.__name__}Row", __base__=BaseModel, **fields)
        self.adapter = TypeAdapter(list[plain])

    def read(self, obj):
        row = {}
        for key, func in self.readers:
            value = func(obj) if func else getattr(obj, key)
            row[key] = value if value is None or type(value) in _SCALARS else _convert(value)
        return row

    def render(self, objs):
        return self.adapter.dump_python(self.adapter.validate_python([self.read(o) for o in objs]))


@functools.cache
def row_renderer(schema):
    return RowRenderer(schema)


def json_body(data):
    """Bytes of `data` as ninja's JSON renderer writes them (same encoder: dates, decimals, UUIDs)."""
    return _JSON.render(None, data, response_status=200)
