from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    REFERRAL = "referral", _("Referral")
    CAMPAIGN = "campaign", _("Campaign")
    ADVERTISEMENT = "advertisement", _("Advertisement")
    TRADE_SHOW = "trade_show", _("Trade show")
    COLD_CALL = "cold_call", _("Cold call")
    EMAIL = "email", pgettext_lazy("lead source", "Email")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class LeadStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("lead status", "New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    DISQUALIFIED = "disqualified", _("Disqualified")


# Statuses a lead can still be worked in (converted and disqualified are final).
OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


class DisqualifyReason(models.TextChoices):
    NO_BUDGET = "no_budget", _("No budget")
    NO_NEED = "no_need", _("No need")
    UNREACHABLE = "unreachable", _("Cannot be reached")
    COMPETITOR = "competitor", _("Chose a competitor")
    DUPLICATE = "duplicate", _("Duplicate")
    SPAM = "spam", _("Spam or fake")
    OTHER = "other", _("Other")


class StageKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("stage kind", "Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    OMITTED = "omitted", _("Omitted")


class ScoringField(models.TextChoices):
    INDUSTRY = "industry", _("Industry")
    SIZE = "size", _("Size")
    SOURCE = "source", _("Source")
    PROVINCE = "province", _("Province / state")
    HAS_EMAIL = "has_email", _("Has an email address")
    HAS_MOBILE = "has_mobile", _("Has a mobile number")
    TITLE_CONTAINS = "title_contains", _("Job title contains")
    RECENT_ENGAGEMENT = "recent_engagement", _("Interaction within the last N days")


class AssignmentMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin within a team")
    USER = "user", _("A fixed user")
    POOL = "pool", _("Into a customer pool")


class QuotaPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
