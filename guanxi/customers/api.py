"""REST API for companies, contacts and relations, on the generic CRUD router."""

import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from djmoney.money import Money
from ninja import Field, Router, Schema
from pydantic import field_validator

from guanxi.framework.api import ApiError, Id, InputSchema, crud_router
from guanxi.framework.related import related_rows, tag_names

from .choices import CompanySize, Industry, LifecycleStage, RelationType, Source
from .models import Account
from .records import ACCOUNT, CONTACT, RELATION

Custom = dict[str, Any]


class AccountOut(Schema):
    id: int
    name: str
    credit_code: str
    industry: str
    size: str
    lifecycle_stage: str
    source: str
    annual_revenue: Decimal | None
    annual_revenue_currency: str
    website: str
    phone: str
    country: str
    province: str
    city: str
    district: str
    street: str
    description: str
    parent: int | None = Field(None, alias="parent_id")
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
    def resolve_annual_revenue(obj):
        return obj.annual_revenue.amount if obj.annual_revenue is not None else None

    @staticmethod
    def resolve_annual_revenue_currency(obj):
        return str(obj.annual_revenue.currency) if obj.annual_revenue is not None else "CNY"


class AccountIn(InputSchema):
    name: str
    credit_code: str = ""
    industry: Industry | None = None
    size: CompanySize | None = None
    lifecycle_stage: LifecycleStage = LifecycleStage.PROSPECT
    source: Source | None = None
    annual_revenue: Decimal | None = Field(None, max_digits=18, decimal_places=2, ge=0)
    annual_revenue_currency: str = "CNY"
    website: str = ""
    phone: str = ""
    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    description: str = ""
    parent: Id | None = None
    owner: Id | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom: Custom = Field(default_factory=dict)


class AccountPatch(InputSchema):
    version: int = Field(..., ge=1, le=2**31, description="The version you read; a stale one gets 409.")
    name: str | None = None
    credit_code: str | None = None
    industry: Industry | None = None
    size: CompanySize | None = None
    lifecycle_stage: LifecycleStage | None = None
    source: Source | None = None
    annual_revenue: Decimal | None = Field(None, max_digits=18, decimal_places=2, ge=0)
    annual_revenue_currency: str | None = None
    website: str | None = None
    phone: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    description: str | None = None
    parent: Id | None = None
    owner: Id | None = None
    tags: list[str] | None = Field(None, max_length=50)
    custom: Custom | None = None


def _user(pk):
    user = get_user_model().objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ApiError(422, "invalid_input", _("Invalid input."), {"owner": [_("No such active user.")]})
    return user


def _account(user, pk, field):
    account = Account.objects.restrict(user, "view").filter(pk=pk).first()
    if account is None:
        raise ApiError(422, "invalid_input", _("Invalid input."), {field: [_("No such company.")]})
    return account


def _blank_none(data, *names):
    for name in names:
        if name in data and data[name] is None:
            data[name] = ""


def account_fields(data, obj, user):
    related = {}
    if "tags" in data:
        related["tags"] = data.pop("tags") or []
    _blank_none(data, "industry", "size", "source", "credit_code", "website", "phone", "country", "province",
                "city", "district", "street", "description")
    if data.get("name") is None and "name" in data:
        data["name"] = ""
    if "lifecycle_stage" in data and data["lifecycle_stage"] is None:
        data.pop("lifecycle_stage")
    if "credit_code" in data:
        data["credit_code"] = data["credit_code"].strip().upper()
    currency = data.pop("annual_revenue_currency", None)
    if "annual_revenue" in data:
        amount = data.pop("annual_revenue")
        currency = currency or (str(obj.annual_revenue.currency) if obj and obj.annual_revenue else "CNY")
        from django.conf import settings

        if currency not in settings.CURRENCIES:
            raise ApiError(422, "invalid_input", _("Invalid input."),
                           {"annual_revenue_currency": [_("Unknown currency.")]})
        data["annual_revenue"] = Money(amount, currency) if amount is not None else None
    if "parent" in data:
        pk = data.pop("parent")
        data["parent"] = _account(user, pk, "parent") if pk else None
    if "owner" in data:
        pk = data.pop("owner")
        data["owner"] = _user(pk) if pk else None
    if "custom" in data and data["custom"] is None:
        data["custom"] = {}
    return data, related


