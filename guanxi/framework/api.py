"""API helpers: the error body, token auth, input base schema and one generic CRUD router per record type."""

import datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.security import HttpBearer, SessionAuth
from pydantic import BaseModel, create_model, field_validator, model_validator

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction
from guanxi.core.masking import sensitive_fields

from . import services
from .errors import Conflict, StateError
from .listing import BadOrdering, page_and_count, parse_ordering
from .prepared import PreparedQuery
from .redaction import prepare_for_display
from .rendering import CONTENT_TYPE, json_body, row_renderer
from .validators import MAX_ID

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class ErrorOut(Schema):
    code: str = Field(description="Machine-readable error code, e.g. invalid_input, not_found, stale_version.")
    detail: str
    errors: dict[str, list[str]] = Field(default_factory=dict, description="Field name → messages.")


class ApiError(Exception):
    def __init__(self, status, code, detail, errors=None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, errors or {}


# 403: a signed-in browser session without a valid CSRF token.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def error_body(code, detail, errors=None):
    return {"code": code, "detail": str(detail), "errors": errors or {}}


def validation_errors(exc: ValidationError):
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if k == "__all__" else k): [str(m) for m in messages]
                for k, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _bad_text(value):
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_bad_text(v) for v in value)
    if isinstance(value, BaseModel):
        return _bad_text(value.model_dump())
    return False


class InputSchema(Schema):
    """Base of every request body: NUL bytes and lone surrogates never reach the database."""

    # Per field, after validation: a model-level "before" validator only sees ninja's DjangoGetter
    # wrapper (whose __dict__ is empty), so it never saw the values.
    @field_validator("*", mode="after")
    @classmethod
    def reject_bad_text(cls, value):
        if _bad_text(value):
            raise ValueError(_("Text must not contain NUL characters or unpaired surrogates."))
        return value

    @field_validator("*", mode="after")
    @classmethod
    def aware_times_in_utc(cls, value):
        # Python takes UTC offsets up to ±23:59, PostgreSQL only up to ±15:59 (a 500 before): the same
        # instant in UTC fits both.
        if isinstance(value, datetime.datetime) and value.utcoffset() is not None:
            try:
                return value.astimezone(datetime.UTC)
            except OverflowError:
                raise ValueError(_("The date and time is out of range.")) from None
        return value

    @model_validator(mode="wrap")
    @classmethod
    def require_an_object(cls, data, handler):
        # ninja reads body fields as attributes, so a JSON string "x" would pass as an object whose
        # `title` is str.title; a body must be a JSON object.
        raw = getattr(data, "_obj", data)
        if not isinstance(raw, (dict, BaseModel)):
            raise ValueError(_("The request body must be a JSON object."))
        return handler(data)


def _token_user_query(key_hash):
    from django.contrib.auth import get_user_model

    from guanxi.core.models import ApiToken

    user_fields = [f"user__{f.attname}" for f in get_user_model()._meta.concrete_fields]
    # key_hash is unique: no ordering
    return ApiToken.objects.active().filter(key_hash=key_hash).order_by().values_list(
        "pk", "last_used_at", *user_fields)[:1]


# Every API request runs this look-up; compiled once, it costs a fifth of the ORM's time.
TOKEN_USER = PreparedQuery("core.ApiToken", _token_user_query)


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        from django.contrib.auth import get_user_model

        from guanxi.core.models import ApiToken, hash_token

        User = get_user_model()
        found = TOKEN_USER.first(hash_token(token))
        if found is None:
            return None
        token_pk, last_used_at, *user_values = found
        user = User.from_db(TOKEN_USER.alias, [f.attname for f in User._meta.concrete_fields], user_values)
        now = timezone.now()
        if last_used_at is None or (now - last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token_pk).update(last_used_at=now)  # at most once a minute
        request.user = user
        # As UserPreferencesMiddleware does for a browser session: labels and messages in the user's language.
        if user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return user


class BrowserSessionAuth(SessionAuth):
    """The browser session, CSRF-checked only when it belongs to a signed-in user.

    ninja checks CSRF before looking at the session, so a request without credentials but with a stale
    session cookie got 403 instead of 401.
    """

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


def _filter_schema(rt):
    """A Query schema documenting the FilterSet's parameters (values are passed to the FilterSet as-is)."""
    fields = {
        "q": (str | None, Field(None, max_length=200, description="Search text.")),
        "ordering": (
            str | None,
            Field(None, max_length=200, description="Comma-separated; prefix - for descending. Allowed: "
                  + ", ".join(sorted(rt.ordering_allow_list))),
        ),
        "limit": (int, Field(25, ge=1, le=200)),
        "offset": (int, Field(0, ge=0, le=10_000_000)),
    }
    for name in rt.filterset_class.base_filters:
        if name not in fields:
            fields[name] = (str | None, Field(None, max_length=200))
    return create_model(f"{rt.model.__name__}Filters", __base__=Schema, **fields)


