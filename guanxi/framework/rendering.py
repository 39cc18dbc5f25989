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

from django.db.models import Manager, QuerySet
from django.db.models.fields.files import FieldFile
from ninja.renderers import JSONRenderer
from pydantic import BaseModel, TypeAdapter, create_model

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


class RowRenderer:
    """`render(objs)` → the rows as `schema.model_validate(obj).model_dump()` would give them."""

    def __init__(self, schema):
        decorators = schema.__pydantic_decorators__
        if decorators.field_validators or decorators.model_serializers or decorators.field_serializers:
            raise TypeError(f"{schema.__name__}: validators and serializers are not copied to the plain model")
        self.readers = []
        fields = {}
        for name, info in schema.model_fields.items():
            key = info.alias or name  # what pydantic asks ninja's getter for
            resolver = schema._ninja_resolvers.get(key)
            if resolver is not None and (not resolver._static or resolver._takes_context):
                raise TypeError(f"{schema.__name__}.resolve_{key}: only static resolvers without context")
            self.readers.append((key, resolver._func if resolver else None))
            fields[name] = (info.annotation, info)
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
