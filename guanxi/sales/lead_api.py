"""REST API for leads: CRUD on the generic router plus the commands (convert, disqualify, status, requalify)."""

import datetime
from decimal import Decimal
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from guanxi.core import access
from guanxi.customers.choices import CompanySize, Industry
from guanxi.customers.models import Account, Contact
from guanxi.framework.api import ERRORS, ApiError, Id, InputSchema, command_target, crud_router, run_command
from guanxi.framework.redaction import prepare_for_display
from guanxi.framework.related import tag_names

from . import lead_services
from .choices import DisqualifyReason, LeadSource
from .lead_records import LEAD
from .models import Lead

Custom = dict[str, Any]


class ScoreItemOut(Schema):
    rule: int | None = Field(None, description="Id of the scoring rule.")
    name: str
    points: int
    field: str = ""
    days: int | None = None
    interactions: int | None = None


class LeadOut(Schema):
    id: int
    name: str
    company_name: str
    title: str
    mobile: str
    phone: str
    email: str
    wechat: str
    website: str
    industry: str
    size: str
    source: str
    source_detail: str
    status: str = Field(description="new, contacted, qualified, converted or disqualified (changed by commands).")
    description: str
    score: int
    score_detail: list[ScoreItemOut] = Field(description="The scoring rules that contributed.")
    disqualify_reason: str
    disqualify_note: str
    converted_at: datetime.datetime | None
    converted_account: int | None = Field(None, alias="converted_account_id")
    converted_contact: int | None = Field(None, alias="converted_contact_id")
    converted_opportunity: int | None = Field(None, alias="converted_opportunity_id")
    pool: int | None = Field(None, alias="pool_id")
    country: str
    province: str
    city: str
    district: str
    street: str
    owner: int | None = Field(None, alias="owner_id")
    tags: list[str]
    custom: Custom
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_tags(obj):
        return tag_names(obj)

    @staticmethod
    def resolve_score_detail(obj):
        return [d for d in (obj.score_detail or []) if isinstance(d, dict)]


class LeadIn(InputSchema):
    name: str = Field("", max_length=100)
    company_name: str = Field("", max_length=200)
    title: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""
    website: str = ""
    industry: Industry | None = None
    size: CompanySize | None = None
    source: LeadSource = LeadSource.OTHER
    source_detail: str = ""
    description: str = ""
    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    owner: Id | None = Field(None, description="Omitted: you, or whoever the assignment rules choose when you "
                             "may assign leads.")
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom: Custom = Field(default_factory=dict)


class LeadPatch(InputSchema):
    version: int = Field(..., ge=1, le=2**31, description="The version you read; a stale one gets 409.")
    name: str | None = None
    company_name: str | None = None
    title: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    website: str | None = None
    industry: Industry | None = None
    size: CompanySize | None = None
    source: LeadSource | None = None
    source_detail: str | None = None
    description: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    owner: Id | None = None
    tags: list[str] | None = Field(None, max_length=50)
    custom: Custom | None = None


TEXT_FIELDS = ("name", "company_name", "title", "mobile", "phone", "email", "wechat", "website", "industry", "size",
               "source_detail", "description", "country", "province", "city", "district", "street")


def lead_fields(data, obj, user):
    related = {}
    if "tags" in data:
        related["tags"] = data.pop("tags") or []
    for name in TEXT_FIELDS:
        if name in data and data[name] is None:
            data[name] = ""
    if "source" in data and data["source"] is None:
        data.pop("source")
    if data.get("email"):
        data["email"] = data["email"].strip().lower()
    owner_given = "owner" in data
    if owner_given:
        pk = data.pop("owner")
        owner = get_user_model().objects.filter(pk=pk, is_active=True).first() if pk else None
        if pk and owner is None:
            raise ApiError(422, "invalid_input", _("Invalid input."), {"owner": [_("No such active user.")]})
        data["owner"] = owner
    if "custom" in data and data["custom"] is None:
        data["custom"] = {}
    auto = obj is None and (not owner_given or data["owner"] is None) and access.allows(user, "assign", Lead)
    related[lead_services.HOOK] = {"auto_assign": auto}
    return data, related


leads = crud_router(LEAD, out_schema=LeadOut, create_schema=LeadIn, update_schema=LeadPatch, to_fields=lead_fields,
                    tag="leads")


