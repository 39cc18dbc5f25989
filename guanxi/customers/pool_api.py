"""REST API of the customer pools (公海), mounted at /api/v1/pools.

Reads: the pools the caller belongs to (administrators: all), one pool's settings with the caller's claimed
count, and its unowned records. Commands: claim and return (the same services as the buttons); pool
create/update for administrators. Errors carry machine-readable codes: 404 not_found for a record or pool
the caller may not see, 409 already_claimed / quota_reached / cooldown / no_pool / not_claimable,
422 invalid_input / reason_required, 403 forbidden for a non-administrator writing pools.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from guanxi.core import access
from guanxi.core.models import Team
from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema

from . import pool_services as services
from .choices import PoolRecordKind
from .models import Pool

router = Router(tags=["pools"])

RecordType = PoolRecordKind


class PoolOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    provinces: list[str]
    claim_quota: int = Field(..., description="How many records of this pool one user may hold at a time.")
    reclaim_days: int = Field(..., description="Days without follow-up or deal before a claim goes back; 0 = off.")
    cooldown_days: int = Field(..., description="Days a user may not re-claim a record they gave up.")
    unowned_accounts: int
    unowned_leads: int
    claimed_by_me: int = Field(..., description="Records of this pool the caller holds (what the quota counts).")
    is_member: bool = Field(..., description="Whether the caller may claim from this pool.")


class PoolDetailOut(PoolOut):
    member_ids: list[int]
    member_team_ids: list[int]


class PoolList(Schema):
    count: int
    items: list[PoolOut]


class PoolRecordOut(Schema):
    record_type: str
    id: int
    name: str
    province: str
    city: str
    created_at: datetime.datetime


class PoolRecordList(Schema):
    count: int
    items: list[PoolRecordOut]


class PoolRecordFilters(Schema):
    record_type: RecordType = Field(RecordType.ACCOUNT, description="customers.account or sales.lead.")
    q: str | None = Field(None, max_length=100, description="Name contains.")
    province: str | None = Field(None, max_length=64)
    limit: int = Field(25, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class ClaimIn(InputSchema):
    record_type: RecordType
    record_id: Id


class ReturnIn(ClaimIn):
    reason: str = Field(..., max_length=services.REASON_MAX, description="Why it goes back (required).")


class CommandOut(Schema):
    record_type: str
    record_id: int
    pool: int | None
    owner: int | None
    claimed_at: datetime.datetime | None
    claimed_by_me: int
    claim_quota: int


class PoolIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    is_active: bool = True
    provinces: list[str] = Field(default_factory=list, max_length=100)
    claim_quota: int = Field(20, ge=0, le=100_000)
    reclaim_days: int = Field(30, ge=0, le=100_000)
    cooldown_days: int = Field(7, ge=0, le=100_000)
    member_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    member_team_ids: list[Id] = Field(default_factory=list, max_length=10_000)


class PoolPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    is_active: bool | None = None
    provinces: list[str] | None = Field(None, max_length=100)
    claim_quota: int | None = Field(None, ge=0, le=100_000)
    reclaim_days: int | None = Field(None, ge=0, le=100_000)
    cooldown_days: int | None = Field(None, ge=0, le=100_000)
    member_ids: list[Id] | None = Field(None, max_length=10_000)
    member_team_ids: list[Id] | None = Field(None, max_length=10_000)


def _pool_out(pool, user, detail=False, unowned=None):
    unowned = unowned if unowned is not None else services.unowned_counts([pool.pk])
    data = {
        "id": pool.pk, "name": pool.name, "description": pool.description, "is_active": pool.is_active,
        "provinces": services.split_provinces(pool.provinces), "claim_quota": pool.claim_quota,
        "reclaim_days": pool.reclaim_days, "cooldown_days": pool.cooldown_days,
        "unowned_accounts": unowned[PoolRecordKind.ACCOUNT].get(pool.pk, 0),
        "unowned_leads": unowned[PoolRecordKind.LEAD].get(pool.pk, 0),
        "claimed_by_me": services.claimed_count(user, pool), "is_member": services.is_member(user, pool),
    }
    if detail:
        data["member_ids"] = sorted(pool.members.values_list("pk", flat=True))
        data["member_team_ids"] = sorted(pool.member_teams.values_list("pk", flat=True))
    return data


def _visible_pool(user, pk):
    return get_object_or_404(services.visible_pools(user), pk=pk)


def _raise(e):
    raise ApiError(e.status, e.code, e.messages[0])


def _command_out(record, user):
    pool = record.pool
    return {"record_type": record.type_key(), "record_id": record.pk, "pool": record.pool_id, "owner": record.owner_id,
            "claimed_at": record.claimed_at, "claimed_by_me": services.claimed_count(user, pool) if pool else 0,
            "claim_quota": pool.claim_quota if pool else 0}


@router.get("", response={200: PoolList, **ERRORS}, summary="List customer pools", operation_id="pool_list",
            description="The active pools the caller belongs to (directly or through their team); administrators "
            "see every pool.")
def list_pools(request):
    pools = list(services.visible_pools(request.auth).order_by("name", "pk"))
    unowned = services.unowned_counts([p.pk for p in pools])
    return {"count": len(pools), "items": [_pool_out(p, request.auth, unowned=unowned) for p in pools]}


def _record(request, payload):
    record = services.record_for_command(request.auth, payload.record_type, payload.record_id)
    if record is None:
        raise ApiError(404, "not_found", _("Not found."))
    return record


@router.post("/claim", response={200: CommandOut, **ERRORS}, summary="Claim a record from its pool",
             operation_id="pool_claim",
             description="Makes the caller the owner of an unowned company or lead in a pool they belong to. "
             "409 with code already_claimed, quota_reached, cooldown, no_pool or not_claimable when refused.")
def claim(request, payload: ClaimIn):
    try:
        record = services.pool_claim(record=_record(request, payload), actor=request.auth)
    except services.PoolError as e:
        _raise(e)
    return _command_out(record, request.auth)


@router.post("/return", response={200: CommandOut, **ERRORS}, summary="Return a record to its pool",
             operation_id="pool_return",
             description="The owner (or someone who may change and assign it) gives a claimed record back to its "
             "pool, with a reason.")
def give_back(request, payload: ReturnIn):
    record = _record(request, payload)
    if not services.may_return(request.auth, record):
        raise ApiError(404, "not_found", _("Not found."))
    try:
        record = services.pool_return(record=record, actor=request.auth, reason=payload.reason)
    except services.PoolError as e:
        _raise(e)
    return _command_out(record, request.auth)


# After /claim and /return: "/{pk}" would otherwise take those paths.
@router.get("/{pk}", response={200: PoolDetailOut, **ERRORS}, summary="Get a customer pool",
            operation_id="pool_get")
def get_pool(request, pk: Id):
    return _pool_out(_visible_pool(request.auth, pk), request.auth, detail=True)


@router.get("/{pk}/records", response={200: PoolRecordList, **ERRORS}, summary="List a pool's unowned records",
            operation_id="pool_records", description="Companies or leads of the pool without an owner, newest first.")
def pool_records(request, pk: Id, filters: Query[PoolRecordFilters]):
    pool = _visible_pool(request.auth, pk)
    model = services.pool_models()[filters.record_type]
    qs = services.pool_records(request.auth, pool, model)
    q = (filters.q or "").replace("\x00", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | (Q(company_name__icontains=q) if services._is_lead(model) else Q()))
    if filters.province:
        qs = qs.filter(province=filters.province.replace("\x00", ""))
    count = qs.count()
    rows = qs.order_by("-id")[filters.offset:filters.offset + filters.limit]
    return {"count": count, "items": [
        {"record_type": model._meta.label_lower, "id": r.pk, "name": str(r), "province": r.province, "city": r.city,
         "created_at": r.created_at} for r in rows]}


def _admin(request):
    if not access.is_admin(request.auth):
        raise ApiError(403, "forbidden", _("Only administrators manage customer pools."))


def _save(request, pool, data):
    members = teams = None
    if data.get("member_ids") is not None:
        ids = set(data.pop("member_ids"))
        members = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
        if len(members) != len(ids):
            raise ApiError(422, "invalid_input", _("Invalid input."), {"member_ids": [_("No such active user.")]})
    data.pop("member_ids", None)
    if data.get("member_team_ids") is not None:
        ids = set(data.pop("member_team_ids"))
        teams = list(Team.objects.filter(pk__in=ids))
        if len(teams) != len(ids):
            raise ApiError(422, "invalid_input", _("Invalid input."), {"member_team_ids": [_("No such team.")]})
    data.pop("member_team_ids", None)
    if "provinces" in data:
        data["provinces"] = ", ".join(services.split_provinces(",".join(data["provinces"] or [])))
    fields = {k: v for k, v in data.items() if v is not None}
    try:
        return services.pool_save(actor=request.auth, pool=pool, fields=fields, members=members,
                                  member_teams=teams)
    except services.PoolError as e:
        _raise(e)
    except ValidationError as e:
        from guanxi.framework.api import validation_errors

        raise ApiError(422, "invalid_input", _("Invalid input."), validation_errors(e))
    except IntegrityError:
        raise ApiError(409, "conflict", _("The change conflicts with another record."))


@router.post("", response={201: PoolDetailOut, **ERRORS}, summary="Create a customer pool (administrators)",
             operation_id="pool_create")
def create_pool(request, payload: PoolIn):
    _admin(request)
    pool = _save(request, None, payload.model_dump())
    return 201, _pool_out(pool, request.auth, detail=True)


@router.patch("/{pk}", response={200: PoolDetailOut, **ERRORS}, summary="Update a customer pool (administrators)",
              operation_id="pool_update")
def update_pool(request, pk: Id, payload: PoolPatch):
    _admin(request)
    pool = get_object_or_404(Pool, pk=pk)
    _save(request, pool, payload.model_dump(exclude_unset=True))
    return _pool_out(Pool.objects.get(pk=pk), request.auth, detail=True)
