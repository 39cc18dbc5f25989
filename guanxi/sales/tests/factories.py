"""factory-boy factories for sales records (shared: other sales tests may add theirs here)."""

import factory
from django.utils import timezone
from djmoney.money import Money
from factory.django import DjangoModelFactory
from faker import Faker

from guanxi.customers.tests.factories import TaggedFactory, default_owner
from guanxi.sales.models import AssignmentRule, Lead, Opportunity, Pipeline, ScoringRule, StageHistory

FAKE_ZH, FAKE_EN = Faker("zh_CN"), Faker("en_US")


def lead_mobile(n):
    return f"+86139{n % 100_000_000:08d}"


class LeadFactory(TaggedFactory):
    class Meta:
        model = Lead

    name = factory.Faker("name", locale="zh_CN")
    company_name = factory.Sequence(lambda n: f"{FAKE_ZH.company()} {n}")
    title = factory.Faker("job", locale="zh_CN")
    mobile = factory.Sequence(lead_mobile)
    email = factory.Sequence(lambda n: f"lead{n}@example.cn")
    province = "浙江省"
    city = "杭州市"
    industry = "internet"
    source = "web_form"
    owner = factory.LazyFunction(default_owner)


class EnglishLeadFactory(LeadFactory):
    name = factory.Faker("name", locale="en_US")
    company_name = factory.Sequence(lambda n: f"{FAKE_EN.company()} {n}")
    title = factory.Faker("job", locale="en_US")
    country = "US"
    province = "California"
    city = factory.Faker("city", locale="en_US")


class ScoringRuleFactory(DjangoModelFactory):
    class Meta:
        model = ScoringRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    field = "source"
    value = "web_form"
    points = 10


class AssignmentRuleFactory(DjangoModelFactory):
    class Meta:
        model = AssignmentRule

    name = factory.Sequence(lambda n: f"Assign {n}")
    method = "round_robin"


def ensure_default_pipeline():
    """The default pipeline and stages (post_migrate recreates them after a flush; this is for callers that
    run before it)."""
    from guanxi.sales.defaults import ensure_defaults

    ensure_defaults()


class OpportunityFactory(TaggedFactory):
    """A deal in the default pipeline's first open stage (or the `stage` given) with its open stage-history
    row, as opportunity_create leaves it; `stage_entered_at` dates the stay."""

    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"商机 {n}")
    account = factory.SubFactory("guanxi.customers.tests.factories.AccountFactory")
    pipeline = factory.LazyFunction(lambda: Pipeline.objects.order_by("-is_default", "position", "id").first())
    stage = factory.LazyAttribute(lambda o: o.pipeline.stages.filter(kind="open").order_by("position", "id").first())
    amount = factory.LazyFunction(lambda: Money(100000, "CNY"))
    owner = factory.LazyFunction(default_owner)
    stage_entered_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def history(self, create, extracted, **kwargs):
        if create:
            StageHistory.objects.create(opportunity=self, stage=self.stage, entered_at=self.stage_entered_at,
                                        moved_by=self.owner)
