"""Funnel analytics: figures against an independent computation on generated deals, visibility,
drill-down, filters, bad input, the API and both languages."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.sales.analytics import funnel, funnel_deals
from guanxi.sales.choices import StageKind

from .analytics_data import NOW, generate, local_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(users):
    owners = [users["rep1"], users["rep2"], users["manager"], users["rep3"]]
    pipeline, stages, deals = generate(owners, n=300, seed=4)
    return pipeline, stages, deals


def expected(deals, stages, *, owners=None, date_from=None, date_to=None):
    """The funnel computed from the generated lists, in plain Python (no selector code)."""
    chosen = [d for d in deals
              if (owners is None or d.owner_id in owners)
              and (date_from is None or local_day(d.created_at) >= date_from)
              and (date_to is None or local_day(d.created_at) <= date_to)]
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won = [d for d in chosen if d.stage.kind == StageKind.WON]
    lost = [d for d in chosen if d.stage.kind == StageKind.LOST]
    out = {"total": len(chosen), "won": len(won), "lost": len(lost), "stages": {}, "ids": {}}
    for s in open_stages:
        reached = [d for d in chosen if any(st.kind == StageKind.WON or (st.kind == StageKind.OPEN and
                                                                         st.position >= s.position)
                                            for st, _a, _b in d.stays)]
        stays = [((b or NOW) - a).total_seconds() / 86400 for d in chosen for st, a, b in d.stays if st == s]
        in_stage = [d for d in chosen if d.stage == s]
        out["stages"][s.pk] = {
            "reached": len(reached), "in_stage": len(in_stage),
            "value": sum((d.amount for d in in_stage if d.currency == "CNY"), Decimal("0")),
            "avg_days": sum(stays) / len(stays) if stays else None,
        }
        out["ids"][s.pk] = {d.pk for d in reached}
    for i, s in enumerate(open_stages):
        row = out["stages"][s.pk]
        nxt = out["stages"][open_stages[i + 1].pk]["reached"] if i + 1 < len(open_stages) else len(won)
        row["conversion_next"] = nxt / row["reached"] if row["reached"] else None
        row["conversion_won"] = len(won) / row["reached"] if row["reached"] else None
    ranked = sorted((s for s in open_stages if out["stages"][s.pk]["reached"]),
                    key=lambda s: (out["stages"][s.pk]["conversion_next"], -(out["stages"][s.pk]["avg_days"] or 0)))
    out["bottleneck"] = ranked[0].pk if ranked else None
    reasons = {}
    for d in lost:
        r = reasons.setdefault(d.lost_reason_id, [0, Decimal("0")])
        r[0] += 1
        r[1] += d.amount if d.currency == "CNY" else 0
    out["reasons"] = reasons
    owners_out = {}
    for d in chosen:
        o = owners_out.setdefault(d.owner_id, {"deals": 0, "won": 0, "lost": 0, "cycles": []})
        o["deals"] += 1
        if d.stage.kind == StageKind.WON:
            o["won"] += 1
            o["cycles"].append((d.closed_at - d.created_at).total_seconds() / 86400)
        elif d.stage.kind == StageKind.LOST:
            o["lost"] += 1
    out["owners"] = owners_out
    out["won_ids"] = {d.pk for d in won}
    return out


def check(result, exp):
    assert result.total == exp["total"]
    assert result.won == exp["won"]
    assert result.lost == exp["lost"]
    for row in result.open_stages:
        e = exp["stages"][row.pk]
        assert row.reached == e["reached"], row.stage.name
        assert row.in_stage == e["in_stage"], row.stage.name
        assert row.value_cny == e["value"], row.stage.name
        if e["avg_days"] is None:
            assert row.avg_days is None
        else:
            assert row.avg_days == pytest.approx(e["avg_days"], rel=1e-6)
        for key in ("conversion_next", "conversion_won"):
            if e[key] is None:
                assert getattr(row, key) is None
            else:
                assert getattr(row, key) == pytest.approx(e[key])
    assert (result.bottleneck.pk if result.bottleneck else None) == exp["bottleneck"]
    got_reasons = {(r.reason.pk if r.reason else None): [r.count, r.value] for r in result.lost_reasons}
    assert got_reasons == exp["reasons"]
    got_owners = {r.key: r for r in result.by_owner}
    assert set(got_owners) == set(exp["owners"])
    for pk, e in exp["owners"].items():
        r = got_owners[pk]
        assert (r.deals, r.won, r.lost) == (e["deals"], e["won"], e["lost"])
        closed = e["won"] + e["lost"]
        assert r.win_rate == (pytest.approx(e["won"] / closed) if closed else None)
        if e["cycles"]:
            assert r.avg_cycle_days == pytest.approx(sum(e["cycles"]) / len(e["cycles"]), rel=1e-6)
        else:
            assert r.avg_cycle_days is None
    assert sum(t.deals for t in result.by_team) == exp["total"]


def test_figures_match_independent_computation(data, users):
    pipeline, stages, deals = data
    admin = users["admin"]
    result = funnel(user=admin, pipeline=pipeline, now=NOW)
    exp = expected(deals, stages)
    assert exp["total"] == 300 and exp["won"] > 10 and exp["lost"] > 10  # the data exercises every branch
    check(result, exp)
    # Some deals skipped stages and some went back: reached is not just "passed through".
    assert any(len({s.pk for s, _a, _b in d.stays}) < len(d.stays) for d in deals)


def test_date_and_owner_filters(data, users):
    pipeline, stages, deals = data
    d_from, d_to = datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)
    owners = {users["rep1"].pk, users["rep2"].pk}
    result = funnel(user=users["admin"], pipeline=pipeline, date_from=d_from, date_to=d_to, owner_ids=owners, now=NOW)
    exp = expected(deals, stages, owners=owners, date_from=d_from, date_to=d_to)
    assert 0 < exp["total"] < 300
    check(result, exp)


def test_visibility_rep_and_manager(data, users):
    pipeline, stages, deals = data
    rep1, manager = users["rep1"], users["manager"]
    check(funnel(user=rep1, pipeline=pipeline, now=NOW), expected(deals, stages, owners={rep1.pk}))
    team = {rep1.pk, users["rep2"].pk, manager.pk}
    check(funnel(user=manager, pipeline=pipeline, now=NOW), expected(deals, stages, owners=team))
    # Asking for someone else's deals does not widen the view.
    assert funnel(user=rep1, pipeline=pipeline, owner_ids={users["rep3"].pk}, now=NOW).total == 0
    assert funnel(user=users["auditor"], pipeline=pipeline, now=NOW).total == 0


def test_drill_down_lists_the_deals_behind_each_number(data, users):
    pipeline, stages, deals = data
    manager = users["manager"]
    result = funnel(user=manager, pipeline=pipeline, now=NOW)
    exp = expected(deals, stages, owners={users["rep1"].pk, users["rep2"].pk, manager.pk})
    for row in result.open_stages:
        reached = funnel_deals(user=manager, pipeline=pipeline, metric="reached", stage=row.stage)
        assert set(reached.values_list("pk", flat=True)) == exp["ids"][row.pk]
        assert reached.count() == row.reached
        assert funnel_deals(user=manager, pipeline=pipeline, metric="in_stage", stage=row.stage).count() == row.in_stage
    won = funnel_deals(user=manager, pipeline=pipeline, metric="won")
    assert set(won.values_list("pk", flat=True)) == exp["won_ids"]
    for r in result.lost_reasons:
        qs = funnel_deals(user=manager, pipeline=pipeline, metric="lost", reason=r.reason.pk if r.reason else "none")
        assert qs.count() == r.count
    for r in result.by_owner:
        assert funnel_deals(user=manager, pipeline=pipeline, metric="won", owner=r.key).count() == r.won


def test_funnel_page_and_drill_down_page(data, users, client_for):
    pipeline, stages, deals = data
    users["rep1"].language = "en"
    users["rep1"].save()
    c = client_for("rep1")
    url = reverse("sales:funnel")
    r = c.get(url, {"pipeline": pipeline.pk, "date_from": "2025-01-01", "date_to": "2026-12-31"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="funnel-table"' in html and "How these figures are computed" in html
    exp = expected(deals, stages, owners={users["rep1"].pk})
    first = stages[0]
    assert f'data-stage="{first.pk}"' in html
    assert f'data-reached="{exp["stages"][first.pk]["reached"]}"' in html
    assert "Deal 0 <b>" not in html  # deal names never reach the page unescaped
    dr = c.get(reverse("sales:funnel_deals"), {"pipeline": pipeline.pk, "stage": first.pk, "metric": "reached",
                                               "date_from": "2025-01-01", "date_to": "2026-12-31"})
    assert dr.status_code == 200
    body = dr.content.decode()
    assert body.count('data-deal="') == min(exp["stages"][first.pk]["reached"], 50)
    assert f'{exp["stages"][first.pk]["reached"]}' in body
    assert "&lt;b&gt;" in body


def test_funnel_page_in_chinese(data, users, client_for):
    pipeline, _stages, _deals = data
    r = client_for("manager").get(reverse("sales:funnel"), {"pipeline": pipeline.pk})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'lang="zh-CN"' in html
    assert 'id="funnel-table"' in html


def test_default_pipeline_and_empty_funnel(users, client_for):
    from .analytics_data import opportunity_grants

    opportunity_grants()
    r = client_for("rep1").get(reverse("sales:funnel"))
    assert r.status_code == 200
    assert 'id="funnel-table"' in r.content.decode()


@pytest.mark.parametrize("params", [
    {"pipeline": "abc"}, {"pipeline": "999999"}, {"date_from": "2026-13-01"}, {"date_from": "2026-05-01",
                                                                               "date_to": "2026-01-01"},
    {"owner": "x"}, {"team": "-1"}, {"pipeline": "1" * 40},
])
def test_bad_filters_answer_4xx(data, client_for, params):
    pipeline, _stages, _deals = data
    query = {"pipeline": pipeline.pk, **params}
    r = client_for("manager").get(reverse("sales:funnel"), query)
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize("params", [
    {"metric": "bogus"}, {"metric": "reached"}, {"metric": "reached", "stage": "999999"},
    {"metric": "lost", "reason": "abc"}, {"metric": "won", "page": "x"},
])
def test_bad_drill_down_answers_4xx(data, client_for, params):
    pipeline, _stages, _deals = data
    r = client_for("rep1").get(reverse("sales:funnel_deals"), {"pipeline": pipeline.pk, **params})
    assert 400 <= r.status_code < 500


def test_stage_of_other_pipeline_is_404(data, client_for):
    from guanxi.sales.models import Stage

    pipeline, _stages, _deals = data
    other = Stage.objects.exclude(pipeline=pipeline).first()
    r = client_for("rep1").get(reverse("sales:funnel_deals"),
                               {"pipeline": pipeline.pk, "metric": "in_stage", "stage": other.pk})
    assert r.status_code == 404


def test_anonymous_is_sent_to_login(client):
    r = client.get(reverse("sales:funnel"))
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_api_funnel(data, users, api, client):
    pipeline, stages, deals = data
    r = api.get("/api/v1/analytics/funnel", pipeline=pipeline.pk, date_from="2025-01-01")
    assert r.status_code == 200, r.content
    body = r.json()
    exp = expected(deals, stages, owners={users["rep1"].pk}, date_from=datetime.date(2025, 1, 1))
    assert body["total"] == exp["total"] and body["won"] == exp["won"]
    by_stage = {s["id"]: s for s in body["stages"]}
    for pk, e in exp["stages"].items():
        assert by_stage[pk]["reached"] == e["reached"]
        assert Decimal(str(by_stage[pk]["value"])) == e["value"]
    assert api.get("/api/v1/analytics/funnel", pipeline=999999).status_code == 404
    assert api.get("/api/v1/analytics/funnel", pipeline=pipeline.pk, date_from="nope").status_code == 422
    assert api.get("/api/v1/analytics/funnel", pipeline=pipeline.pk, date_from="2026-05-01",
                   date_to="2026-01-01").status_code == 400
    assert client.get("/api/v1/analytics/funnel").status_code == 401


@pytest.mark.parametrize("params", [{"date_from": "0001-01-01"}, {"date_to": "9999-12-31"}])
def test_extreme_dates_are_refused(data, client_for, api, params):
    pipeline, _stages, _deals = data
    r = client_for("rep1").get(reverse("sales:funnel"), {"pipeline": pipeline.pk, **params})
    assert r.status_code == 400
    assert api.get("/api/v1/analytics/funnel", pipeline=pipeline.pk, **params).status_code == 422


def test_team_filter_and_breakdown(data, users, client_for):
    pipeline, stages, deals = data
    team = users["rep1"].team
    members = set(team.members.values_list("pk", flat=True))
    r = client_for("admin").get(reverse("sales:funnel"), {"pipeline": pipeline.pk, "team": team.pk, "all": "1"})
    assert r.status_code == 200
    exp = expected(deals, stages, owners=members)
    html = r.content.decode()
    assert f'data-reached="{exp["stages"][stages[0].pk]["reached"]}"' in html
    result = funnel(user=users["admin"], pipeline=pipeline, now=NOW)
    rows = {t.key: t for t in result.by_team}
    assert rows[team.pk].deals == exp["total"]
    assert rows[team.pk].won == exp["won"]
    drill = funnel_deals(user=users["admin"], pipeline=pipeline, metric="deals", team=team)
    assert drill.count() == exp["total"]


def test_query_count_does_not_grow_with_deals(users, django_assert_max_num_queries):
    from .analytics_data import make_pipeline

    owners = [users["rep1"], users["rep2"], users["manager"], users["rep3"]]
    pipeline, stages, _deals = generate(owners, n=30, seed=1)
    for name in ("admin", "manager", "rep1"):
        user = type(users[name]).objects.get(pk=users[name].pk)  # no cached access facts
        with django_assert_max_num_queries(14):
            funnel(user=user, pipeline=pipeline, now=NOW)
    big, big_stages = make_pipeline("Bigger")
    generate(owners, n=200, seed=2, pipeline=big, stages=big_stages)
    user = type(users["manager"]).objects.get(pk=users["manager"].pk)
    with django_assert_max_num_queries(14):
        funnel(user=user, pipeline=big, now=NOW)


def test_drill_down_pages(data, users, client_for):
    pipeline, stages, deals = data
    c = client_for("admin")
    query = {"pipeline": pipeline.pk, "metric": "reached", "stage": stages[0].pk, "all": "1"}
    first = c.get(reverse("sales:funnel_deals"), query).content.decode()
    second = c.get(reverse("sales:funnel_deals"), {**query, "page": 2}).content.decode()
    ids = lambda html: set(re.findall(r'data-deal="(\d+)"', html))  # noqa: E731
    assert len(ids(first)) == len(ids(second)) == 50 and not ids(first) & ids(second)
    assert c.get(reverse("sales:funnel_deals"), {**query, "page": 99}).status_code == 404
