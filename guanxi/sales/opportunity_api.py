"""REST API for deals: CRUD on the generic router (the stage is set on create only), the stage commands
(move, won, lost, reopen) calling the same services as the board, and the pipelines with their stages."""

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from djmoney.money import Money
from ninja import Field, Router, Schema

from guanxi.core import access
from guanxi.customers.models import Account, Contact
from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema, crud_router
from guanxi.framework.redaction import prepare_for_display
from guanxi.framework.related import tag_names

from . import opportunity_services as services
from .choices import ForecastCategory, LeadSource, StageKind
from .models import LostReason, Opportunity, Pipeline, Stage
from .opportunity_records import OPPORTUNITY

Custom = dict[str, Any]
MAX_CONTACTS = 100
Version = Field(None, ge=1, le=2**31, description="The version you read; a stale one gets 409.")


class OpportunityOut(Schema):
    id: int
    name: str
    account: int | None = Field(None, alias="account_id")
    contacts: list[int]
    pipeline: int = Field(..., alias="pipeline_id")
    stage: int = Field(..., alias="stage_id")
    stage_kind: str
    amount: Decimal
    amount_currency: str
    expected_close_date: datetime.date | None
    probability: int | None = Field(None, description="Empty: the stage's default probability.")
    effective_probability: int
    forecast_category: str
    source: str
    lead: int | None = Field(None, alias="lead_id")
    description: str
    stage_entered_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    lost_reason: int | None = Field(None, alias="lost_reason_id")
    lost_note: str
    is_stalled: bool = Field(False, description="Open and idle in its stage longer than the stage allows.")
    owner: int | None = Field(None, alias="owner_id")
    tags: list[str]
    custom: Custom
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_contacts(obj):
        return sorted(c.pk for c in obj.contacts.all())

    @staticmethod
    def resolve_tags(obj):
        return tag_names(obj)

    @staticmethod
    def resolve_amount(obj):
        return obj.amount.amount

    @staticmethod
    def resolve_amount_currency(obj):
        return str(obj.amount.currency)

    @staticmethod
    def resolve_stage_kind(obj):
        return obj.stage.kind

    @staticmethod
    def resolve_is_stalled(obj):
        return bool(getattr(obj, "is_stalled", False))


class OpportunityIn(InputSchema):
    name: str = Field(..., max_length=200)
    account: Id
    contacts: list[Id] = Field(default_factory=list, max_length=MAX_CONTACTS)
    pipeline: Id | None = Field(None, description="Defaults to the default pipeline.")
    stage: Id | None = Field(None, description="An open stage of the pipeline; defaults to its first one. "
                             "Afterwards the stage changes only through the move / won / lost commands.")
    amount: Decimal = Field(Decimal(0), max_digits=18, decimal_places=2, ge=0)
    amount_currency: str = Field("CNY", max_length=3)
    expected_close_date: datetime.date | None = None
    probability: int | None = Field(None, ge=0, le=100)
    forecast_category: ForecastCategory = ForecastCategory.PIPELINE
    source: LeadSource | None = None
    description: str = Field("", max_length=5000)
    owner: Id | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom: Custom = Field(default_factory=dict)


class OpportunityPatch(InputSchema):
    version: int = Field(..., ge=1, le=2**31, description="The version you read; a stale one gets 409.")
    name: str | None = Field(None, max_length=200)
    account: Id | None = None
    contacts: list[Id] | None = Field(None, max_length=MAX_CONTACTS)
    amount: Decimal | None = Field(None, max_digits=18, decimal_places=2, ge=0)
    amount_currency: str | None = Field(None, max_length=3)
    expected_close_date: datetime.date | None = None
    probability: int | None = Field(None, ge=0, le=100)
    forecast_category: ForecastCategory | None = None
    source: LeadSource | None = None
    description: str | None = Field(None, max_length=5000)
    owner: Id | None = None
    tags: list[str] | None = Field(None, max_length=50)
    custom: Custom | None = None


def _invalid(field, message):
    return ApiError(422, "invalid_input", _("Invalid input."), {field: [message]})


def opportunity_fields(data, obj, user):
    related = {}
    if "tags" in data:
        related["tags"] = data.pop("tags") or []
    if "contacts" in data:
        ids = set(data.pop("contacts") or [])
        contacts = list(Contact.objects.restrict(user, "view").filter(pk__in=ids))
        if len(contacts) != len(ids):
            raise _invalid("contacts", _("No such contact."))
        related["contacts"] = contacts
    for name in ("description", "source"):
        if name in data and data[name] is None:
            data[name] = ""
    for name in ("name", "forecast_category"):
        if name in data and data[name] is None:
            data.pop(name)
    if "account" in data:
        pk = data.pop("account")
        if pk is not None:
            account = Account.objects.restrict(user, "view").filter(pk=pk).first()
            if account is None:
                raise _invalid("account", _("No such company."))
            data["account"] = account
    currency = data.pop("amount_currency", None)
    if currency is not None and currency not in settings.CURRENCIES:
        raise _invalid("amount_currency", _("Unknown currency."))
    if "amount" in data or currency is not None:
        amount = data.pop("amount", None)
        if amount is None:
            amount = obj.amount.amount if obj is not None else Decimal(0)
        data["amount"] = Money(amount, currency or (str(obj.amount.currency) if obj is not None else "CNY"))
    if "pipeline" in data:
        pk = data.pop("pipeline")
        if pk is not None:
            pipeline = Pipeline.objects.filter(pk=pk, is_active=True).first()
            if pipeline is None:
                raise _invalid("pipeline", _("No such active pipeline."))
            data["pipeline"] = pipeline
    if "stage" in data:
        pk = data.pop("stage")
        if pk is not None:
            stage = Stage.objects.filter(pk=pk).first()
            if stage is None:
                raise _invalid("stage", _("No such stage."))
            data["stage"] = stage
            data.setdefault("pipeline", stage.pipeline)
    if "owner" in data:
        pk = data.pop("owner")
        if pk is None:
            data["owner"] = None
        else:
            owner = get_user_model().objects.filter(pk=pk, is_active=True).first()
            if owner is None:
                raise _invalid("owner", _("No such active user."))
            data["owner"] = owner
    if "custom" in data and data["custom"] is None:
        data["custom"] = {}
    return data, related


