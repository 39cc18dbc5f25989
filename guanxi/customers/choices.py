from django.db import models
from django.utils.translation import gettext_lazy as _


class Industry(models.TextChoices):
    INTERNET = "internet", _("Internet & software")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    FINANCE = "finance", _("Finance & insurance")
    RETAIL = "retail", _("Retail & consumer goods")
    HEALTHCARE = "healthcare", _("Healthcare")
    EDUCATION = "education", _("Education")
    REAL_ESTATE = "real_estate", _("Real estate & construction")
    LOGISTICS = "logistics", _("Logistics")
    ENERGY = "energy", _("Energy")
    GOVERNMENT = "government", _("Government & public sector")
    OTHER = "other", _("Other")


class CompanySize(models.TextChoices):
    MICRO = "1-49", _("1–49 employees")
    SMALL = "50-199", _("50–199 employees")
    MEDIUM = "200-999", _("200–999 employees")
    LARGE = "1000-4999", _("1,000–4,999 employees")
    ENTERPRISE = "5000+", _("5,000+ employees")


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    INTENT = "intent", _("Intent")
    CUSTOMER = "customer", _("Customer")
    LOYAL = "loyal", _("Loyal")
    CHURNED = "churned", _("Churned")


class Source(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    TRADE_SHOW = "trade_show", _("Trade show")
    ADVERTISEMENT = "advertisement", _("Advertisement")
    COLD_CALL = "cold_call", _("Cold call")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class RelationType(models.TextChoices):
    PARTNER = "partner", _("Partner")
    SUPPLIER = "supplier", _("Supplier")
    CUSTOMER_OF = "customer_of", _("Customer of")
    COMPETITOR = "competitor", _("Competitor")
    DISTRIBUTOR = "distributor", _("Distributor")
    SUBSIDIARY = "subsidiary", _("Subsidiary")


class PoolRecordKind(models.TextChoices):
    ACCOUNT = "customers.account", _("Companies")
    LEAD = "sales.lead", _("Leads")


class PoolEventKind(models.TextChoices):
    ENTERED = "entered", _("Put into the pool")
    CLAIMED = "claimed", _("Claimed")
    RETURNED = "returned", _("Returned")
    RECLAIMED = "reclaimed", _("Reclaimed automatically")
    ASSIGNED = "assigned", _("Assigned from the pool")