class MembershipIO(Schema):
    account: Id
    role: str = Field("", max_length=100)


class ContactOut(Schema):
    id: int
    name: str
    title: str
    department: str
    mobile: str
    phone: str
    email: str
    wechat: str
    birthday: datetime.date | None
    country: str
    province: str
    city: str
    district: str
    street: str
    owner: int | None = Field(None, alias="owner_id")
    accounts: list[MembershipIO]
    tags: list[str]
    custom: Custom
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_tags(obj):
        return tag_names(obj)

    @staticmethod
    def resolve_accounts(obj):
        return [{"account": m.account_id, "role": m.role} for m in related_rows(obj, "memberships")]


class ContactIn(InputSchema):
    name: str
    title: str = ""
    department: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""
    birthday: datetime.date | None = None
    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    owner: Id | None = None
    accounts: list[MembershipIO] = Field(default_factory=list, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom: Custom = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def lower_email(cls, v):
        return v.strip().lower() if v else v


class ContactPatch(InputSchema):
    version: int = Field(..., ge=1, le=2**31, description="The version you read; a stale one gets 409.")
    name: str | None = None
    title: str | None = None
    department: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    birthday: datetime.date | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    owner: Id | None = None
    accounts: list[MembershipIO] | None = Field(None, max_length=100)
    tags: list[str] | None = Field(None, max_length=50)
    custom: Custom | None = None


def contact_fields(data, obj, user):
    related = {}
    if "tags" in data:
        related["tags"] = data.pop("tags") or []
    if "accounts" in data:
        memberships = data.pop("accounts") or []
        related["accounts"] = [
            {"account": _account(user, m["account"], "accounts"), "role": m.get("role", "")} for m in memberships
        ]
    _blank_none(data, "name", "title", "department", "mobile", "phone", "email", "wechat", "country", "province",
                "city", "district", "street")
    if "owner" in data:
        pk = data.pop("owner")
        data["owner"] = _user(pk) if pk else None
    if "custom" in data and data["custom"] is None:
        data["custom"] = {}
    return data, related


class RelationOut(Schema):
    id: int
    from_account: int = Field(..., alias="from_account_id")
    to_account: int = Field(..., alias="to_account_id")
    relation_type: str
    notes: str
    version: int
    created_at: datetime.datetime


class RelationIn(InputSchema):
    from_account: Id
    to_account: Id
    relation_type: RelationType
    notes: str = ""


class RelationPatch(InputSchema):
    version: int = Field(..., ge=1, le=2**31)
    relation_type: RelationType | None = None
    notes: str | None = None


def relation_fields(data, obj, user):
    for name in ("from_account", "to_account"):
        if name in data:
            data[name] = _account(user, data.pop(name), name)
    if "relation_type" in data and data["relation_type"] is None:
        data.pop("relation_type")
    if "notes" in data and data["notes"] is None:
        data["notes"] = ""
    return data, {}


accounts = crud_router(ACCOUNT, out_schema=AccountOut, create_schema=AccountIn, update_schema=AccountPatch,
                       to_fields=account_fields, tag="accounts")
contacts = crud_router(CONTACT, out_schema=ContactOut, create_schema=ContactIn, update_schema=ContactPatch,
                       to_fields=contact_fields, tag="contacts")
relations = crud_router(RELATION, out_schema=RelationOut, create_schema=RelationIn, update_schema=RelationPatch,
                        to_fields=relation_fields, tag="account-relations")

router = Router()
router.add_router("/accounts", accounts)
router.add_router("/contacts", contacts)
router.add_router("/account-relations", relations)