# Custom fields are defined at run time, so their filters cannot be listed as parameters of the schema.
CUSTOM_FILTERS = (
    "Custom fields, defined by administrators, filter with parameters of their own: `cf_<name>` (text: "
    "contains, case-insensitive; choice: equals), `cf_<name>_from` and `cf_<name>_to` (date, YYYY-MM-DD, "
    "inclusive), `cf_<name>_min` and `cf_<name>_max` (number and money, inclusive). An invalid value is a "
    "400 `invalid_filter`; an unknown name filters nothing."
)


def crud_router(rt, *, out_schema, create_schema, update_schema, to_fields, tag):
    """List, detail, create, update (PATCH with version) and delete endpoints for one record type.

    `to_fields(payload, obj, user) -> (fields, related)` turns a validated body into model values,
    resolving and restricting foreign keys (raise ApiError for a reference the user cannot see).
    """
    router = Router(tags=[tag])
    model = rt.model
    name = model.__name__
    list_schema = create_model(f"{name}List", __base__=Schema, count=(int, ...), count_exact=(bool, ...),
                               items=(list[out_schema], ...))
    filters_schema = _filter_schema(rt)
    with translation.override("en"):  # the OpenAPI document is English developer documentation
        name_en, names = str(rt.verbose_name), str(rt.verbose_name_plural)

    def get_for(request, pk, action, *, api=False):
        return get_object_or_404(rt.base_queryset(request.auth, action, api=api), pk=pk)

    def shown(request, pk):
        """The record as the API shows it: re-read through the user's scope, personal data masked."""
        return prepare_for_display([rt.base_queryset(request.auth, api=True).get(pk=pk)], request.auth)[0]

    @router.get("", response={200: list_schema, **ERRORS}, summary=f"List {names}",
                operation_id=f"{name.lower()}_list", description=CUSTOM_FILTERS if hasattr(model, "custom") else "")
    def list_records(request, filters: Query[filters_schema]):
        # Every query parameter goes to the FilterSet, which reads only its own filters, including the
        # custom-field ones (cf_<name>, cf_<name>_min, ...) that exist only per instance.
        # only_given: the FilterSet copies and validates only the filters the request names.
        fs = rt.filterset_class(request.GET, queryset=rt.base_queryset(request.auth, "view", api=True),
                                request=request, only_given=True)
        if not fs.is_valid():
            raise ApiError(400, "invalid_filter", _("Invalid filter value."),
                           {k: [str(m) for m in v] for k, v in fs.errors.items()})
        try:
            ordering = parse_ordering(rt, filters.ordering) or parse_ordering(rt, rt.default_ordering)
        except BadOrdering as e:
            raise ApiError(400, e.code, str(e), {"ordering": [str(e)]})
        items, count = page_and_count(fs.qs.order_by(*ordering), offset=filters.offset, limit=filters.limit,
                                      filtered=fs.is_filtered)
        # Rendered here rather than by ninja: the same schema and JSON, one pydantic call for the page.
        rows = row_renderer(out_schema).render(prepare_for_display(items, request.auth))
        return HttpResponse(json_body({"count": count.value, "count_exact": count.exact, "items": rows}),
                            content_type=CONTENT_TYPE)

    @router.get("/{pk}", response={200: out_schema, **ERRORS}, summary=f"Get a {name_en}",
                operation_id=f"{name.lower()}_get")
    def get_record(request, pk: Id):
        return prepare_for_display([get_for(request, pk, "view", api=True)], request.auth)[0]

    @router.post("", response={201: out_schema, **ERRORS}, summary=f"Create a {name_en}",
                 operation_id=f"{name.lower()}_create")
    def create_record(request, payload: create_schema):
        if not access.allows(request.auth, "add", model):
            raise ApiError(403, "forbidden", _("Your role does not allow creating these records."))
        fields, related = to_fields(payload.model_dump(exclude_unset=True), None, request.auth)
        obj = services.create_for(rt)(actor=request.auth, fields=fields, related=related)
        if not rt.base_queryset(request.auth).filter(pk=obj.pk).exists():
            # E.g. a manager created it for someone outside their own view: answer with the id only.
            return 201, prepare_for_display([obj], request.auth)[0]
        return 201, shown(request, obj.pk)

    @router.patch("/{pk}", response={200: out_schema, **ERRORS}, summary=f"Update a {name_en}",
                  operation_id=f"{name.lower()}_update")
    def update_record(request, pk: Id, payload: update_schema):
        obj = get_for(request, pk, "change")
        data = payload.model_dump(exclude_unset=True)
        version = data.pop("version")
        fields, related = to_fields(data, obj, request.auth)
        update = rt.update or services.record_update
        update(obj=obj, actor=request.auth, fields=fields, related=related, version=version)
        return shown(request, obj.pk)

    @router.delete("/{pk}", response={204: None, **ERRORS}, summary=f"Move a {name_en} to the recycle bin",
                   operation_id=f"{name.lower()}_delete")
    def delete_record(request, pk: Id):
        services.record_delete(obj=get_for(request, pk, "delete"), actor=request.auth)
        return 204, None

    if sensitive_fields(model):
        names = sorted(sensitive_fields(model))
        reveal_in = create_model(f"{name}RevealIn", __base__=InputSchema,
                                 fields=(list[str] | None, Field(None, max_length=len(names),
                                                                 description="Fields to reveal; all when omitted. "
                                                                 "Allowed: " + ", ".join(names))))
        reveal_out = create_model(f"{name}RevealOut", __base__=Schema, id=(int, ...),
                                  fields=(dict[str, str], ...))

        @router.post("/{pk}/reveal", response={200: reveal_out, **ERRORS},
                     summary=f"Reveal the personal data of a {name_en} (audited)",
                     operation_id=f"{name.lower()}_reveal")
        def reveal_record(request, pk: Id, payload: reveal_in):
            chosen = payload.fields if payload.fields is not None else names
            unknown = [f for f in chosen if f not in names]
            if unknown:
                raise ApiError(422, "invalid_input", _("Invalid input."),
                               {"fields": [_("Not a sensitive field: %(names)s") % {"names": ", ".join(unknown)}]})
            obj = get_for(request, pk, "reveal")
            audit_log(actor=request.auth, action=AuditAction.REVEAL, obj=obj, data={"fields": chosen, "via": "api"})
            return {"id": obj.pk, "fields": {f: getattr(obj, f) or "" for f in chosen}}

    return router