# -- commands ----------------------------------------------------------------------------------------------


class ConvertIn(InputSchema):
    account: Id | None = Field(None, description="An existing company to use; omitted: one with the lead's "
                               "company name is reused, else created.")
    contact: Id | None = Field(None, description="An existing contact to use; omitted: one with the lead's mobile "
                               "or email is reused, else created.")
    create_opportunity: bool = True
    opportunity_name: str = Field("", max_length=200)
    amount: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2, description="In CNY.")


class ConvertOut(Schema):
    lead: LeadOut
    account: int | None
    contact: int | None
    opportunity: int | None
    already_converted: bool = Field(description="True when the lead was already converted when the request "
                                   "arrived (nothing was created).")


class DisqualifyIn(InputSchema):
    reason: DisqualifyReason
    note: str = Field("", max_length=500)


class StatusIn(InputSchema):
    status: Literal["new", "contacted", "qualified"]


COMMAND_ERRORS = ERRORS
STATE_CODES = "Codes: lead_converted, lead_disqualified, already_disqualified, not_disqualified (409)."


def _for_command(request, pk):
    """The lead to change: 403 when the role may not change leads (or only view this one), 404 out of scope."""
    return command_target(Lead, request.auth, pk, denied=_("Your role does not allow changing leads."),
                          view_only=_("You may see this lead but not change it."))


def _shown(request, pk):
    return prepare_for_display([LEAD.base_queryset(request.auth).get(pk=pk)], request.auth)[0]


def _visible(model, user, pk, field):
    if pk is None:
        return None
    obj = model.objects.restrict(user, "view").filter(pk=pk).first()
    if obj is None:
        raise ApiError(422, "invalid_input", _("Invalid input."), {field: [_("No such record.")]})
    return obj


@leads.post("/{pk}/convert", response={200: ConvertOut, **COMMAND_ERRORS}, summary="Convert a lead",
            description="Creates (or reuses) a company, a contact and a deal from the lead and marks it converted. "
            "Idempotent: converting a converted lead returns what it became. " + STATE_CODES,
            operation_id="lead_convert")
def convert_lead(request, pk: Id, payload: ConvertIn | None = None):
    user = request.auth
    payload = payload or ConvertIn()
    lead = _for_command(request, pk)
    already = lead.status == "converted"
    account = _visible(Account, user, payload.account, "account")
    contact = _visible(Contact, user, payload.contact, "contact")
    account, contact, opportunity = run_command(
        lead_services.lead_convert, lead=lead, actor=user, account=account, contact=contact,
        create_opportunity=payload.create_opportunity, opportunity_name=payload.opportunity_name,
        amount=payload.amount)
    return {"lead": _shown(request, pk), "account": account.pk if account else None,
            "contact": contact.pk if contact else None, "opportunity": opportunity.pk if opportunity else None,
            "already_converted": already}


@leads.post("/{pk}/disqualify", response={200: LeadOut, **COMMAND_ERRORS}, summary="Disqualify a lead",
            description="Marks an open lead disqualified with a reason. " + STATE_CODES,
            operation_id="lead_disqualify")
def disqualify_lead(request, pk: Id, payload: DisqualifyIn):
    lead = _for_command(request, pk)
    run_command(lead_services.lead_disqualify, lead=lead, actor=request.auth, reason=payload.reason, note=payload.note)
    return _shown(request, pk)


@leads.post("/{pk}/requalify", response={200: LeadOut, **COMMAND_ERRORS}, summary="Requalify a lead",
            description="Reopens a disqualified lead as new. " + STATE_CODES, operation_id="lead_requalify")
def requalify_lead(request, pk: Id):
    lead = _for_command(request, pk)
    run_command(lead_services.lead_requalify, lead=lead, actor=request.auth)
    return _shown(request, pk)


@leads.post("/{pk}/status", response={200: LeadOut, **COMMAND_ERRORS}, summary="Set a lead's working status",
            description="new, contacted or qualified; only for open leads. " + STATE_CODES,
            operation_id="lead_set_status")
def set_lead_status(request, pk: Id, payload: StatusIn):
    lead = _for_command(request, pk)
    run_command(lead_services.lead_set_status, lead=lead, actor=request.auth, status=payload.status)
    return _shown(request, pk)


router = Router()
router.add_router("/leads", leads)
