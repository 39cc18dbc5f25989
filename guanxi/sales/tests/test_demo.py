"""Sales demo data: the shapes the board, funnel, pools and forecast pages rely on, and the deal histories
consistent with what the stage commands keep."""

import datetime
from collections import defaultdict

import pytest
from django.utils import timezone

from guanxi.customers import demo as customer_demo
from guanxi.customers.models import Account, Pool
from guanxi.sales.choices import LeadStatus, StageKind
from guanxi.sales.demo import KEY_ACCOUNTS, PipelineShape, history_rows, plan_deal, seed_sales
from guanxi.sales.models import Lead, Opportunity, Pipeline, Quota, StageHistory


@pytest.mark.django_db
def test_seed_sales_shapes():
    """One seeding (a few seconds), every shape checked on it."""
    customer_demo.seed(companies=40, contacts=60)
    seeded = seed_sales(leads=40, opportunities=80)
    check_leads()
    check_pools()
    check_deals(seeded)
    check_quotas()


def check_leads():
    leads = list(Lead.objects.all())
    assert len(leads) == 40
    assert all(lead.score == sum(d["points"] for d in lead.score_detail) for lead in leads)
    assert sum(1 for lead in leads if lead.score_detail) > 30
    statuses = {lead.status for lead in leads}
    assert {LeadStatus.NEW, LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED} <= statuses
    for lead in leads:
        if lead.status == LeadStatus.CONVERTED:
            assert lead.converted_account_id and lead.converted_opportunity_id
        if lead.status == LeadStatus.DISQUALIFIED:
            assert lead.disqualify_reason
    # Routed by the assignment rules: the south to rep3, the east round-robin in 华东销售一组, else a pool.
    for lead in leads:
        if lead.province in ("广东省", "福建省", "广西壮族自治区") and lead.pool_id is None:
            assert lead.owner.username == "rep3"
        if lead.province in ("上海市", "江苏省", "浙江省", "安徽省"):
            assert lead.owner.username in ("rep1", "rep2", "manager")
        if lead.owner_id is None:
            assert lead.pool_id is not None


def check_pools():
    for name in ("华东公海", "华南公海"):
        pool = Pool.objects.get(name=name)
        assert Account.objects.filter(pool=pool, owner=None).count() >= 5
        assert Lead.objects.filter(pool=pool, owner=None).exists()
        assert Account.objects.filter(pool=pool, owner__isnull=False, claimed_at__isnull=False).exists()


def check_deals(seeded):
    now = timezone.now()
    deals = list(Opportunity.objects.select_related("stage"))
    assert len(deals) == 80 + seeded["converted"]
    for pipeline in Pipeline.objects.all():
        kinds = {d.stage.kind for d in deals if d.pipeline_id == pipeline.pk}
        assert kinds == {StageKind.OPEN, StageKind.WON, StageKind.LOST}, pipeline
    assert Pipeline.objects.filter(name=KEY_ACCOUNTS).exists()
    stays = defaultdict(list)
    for stay in StageHistory.objects.order_by("entered_at", "id"):
        stays[stay.opportunity_id].append(stay)
    oldest = min(s.entered_at for rows in stays.values() for s in rows)
    assert oldest < now - datetime.timedelta(days=150)  # histories span months
    for deal in deals:
        rows = stays[deal.pk]
        open_rows = [s for s in rows if s.left_at is None]
        assert len(open_rows) == 1 and open_rows[0] is rows[-1], deal
        assert rows[-1].stage_id == deal.stage_id and rows[-1].entered_at == deal.stage_entered_at
        for a, b in zip(rows, rows[1:], strict=False):
            assert a.left_at == b.entered_at and a.stage_id != b.stage_id
        assert all(s.stage.pipeline_id == deal.pipeline_id for s in rows)
        assert all(s.entered_at <= now for s in rows)
        if deal.stage.kind == StageKind.OPEN:
            assert deal.closed_at is None and deal.lost_reason_id is None
        else:
            assert deal.closed_at == deal.stage_entered_at
            assert (deal.lost_reason_id is not None) == (deal.stage.kind == StageKind.LOST)


def check_quotas():
    today = timezone.localdate()
    this_q = datetime.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    assert Quota.objects.filter(period="quarter", start=this_q, user__username="rep1").exists()
    assert Quota.objects.filter(period="quarter", start=this_q, team__name="华东销售一组").exists()
    assert Quota.objects.filter(period="month", user__username="rep3").count() == 6


def test_plan_is_deterministic_and_contiguous():
    import random

    shape = PipelineShape(1, [(1, 14, 10), (2, 21, 30), (3, 14, 60)], won=4, lost=5,
                          forecast={1: "pipeline", 2: "best_case", 3: "commit"})
    now = timezone.now()
    created = now - datetime.timedelta(days=200)
    a = [plan_deal(random.Random(k), shape, created, now) for k in range(50)]
    b = [plan_deal(random.Random(k), shape, created, now) for k in range(50)]
    assert a == b
    for path, outcome in a:
        rows = history_rows(path)
        assert rows[-1][2] is None and all(r[2] == n[1] for r, n in zip(rows, rows[1:], strict=False))
        assert (outcome == "won") == (path[-1][0] == 4) and (outcome == "lost") == (path[-1][0] == 5)