def install_error_handlers(api):
    from ninja.errors import AuthenticationError, HttpError
    from ninja.errors import ValidationError as NinjaValidationError

    @api.exception_handler(ApiError)
    def _api_error(request, exc):
        return api.create_response(request, error_body(exc.code, exc.detail, exc.errors), status=exc.status)

    @api.exception_handler(NinjaValidationError)
    def _ninja_validation(request, exc):
        errors: dict[str, list[str]] = {}
        for err in exc.errors:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "payload", "query", "path", "filters")]
            errors.setdefault(".".join(loc) or "non_field_errors", []).append(err.get("msg", "invalid"))
        return api.create_response(request, error_body("invalid_input", _("Invalid input."), errors), status=422)

    @api.exception_handler(ValidationError)
    def _django_validation(request, exc):
        return api.create_response(
            request, error_body("invalid_input", _("Invalid input."), validation_errors(exc)), status=422
        )

    @api.exception_handler(Conflict)
    def _conflict(request, exc):
        return api.create_response(
            request,
            error_body("stale_version", _("The record was changed by someone else; fetch it again and retry.")),
            status=409,
        )

    @api.exception_handler(IntegrityError)
    def _integrity(request, exc):
        return api.create_response(
            request, error_body("conflict", _("The change conflicts with another record.")), status=409
        )

    @api.exception_handler(AuthenticationError)
    def _auth(request, exc):
        return api.create_response(request, error_body("not_authenticated", _("Authentication required.")), status=401)

    @api.exception_handler(HttpError)
    def _http(request, exc):
        code = {404: "not_found", 400: "bad_request", 403: "forbidden", 405: "method_not_allowed"}.get(
            exc.status_code, "error")
        return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)

    from django.http import Http404

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return api.create_response(request, error_body("not_found", _("Not found.")), status=404)


# -- commands (state transitions) ---------------------------------------------------------------------


def command_target(model, user, pk, *, denied, view_only, action="change", select_related=()):
    """The record a command endpoint acts on: 403 with `denied` when the role lacks `action` on the type,
    403 with `view_only` when the user sees this record but may not act on it, 404 outside their scope."""
    from django.http import Http404

    if not access.allows(user, action, model):
        raise ApiError(403, "forbidden", denied)
    qs = model.objects.restrict(user, action).filter(pk=pk)
    obj = (qs.select_related(*select_related) if select_related else qs).first()
    if obj is None:
        if action != "view" and model.objects.restrict(user, "view").filter(pk=pk).exists():
            raise ApiError(403, "forbidden", view_only)
        raise Http404
    return obj


def run_command(fn, **kwargs):
    """Call the service behind a command endpoint: a state error answers 409 with its code, a refusal 403
    (validation errors and stale versions go through the API's own handlers)."""
    try:
        return fn(**kwargs)
    except StateError as e:
        raise ApiError(409, e.code, e.message) from None
    except PermissionDenied as e:
        raise ApiError(403, "forbidden", str(e) or _("Your role does not allow this.")) from None
