"""Generated deals with random stage histories for the funnel and forecast tests.

`generate()` writes deals straight through the ORM (no services) and returns the same data as plain
Python objects (`Deal`), from which the tests compute the expected figures independently.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from guanxi.core.roles import ensure_default_roles
from guanxi.customers.models import Account
from guanxi.sales.choices import ForecastCategory, StageKind
from guanxi.sales.models import LostReason, Opportunity, Pipeline, Stage, StageHistory

NOW = datetime.datetime(2026, 5, 20, 10, 0, tzinfo=datetime.UTC)


@dataclass
class Deal:
    pk: int
    owner_id: int
    created_at: datetime.datetime
    stage: object  # final Stage
    stays: list = field(default_factory=list)  # (Stage, entered_at, left_at or None)
    amount: Decimal = Decimal("0")
    currency: str = "CNY"
    lost_reason_id: int | None = None
    closed_at: datetime.datetime | None = None
    expected_close_date: datetime.date | None = None
    probability: int | None = None
    forecast_category: str = ForecastCategory.PIPELINE


def opportunity_grants():
    """Default role rows for opportunities, whether or not the record type is registered yet."""
    ensure_default_roles(["sales.opportunity"])


def make_pipeline(name="Test funnel"):
    pipeline = Pipeline.objects.create(name=name, position=9)
    stages = [
        Stage.objects.create(pipeline=pipeline, name="A", position=10, probability=10),
        Stage.objects.create(pipeline=pipeline, name="B", position=20, probability=30),
        Stage.objects.create(pipeline=pipeline, name="C", position=30, probability=50),
        Stage.objects.create(pipeline=pipeline, name="D", position=40, probability=80),
        Stage.objects.create(pipeline=pipeline, name="Won", position=50, probability=100, kind=StageKind.WON),
        Stage.objects.create(pipeline=pipeline, name="Lost", position=60, probability=0, kind=StageKind.LOST),
    ]
    return pipeline, stages


def generate(users, *, n=300, seed=4, pipeline=None, stages=None, now=NOW):
    """n deals owned by the given users, created over the 200 days before `now`, with random paths:
    forward one stage (mostly), skip a stage, step back, then stay open, win or lose."""
    rng = random.Random(seed)
    opportunity_grants()
    if pipeline is None:
        pipeline, stages = make_pipeline()
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    reasons = list(LostReason.objects.all()[:4]) or [LostReason.objects.create(name="Price")]
    account = Account.objects.create(name="Analytics Co", owner=users[0])
    deals = []
    for i in range(n):
        owner = rng.choice(users)
        created = now - datetime.timedelta(days=rng.uniform(0, 200))
        t = created
        stays, idx = [], 0
        outcome = None
        for _step in range(rng.randint(0, 6)):
            r = rng.random()
            if r < 0.12:
                outcome = won
                break
            if r < 0.27:
                outcome = lost
                break
            if r < 0.35 and idx > 0:
                nxt = idx - 1
            elif r < 0.45:
                nxt = min(idx + 2, len(open_stages) - 1)
            else:
                nxt = min(idx + 1, len(open_stages) - 1)
            stays.append([open_stages[idx], t, None])
            t = t + datetime.timedelta(days=rng.uniform(0.1, 15))
            if t > now:
                t = now - datetime.timedelta(minutes=1)
            stays[-1][2] = t
            idx = nxt
        final = outcome or open_stages[idx]
        if outcome is None:
            stays.append([open_stages[idx], t, None])
        else:
            stays.append([open_stages[idx], t, t + datetime.timedelta(days=rng.uniform(0, 5))])
            t = min(stays[-1][2], now)
            stays[-1][2] = t
            stays.append([outcome, t, None])
        deal = Deal(
            pk=0, owner_id=owner.pk, created_at=created, stage=final, stays=stays,
            amount=Decimal(rng.randint(1, 5000) * 100) + Decimal(rng.choice(["0", "0.50", "0.99"])),
            currency="USD" if rng.random() < 0.05 else "CNY",
            lost_reason_id=(rng.choice(reasons).pk if rng.random() < 0.8 else None) if final == lost else None,
            closed_at=t if outcome else None,
            expected_close_date=(now + datetime.timedelta(days=rng.randint(-60, 120))).date(),
            probability=rng.choice([None, None, None, 0, 35, 90]),
            forecast_category=rng.choice(ForecastCategory.values),
        )
        opp = Opportunity.objects.create(
            name=f"Deal {i} <b>&", account=account, pipeline=pipeline, stage=final, owner=owner,
            amount=deal.amount, amount_currency=deal.currency, lost_reason_id=deal.lost_reason_id,
            closed_at=deal.closed_at, expected_close_date=deal.expected_close_date, probability=deal.probability,
            forecast_category=deal.forecast_category, stage_entered_at=stays[-1][1],
        )
        Opportunity.all_objects.filter(pk=opp.pk).update(created_at=created)
        StageHistory.objects.bulk_create([
            StageHistory(opportunity=opp, stage=s, entered_at=a, left_at=b) for s, a, b in stays])
        deal.pk = opp.pk
        deals.append(deal)
    return pipeline, stages, deals


def local_day(dt):
    return timezone.localtime(dt).date()