crud = crud_router(OPPORTUNITY, out_schema=OpportunityOut, create_schema=OpportunityIn,
                   update_schema=OpportunityPatch, to_fields=opportunity_fields, tag="opportunities")


# -- commands ----------------------------------------------------------------------------------------


class OpportunityMoveIn(InputSchema):
    stage: Id = Field(..., description="An open stage of the deal's pipeline.")
    version: int | None = Version
    rank: float | None = Field(None, ge=-1e15, le=1e15, description="Position in the board column.")


class OpportunityWonIn(InputSchema):
    version: int | None = Version


class OpportunityLostIn(InputSchema):
    reason: Id = Field(..., description="An active lost reason (GET /api/v1/pipelines lists them).")
    note: str = Field("", max_length=500)
    version: int | None = Version


class OpportunityReopenIn(InputSchema):
    stage: Id | None = Field(None, description="An open stage; defaults to the last open stage it was in.")
    version: int | None = Version


def _changeable(request, pk):
    user = request.auth
    if not access.allows(user, "change", Opportunity):
        raise ApiError(403, "forbidden", _("Your role does not allow changing deals."))
    return get_object_or_404(Opportunity.objects.restrict(user, "change").select_related("stage"), pk=pk)


def _stage(opp, pk, field="stage"):
    stage = Stage.objects.filter(pk=pk).first()
    if stage is None or stage.pipeline_id != opp.pipeline_id:
        raise _invalid(field, _("Choose a stage of this deal's pipeline."))
    return stage


def _run(request, command, **kwargs):
    try:
        opp = command(actor=request.auth, **kwargs)
    except services.DealClosed as e:
        raise ApiError(409, e.code, e.message)
    return prepare_for_display([OPPORTUNITY.base_queryset(request.auth).get(pk=opp.pk)], request.auth)[0]


@crud.post("/{pk}/move", response={200: OpportunityOut, **ERRORS}, summary="Move a deal to another open stage",
           operation_id="opportunity_move")
def move(request, pk: Id, payload: OpportunityMoveIn):
    opp = _changeable(request, pk)
    return _run(request, services.opportunity_move, opportunity=opp, stage=_stage(opp, payload.stage),
                version=payload.version, rank=payload.rank)


@crud.post("/{pk}/won", response={200: OpportunityOut, **ERRORS}, summary="Mark a deal won",
           operation_id="opportunity_won")
def won(request, pk: Id, payload: OpportunityWonIn):
    opp = _changeable(request, pk)
    return _run(request, services.opportunity_mark_won, opportunity=opp, version=payload.version)


@crud.post("/{pk}/lost", response={200: OpportunityOut, **ERRORS}, summary="Mark a deal lost, with a reason",
           operation_id="opportunity_lost")
def lost(request, pk: Id, payload: OpportunityLostIn):
    opp = _changeable(request, pk)
    reason = LostReason.objects.filter(pk=payload.reason, is_active=True).first()
    if reason is None:
        raise _invalid("reason", _("Choose a lost reason."))
    return _run(request, services.opportunity_mark_lost, opportunity=opp, reason=reason, note=payload.note,
                version=payload.version)


@crud.post("/{pk}/reopen", response={200: OpportunityOut, **ERRORS}, summary="Reopen a won or lost deal",
           operation_id="opportunity_reopen")
def reopen(request, pk: Id, payload: OpportunityReopenIn):
    opp = _changeable(request, pk)
    stage = _stage(opp, payload.stage) if payload.stage else None
    return _run(request, services.opportunity_reopen, opportunity=opp, stage=stage, version=payload.version)


# -- pipelines ---------------------------------------------------------------------------------------


class PipelineStageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: StageKind
    stall_days: int


class PipelineWithStagesOut(Schema):
    id: int
    name: str
    is_default: bool
    is_active: bool
    stages: list[PipelineStageOut]

    @staticmethod
    def resolve_name(obj):
        return str(obj)

    @staticmethod
    def resolve_stages(obj):
        return [{"id": s.pk, "name": str(s), "position": s.position, "probability": s.probability,
                 "kind": s.kind, "stall_days": s.stall_days} for s in obj.stages.all()]


class PipelineLostReasonOut(Schema):
    id: int
    name: str
    is_active: bool

    @staticmethod
    def resolve_name(obj):
        return str(obj)


class PipelineListOut(Schema):
    items: list[PipelineWithStagesOut]
    lost_reasons: list[PipelineLostReasonOut]


pipelines = Router(tags=["opportunities"])


@pipelines.get("", response={200: PipelineListOut, **ERRORS}, summary="List pipelines with their stages, "
               "and the lost reasons", operation_id="pipeline_list")
def pipeline_list(request):
    items = Pipeline.objects.prefetch_related("stages").order_by("position", "id")
    return {"items": list(items), "lost_reasons": list(LostReason.objects.all())}


router = Router()
router.add_router("/opportunities", crud)
router.add_router("/pipelines", pipelines)
