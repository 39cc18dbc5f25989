"""Forecast and attainment against an independent computation on generated deals; visibility, pages, API."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from guanxi.sales.analytics import forecast
from guanxi.sales.choices import ForecastCategory, QuotaPeriod, StageKind
from guanxi.sales.models import Quota

from .analytics_data import generate, local_day

pytestmark = pytest.mark.django_db

Q2 = datetime.date(2026, 4, 1)
Q2_END = datetime.date(2026, 7, 1)


@pytest.fixture
def data(users):
    owners = [users["rep1"], users["rep2"], users["manager"], users["rep3"]]
    pipeline, stages, deals = generate(owners, n=300, seed=11)
    Quota.objects.create(user=users["rep1"], period=QuotaPeriod.QUARTER, start=Q2, amount=Money(500000, "CNY"))
    # rep2 has month quotas only: the quarter uses their sum.
    Quota.objects.create(user=users["rep2"], period=QuotaPeriod.MONTH, start=Q2, amount=Money(100000, "CNY"))
    Quota.objects.create(user=users["rep2"], period=QuotaPeriod.MONTH, start=datetime.date(2026, 5, 1),
                         amount=Money(150000, "CNY"))
    Quota.objects.create(user=users["rep2"], period=QuotaPeriod.MONTH, start=datetime.date(2026, 7, 1),
                         amount=Money(999, "CNY"))  # next quarter: not counted
    Quota.objects.create(team=users["rep1"].team, period=QuotaPeriod.QUARTER, start=Q2, amount=Money(2000000, "CNY"))
    return deals


def expected(deals, owners, start=Q2, end=Q2_END):
    out = {}
    for d in deals:
        if d.owner_id not in owners or d.currency != "CNY":
            continue
        row = out.setdefault(d.owner_id, {k: Decimal("0") for k in ("won", "weighted", "commit", "best", "pipeline")})
        if d.stage.kind == StageKind.WON and start <= local_day(d.closed_at) < end:
            row["won"] += d.amount
        if (d.stage.kind == StageKind.OPEN and start <= d.expected_close_date < end
                and d.forecast_category != ForecastCategory.OMITTED):
            p = d.probability if d.probability is not None else d.stage.probability
            row["weighted"] += d.amount * p / 100
            row["pipeline"] += d.amount
            if d.forecast_category == ForecastCategory.COMMIT:
                row["commit"] += d.amount
            if d.forecast_category in (ForecastCategory.COMMIT, ForecastCategory.BEST_CASE):
                row["best"] += d.amount
    return out


def check(result, exp):
    got = {r.key: r for r in result.reps}
    for pk, e in exp.items():
        if not any(e.values()):
            continue
        r = got[pk]
        assert r.won == e["won"]
        assert r.weighted == pytest.approx(e["weighted"], abs=Decimal("0.01"))
        assert (r.commit, r.best_case, r.pipeline) == (e["commit"], e["best"], e["pipeline"])
        assert r.forecast == pytest.approx(e["won"] + e["weighted"], abs=Decimal("0.01"))
    assert set(got) <= set(exp) | {pk for pk, r in got.items() if r.quota is not None}
    assert result.total.won == sum((e["won"] for e in exp.values()), Decimal("0"))


def test_manager_forecast_matches_independent_computation(data, users):
    manager, rep1, rep2 = users["manager"], users["rep1"], users["rep2"]
    team = {manager.pk, rep1.pk, rep2.pk}
    result = forecast(user=manager, period=QuotaPeriod.QUARTER, start=Q2)
    exp = expected(data, team)
    assert sum(e["won"] for e in exp.values()) > 0 and sum(e["weighted"] for e in exp.values()) > 0
    check(result, exp)
    rows = {r.key: r for r in result.reps}
    assert set(rows) == team  # rep3 is outside the manager's subtree
    assert rows[rep1.pk].quota == Decimal("500000")
    assert rows[rep2.pk].quota == Decimal("250000")  # Apr + May month quotas
    assert rows[manager.pk].quota is None and rows[manager.pk].attainment is None
    assert rows[rep1.pk].attainment == pytest.approx(float(exp[rep1.pk]["won"] / Decimal("500000")))
    teams = {t.key: t for t in result.teams}
    t = teams[rep1.team_id]
    assert t.quota == Decimal("2000000")
    assert t.won == sum((exp[pk]["won"] for pk in team), Decimal("0"))
    assert t.attainment == pytest.approx(float(t.won / Decimal("2000000")))
    assert result.other_currency > 0  # USD deals exist and are left out


def test_admin_sees_everyone_and_month_period(data, users):
    everyone = {users[n].pk for n in ("rep1", "rep2", "manager", "rep3")}
    check(forecast(user=users["admin"], period=QuotaPeriod.QUARTER, start=Q2), expected(data, everyone))
    may, june = datetime.date(2026, 5, 1), datetime.date(2026, 6, 1)
    result = forecast(user=users["admin"], period=QuotaPeriod.MONTH, start=may)
    check(result, expected(data, everyone, may, june))
    rows = {r.key: r for r in result.reps}
    assert rows[users["rep2"].pk].quota == Decimal("150000")
    assert rows[users["rep1"].pk].quota is None  # a quarter quota is not split into months


def test_rep_sees_only_own_row(data, users):
    rep1 = users["rep1"]
    result = forecast(user=rep1, period=QuotaPeriod.QUARTER, start=Q2)
    assert [r.key for r in result.reps] == [rep1.pk]
    check(result, expected(data, {rep1.pk}))
    assert forecast(user=users["auditor"], period=QuotaPeriod.QUARTER, start=Q2).total.won == 0


def test_forecast_page_english_and_chinese(data, users, client_for):
    manager = users["manager"]
    manager.language = "en"
    manager.save()
    r = client_for("manager").get(reverse("sales:forecast"), {"period": "quarter", "start": "2026-05-20"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Attainment per rep" in html and 'id="forecast-reps"' in html and 'id="forecast-teams"' in html
    assert f'data-row="{users["rep1"].pk}"' in html and f'data-row="{users["rep3"].pk}"' not in html
    assert 'data-quota="500000' in html
    r = client_for("rep1").get(reverse("sales:forecast"), {"period": "month", "start": "2026-05-01"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'lang="zh-CN"' in html and 'id="forecast-reps"' in html  # the catalogue is filled in by the lead
    assert 'id="forecast-teams"' not in html


@pytest.mark.parametrize("params", [{"period": "week"}, {"start": "2026-02-30"}, {"start": "x" * 300}])
def test_forecast_bad_input(client_for, users, params):
    assert client_for("rep1").get(reverse("sales:forecast"), params).status_code == 400


def test_forecast_default_period_renders(client_for, users):
    assert client_for("rep1").get(reverse("sales:forecast")).status_code == 200


def test_api_forecast(data, users, api, client):
    r = api.get("/api/v1/analytics/forecast", period="quarter", date="2026-05-20")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["start"] == "2026-04-01" and body["end"] == "2026-06-30"
    exp = expected(data, {users["rep1"].pk})[users["rep1"].pk]
    assert [row["id"] for row in body["reps"]] == [users["rep1"].pk]
    assert Decimal(str(body["reps"][0]["won"])) == exp["won"]
    assert Decimal(str(body["reps"][0]["quota"])) == Decimal("500000")
    assert api.get("/api/v1/analytics/forecast", period="week").status_code == 422
    assert api.get("/api/v1/analytics/forecast", date="2026-13-01").status_code == 422
    assert client.get("/api/v1/analytics/forecast").status_code == 401


def test_extreme_period_is_refused(users, client_for, api):
    assert client_for("rep1").get(reverse("sales:forecast"), {"start": "9999-12-31"}).status_code == 400
    assert api.get("/api/v1/analytics/forecast", date="9999-12-31").status_code == 422
