"""Sales demo data: a second pipeline, scoring and assignment rules, two customer pools (公海) with unowned
companies and leads, ~80 leads, a few hundred deals whose stage histories span the last nine months, and
quotas for this and last quarter so the board, funnel and forecast pages look real.

Deterministic (seeded random). Deals are written in bulk: `plan_deal()` draws a deal's path through its
pipeline and `history_rows()` turns it into consecutive StageHistory stays (each one's `left_at` is the next
one's `entered_at`, the last stay open), the same shape `opportunity_move` / won / lost keep. The benchmark
generator (bench/sales.py) reuses both for 100k deals.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from djmoney.money import Money
from faker import Faker

from guanxi.activities.choices import InteractionKind
from guanxi.activities.models import Interaction
from guanxi.core.choices import TimelineKind
from guanxi.core.models import Team, TimelineEvent
from guanxi.customers.choices import CompanySize, Industry, PoolEventKind, PoolRecordKind
from guanxi.customers.demo import credit_code, mobile
from guanxi.customers.models import Account, AccountContact, Pool, PoolEvent
from guanxi.customers.pool_services import pool_return

from . import scoring
from .assignment import lead_assign_auto
from .choices import (
    AssignmentMethod,
    DisqualifyReason,
    ForecastCategory,
    LeadSource,
    LeadStatus,
    QuotaPeriod,
    ScoringField,
    StageKind,
)
from .lead_services import lead_convert, lead_disqualify
from .models import (
    AssignmentRule,
    Lead,
    LostReason,
    Opportunity,
    Pipeline,
    Quota,
    ScoringRule,
    Stage,
    StageHistory,
)
from .opportunity_services import (
    opportunity_create,
    opportunity_mark_lost,
    opportunity_mark_won,
    opportunity_move,
)

KEY_ACCOUNTS = "项目制大客户"
# (name, probability %, kind, stall days): stored as typed, shown as typed.
KEY_ACCOUNT_STAGES = [
    ("初步接洽", 10, "open", 21),
    ("方案设计", 25, "open", 30),
    ("招投标", 45, "open", 30),
    ("商务谈判", 70, "open", 21),
    ("合同审批", 90, "open", 14),
    ("赢单", 100, "won", 0),
    ("输单", 0, "lost", 0),
]
EAST = ["上海市", "江苏省", "浙江省", "安徽省"]
SOUTH = ["广东省", "广西壮族自治区", "福建省"]
# (province, city, credit-code region) for pool companies and leads beyond the customer demo's places.
LEAD_PLACES = [
    ("上海市", "上海市", "310115"), ("江苏省", "苏州市", "320505"), ("浙江省", "杭州市", "330106"),
    ("安徽省", "合肥市", "340104"), ("广东省", "深圳市", "440305"), ("广东省", "东莞市", "441900"),
    ("福建省", "厦门市", "350203"), ("广西壮族自治区", "南宁市", "450103"), ("北京市", "北京市", "110108"),
    ("四川省", "成都市", "510107"), ("湖北省", "武汉市", "420111"),
]
PRODUCTS = ["CRM 年度订阅", "私有化部署", "数据中台项目", "呼叫中心升级", "渠道管理系统", "续约 2026",
            "Annual subscription", "Onboarding services", "API add-on", "培训与实施服务"]
KEY_PRODUCTS = ["集团数字化转型项目", "全国门店系统招标", "智能制造 MES 项目", "Enterprise rollout",
                "省级平台建设", "多事业部 CRM 统一"]
LOST_NOTES = ["竞品报价低 15%", "预算冻结到明年", "客户内部换了负责人", "Went with the incumbent vendor",
              "功能不满足定制需求", ""]
SOURCE_DETAILS = ["2026 春季展会", "官网试用申请", "老客户转介绍", "百度推广", "", "Partner webinar"]
LEAD_TITLES = ["总经理", "采购经理", "IT 总监", "运营主管", "市场经理", "CTO", "Head of Sales", "行政专员"]
DEFAULT_USERS = ("rep1", "rep2", "rep3", "manager")


# -- deal paths (shared with the benchmark generator) --------------------------------------------------

@dataclass
class PipelineShape:
    """A pipeline's stages as plain values: open stages in order, the won and the lost stage."""

    pipeline_id: int
    opens: list  # [(stage_id, stall_days, probability)]
    won: int
    lost: int
    forecast: dict = field(default_factory=dict)  # open stage id -> forecast category

    @classmethod
    def of(cls, pipeline):
        stages = list(pipeline.stages.order_by("position", "id"))
        opens = [(s.pk, s.stall_days, s.probability) for s in stages if s.kind == StageKind.OPEN]
        won = next(s.pk for s in stages if s.kind == StageKind.WON)
        lost = next(s.pk for s in stages if s.kind == StageKind.LOST)
        n = len(opens)
        forecast = {sid: (ForecastCategory.COMMIT if i == n - 1 else ForecastCategory.BEST_CASE if i == n - 2
                          else ForecastCategory.PIPELINE) for i, (sid, _s, _p) in enumerate(opens)}
        return cls(pipeline.pk, opens, won, lost, forecast)


def plan_deal(rng, shape, created, now):
    """A deal's path: ([(stage_id, entered_at)], outcome "open" | "won" | "lost").

    Stays are exponential around 0.8 × the stage's stall limit (some three times longer, so a few open
    deals are stalled); after each stay the deal is lost (more likely early), moves on (sometimes skipping
    a stage, rarely going back) or, from the last open stage, is won. Nothing happens after `now`.
    """
    t, i = created, 0
    path = [(shape.opens[0][0], t)]
    last = len(shape.opens) - 1
    while True:
        stall = shape.opens[i][1] or 14
        days = rng.expovariate(1 / max(2.0, stall * 0.8))
        if rng.random() < 0.1:
            days *= 3
        t = t + datetime.timedelta(days=days, minutes=rng.randint(0, 600))
        if t >= now:
            return path, "open"
        if rng.random() < 0.15 - 0.02 * i:
            path.append((shape.lost, t))
            return path, "lost"
        if i == last:
            path.append((shape.won, t))
            return path, "won"
        roll = rng.random()
        if roll < 0.04 and i > 0:
            i -= 1
        elif roll < 0.12 and i + 2 <= last:
            i += 2
        else:
            i += 1
        path.append((shape.opens[i][0], t))


def created_at(rng, now, days):
    """A creation time within the last `days` days, more of them recent (about 45% of deals stay open)."""
    return now - datetime.timedelta(days=1 + (days - 1) * rng.random() ** 2, minutes=rng.randint(0, 1440))


def history_rows(path):
    """[(stage_id, entered_at, left_at)]: each stay ends when the next begins; the last one stays open."""
    return [(stage, entered, path[k + 1][1] if k + 1 < len(path) else None)
            for k, (stage, entered) in enumerate(path)]


# -- configuration -------------------------------------------------------------------------------------

def seed_config():
    """Second pipeline, scoring rules, assignment rules and pools (idempotent); returns the pools."""
    key, created = Pipeline.objects.get_or_create(name=KEY_ACCOUNTS, defaults={"position": 1})
    if created:
        Stage.objects.bulk_create([
            Stage(pipeline=key, name=name, position=i, probability=p, kind=kind, stall_days=stall)
            for i, (name, p, kind, stall) in enumerate(KEY_ACCOUNT_STAGES)
        ])
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(username__in=DEFAULT_USERS)}
    east_team = Team.objects.get(name="华东销售一组")
    south_team = Team.objects.get(name="华南销售组")
    east, created = Pool.objects.get_or_create(name="华东公海", defaults={
        "description": "华东区（沪苏浙皖）无人跟进的公司和线索；30 天无跟进自动回收。", "provinces": ",".join(EAST),
        "claim_quota": 15, "reclaim_days": 30, "cooldown_days": 7})
    if created:
        east.members.set([users["rep1"], users["rep2"]])
        east.member_teams.set([east_team])
    south, created = Pool.objects.get_or_create(name="华南公海", defaults={
        "description": "华南区（粤桂闽）公海。", "provinces": ",".join(SOUTH), "claim_quota": 10, "reclaim_days": 21,
        "cooldown_days": 14})
    if created:
        south.members.set([users["rep3"]])
        south.member_teams.set([south_team])
    if not ScoringRule.objects.exists():
        rules = [
            ("制造业 / 互联网客户", ScoringField.INDUSTRY, "manufacturing,internet", 15),
            ("金融行业", ScoringField.INDUSTRY, "finance", 10),
            ("千人以上企业", ScoringField.SIZE, "1000-4999,5000+", 20),
            ("中型企业", ScoringField.SIZE, "200-999", 10),
            ("转介绍 / 合作伙伴", ScoringField.SOURCE, "referral,partner", 20),
            ("展会", ScoringField.SOURCE, "trade_show", 10),
            ("陌拜", ScoringField.SOURCE, "cold_call", -5),
            ("有邮箱", ScoringField.HAS_EMAIL, "", 5),
            ("有手机号", ScoringField.HAS_MOBILE, "", 5),
            ("决策层职位", ScoringField.TITLE_CONTAINS, "总", 10),
            ("14 天内有互动", ScoringField.RECENT_ENGAGEMENT, "14", 15),
        ]
        ScoringRule.objects.bulk_create([ScoringRule(name=n, field=f, value=v, points=p, position=i)
                                         for i, (n, f, v, p) in enumerate(rules)])
    if not AssignmentRule.objects.exists():
        AssignmentRule.objects.bulk_create([
            AssignmentRule(name="华东：一组轮流分配", position=0, provinces=",".join(EAST),
                           method=AssignmentMethod.ROUND_ROBIN, team=east_team),
            AssignmentRule(name="华南：黄销售", position=1, provinces=",".join(SOUTH),
                           method=AssignmentMethod.USER, user=users["rep3"]),
            AssignmentRule(name="其他地区：进华东公海", position=2, method=AssignmentMethod.POOL, pool=east),
        ])
    return {"east": east, "south": south, "east_team": east_team, "south_team": south_team, "users": users}


def pool_for(province, pools):
    return pools["south"] if province in SOUTH else pools["east"]


# -- pools and leads -----------------------------------------------------------------------------------

def seed_pool_companies(rng, fakers, pools, now, per_pool=12):
    """Unowned companies in each pool, plus a few claimed ones whose reclaim clock is running."""
    made, events = [], []
    used = set(Account.all_objects.values_list("name", flat=True))
    for key, places in (("east", LEAD_PLACES[:4]), ("south", LEAD_PLACES[4:8])):
        pool = pools[key]
        claimers = [pools["users"]["rep1"], pools["users"]["rep2"]] if key == "east" else [pools["users"]["rep3"]]
        n = 0
        while n < per_pool:
            name = fakers["zh"].company()
            if name in used:
                continue
            used.add(name)
            province, city, region = rng.choice(places)
            claimed = n < 3
            owner = claimers[n % len(claimers)] if claimed else None
            made.append(Account(
                name=name, credit_code=credit_code(rng, region), industry=rng.choice(Industry.values),
                size=rng.choice(CompanySize.values), country="CN", province=province, city=city,
                phone=mobile(rng), pool=pool, owner=owner,
                claimed_at=now - datetime.timedelta(days=pool.reclaim_days - 2 - n) if claimed else None,
            ))
            n += 1
    Account.objects.bulk_create(made)
    for a in made:
        entered = now - datetime.timedelta(days=rng.randint(40, 200))
        events.append(PoolEvent(pool=a.pool, record_type=PoolRecordKind.ACCOUNT, record_id=a.pk,
                                kind=PoolEventKind.ENTERED, reason="无人跟进", at=entered))
        if a.owner_id:
            events.append(PoolEvent(pool=a.pool, record_type=PoolRecordKind.ACCOUNT, record_id=a.pk,
                                    kind=PoolEventKind.CLAIMED, user=a.owner, actor=a.owner, at=a.claimed_at))
    PoolEvent.objects.bulk_create(events)
    TimelineEvent.objects.bulk_create([
        TimelineEvent(record_type=a.type_key(), record_id=a.pk, kind=TimelineKind.CREATED, actor=None,
                      data={"label": str(a)}) for a in made])
    return made


def seed_leads(rng, fakers, pools, now, n=80):
    sources = [LeadSource.WEB_FORM, LeadSource.REFERRAL, LeadSource.CAMPAIGN, LeadSource.ADVERTISEMENT,
               LeadSource.TRADE_SHOW, LeadSource.COLD_CALL, LeadSource.EMAIL, LeadSource.PARTNER]
    statuses = rng.choices(LeadStatus.values, weights=[30, 25, 15, 15, 15], k=n)
    leads = []
    for i in range(n):
        lang = "zh" if rng.random() < 0.85 else "en"
        f = fakers[lang]
        province, city, _region = rng.choice(LEAD_PLACES)
        lead = Lead(
            name=f.name(), company_name=f.company(), title=rng.choice(LEAD_TITLES),
            mobile=mobile(rng) if rng.random() < 0.8 else "",
            email=f"{fakers['en'].user_name()}{i}@{fakers['en'].free_email_domain()}" if rng.random() < 0.7 else "",
            wechat=f"wx_{fakers['en'].user_name()}{i}" if lang == "zh" and rng.random() < 0.5 else "",
            industry=rng.choice(Industry.values), size=rng.choice(CompanySize.values),
            source=rng.choice(sources), country="CN", province=province, city=city,
            source_detail=rng.choice(SOURCE_DETAILS),
            # Converted and disqualified leads are worked (qualified / contacted) until their command runs.
            status={LeadStatus.CONVERTED: LeadStatus.QUALIFIED,
                    LeadStatus.DISQUALIFIED: LeadStatus.CONTACTED}.get(statuses[i], statuses[i]),
        )
        lead.demo_target = statuses[i]
        leads.append(lead)
    Lead.objects.bulk_create(leads)
    created_at = [now - datetime.timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 900)) for _ in leads]
    for lead, at in zip(leads, created_at, strict=True):
        lead.created_at = lead.updated_at = at
    Lead.objects.bulk_update(leads, ["created_at", "updated_at"])
    TimelineEvent.objects.bulk_create([
        TimelineEvent(record_type=lead.type_key(), record_id=lead.pk, kind=TimelineKind.CREATED, actor=None,
                      data={"label": str(lead)}) for lead in leads])
    # The assignment rules place each new lead: round-robin in 华东销售一组, rep3 for the south, else a pool.
    for lead in leads:
        lead_assign_auto(lead=lead, actor=None)
    # Recent engagement for the scoring rule: calls and notes on the worked leads.
    interactions = []
    for lead in leads:
        if lead.status in (LeadStatus.CONTACTED, LeadStatus.QUALIFIED) and lead.owner_id:
            for _ in range(rng.randint(1, 3)):
                interactions.append(Interaction(
                    kind=rng.choice([InteractionKind.CALL, InteractionKind.NOTE]), subject="线索跟进电话",
                    content=rng.choice(["客户有采购计划，约下周演示", "已发送产品资料", "Asked for pricing"]),
                    occurred_at=now - datetime.timedelta(days=rng.randint(1, 40)), lead=lead, owner=lead.owner,
                    created_by=lead.owner))
    Interaction.objects.bulk_create(interactions)
    return leads


def close_leads(rng, leads, pools):
    """Run the lead commands: disqualify (with a reason), convert the owned ones picked for conversion
    (company + contact + deal), and let rep3 return a few leads to 华南公海."""
    converted = 0
    for lead in leads:
        if lead.demo_target == LeadStatus.DISQUALIFIED:
            lead_disqualify(lead=lead, actor=lead.owner or pools["users"]["manager"],
                            reason=rng.choice(DisqualifyReason.values),
                            note=rng.choice(["预算不足", "号码空号", "重复提交", "Not a company", ""]))
        elif lead.demo_target == LeadStatus.CONVERTED and lead.owner_id:
            lead_convert(lead=lead, actor=lead.owner, amount=str(rng.randint(5, 80) * 10000),
                         opportunity_name=f"{lead.company_name} · {rng.choice(PRODUCTS)}")
            converted += 1
    rep3 = pools["users"]["rep3"]
    south = [lead for lead in leads if lead.owner_id == rep3.pk and lead.demo_target == LeadStatus.NEW][:4]
    Lead.all_objects.filter(pk__in=[lead.pk for lead in south]).update(pool=pools["south"])
    for lead in south:
        lead.pool = pools["south"]
        pool_return(record=lead, actor=rep3, reason=rng.choice(["暂无需求，退回公海", "联系不上", "客户在外地"]))
    return converted


def score_leads(leads, now):
    """Scores and explanations by the scoring service's rules (recent engagement counted at `now`)."""
    rules = scoring.active_rules()
    engagement = scoring.engagement_counts([lead.pk for lead in leads], rules, now=now)
    for lead in leads:
        lead.score, lead.score_detail = scoring.score_with(lead, rules, engagement.get(lead.pk, {}))
    Lead.all_objects.bulk_update(leads, ["score", "score_detail"])


# -- deals ---------------------------------------------------------------------------------------------

def deal_fields(rng, shape, path, outcome, now, key, lost_reasons):
    """The Opportunity columns that follow from a path: stage, clocks, amount, dates, forecast category."""
    stage, entered = path[-1]
    closed_at = entered if outcome != "open" else None
    base = rng.lognormvariate(13.3 if key else 11.8, 0.7)  # ≈ ¥600k / ¥130k median
    amount = Decimal(max(5000, round(base, -3)))
    if outcome == "open":
        close = (now + datetime.timedelta(days=rng.randint(-20, 120))).date()
        probability = rng.choice([None, None, None, None, max(5, dict((s, p) for s, _d, p in shape.opens)[stage] - 5)])
        forecast = shape.forecast[stage]
    else:
        close, probability = closed_at.date(), None
        forecast = ForecastCategory.COMMIT if outcome == "won" else ForecastCategory.OMITTED
    lost_reason = rng.choices(lost_reasons, weights=[30, 25, 15, 15, 10, 5][: len(lost_reasons)])[0] \
        if outcome == "lost" else None
    return {"stage_id": stage, "stage_entered_at": entered, "closed_at": closed_at, "amount": Money(amount, "CNY"),
            "expected_close_date": close, "probability": probability, "forecast_category": forecast,
            "lost_reason": lost_reason, "lost_note": rng.choice(LOST_NOTES) if outcome == "lost" else ""}


def seed_deals(rng, now, n=300, days=270):
    """n deals on the demo companies (30% in the key-account pipeline), created over the last `days` days
    through the deal commands dated in the past (`at=`): create, then move / won / lost along the path."""
    shapes = [PipelineShape.of(p) for p in Pipeline.objects.filter(is_active=True).order_by("position", "id")]
    key_id = Pipeline.objects.get(name=KEY_ACCOUNTS).pk
    standard = next(s for s in shapes if s.pipeline_id != key_id)
    key = next(s for s in shapes if s.pipeline_id == key_id)
    stages = Stage.objects.in_bulk()
    pipelines = Pipeline.objects.in_bulk()
    lost_reasons = list(LostReason.objects.filter(is_active=True).order_by("position", "id"))
    accounts = list(Account.objects.filter(owner__username__in=DEFAULT_USERS).select_related("owner").order_by("pk"))
    primary = dict(AccountContact.objects.filter(is_primary=True).values_list("account_id", "contact_id"))
    plans = []
    for i in range(n):
        shape = key if rng.random() < 0.3 else standard
        account = accounts[(i * 7) % len(accounts)]
        created = created_at(rng, now, days)
        path, outcome = plan_deal(rng, shape, created, now)
        fields = deal_fields(rng, shape, path, outcome, now, shape is key, lost_reasons)
        name = f"{account.name} · {rng.choice(KEY_PRODUCTS if shape is key else PRODUCTS)}"
        source = rng.choice(["", "referral", "web_form", "trade_show", "partner"])
        plans.append((created, account, shape, path, outcome, fields, name, source))
    # Oldest first, so that each command's "top of the column" rank leaves the newest deal on top.
    plans.sort(key=lambda p: p[0])
    deals = []
    for created, account, shape, path, _outcome, f, name, source in plans:
        actor = account.owner
        contact = primary.get(account.pk)
        deal = opportunity_create(actor=actor, at=created, related={"contacts": [contact] if contact else []}, fields={
            "name": name, "account": account, "pipeline": pipelines[shape.pipeline_id], "owner": actor,
            "amount": f["amount"], "expected_close_date": f["expected_close_date"], "probability": f["probability"],
            "forecast_category": f["forecast_category"], "source": source})
        for stage_id, at in path[1:]:
            if stage_id == shape.won:
                deal = opportunity_mark_won(opportunity=deal, actor=actor, at=at)
            elif stage_id == shape.lost:
                deal = opportunity_mark_lost(opportunity=deal, actor=actor, at=at, reason=f["lost_reason"],
                                             note=f["lost_note"])
            else:
                deal = opportunity_move(opportunity=deal, actor=actor, stage=stages[stage_id], at=at)
        deal.created_at = created
        deals.append(deal)
    # The record's own clock (created_at is set on insert) and its timeline follow the story too.
    Opportunity.all_objects.bulk_update(deals, ["created_at"], batch_size=500)
    when = {d.pk: [plan[0]] + [at for _stage, at in plan[3][1:]] for d, plan in zip(deals, plans, strict=True)}
    events, seen = [], {}
    for event in TimelineEvent.objects.filter(record_type=Opportunity.type_key(), record_id__in=when).order_by("id"):
        if event.kind == TimelineKind.CREATED or event.data.get("command") in ("move", "won", "lost"):
            k = seen.get(event.record_id, 0)
            if k < len(when[event.record_id]):
                event.at = when[event.record_id][k]
                seen[event.record_id] = k + 1
                events.append(event)
    TimelineEvent.objects.bulk_update(events, ["at"], batch_size=1000)
    return deals, StageHistory.objects.filter(opportunity__in=deals).count()


# -- quotas --------------------------------------------------------------------------------------------

def month_start(d, back=0):
    """The first day of the month `back` months before d's (after it when negative)."""
    y, m = divmod(d.year * 12 + d.month - 1 - back, 12)
    return datetime.date(y, m + 1, 1)


def round_10k(value):
    return Decimal(int(value / 10000) * 10000)


def seed_quotas(rng, pools, deals, now):
    """Monthly and quarterly quotas for the reps and both teams, this and last quarter, near the won
    amounts of the last six months (so attainment ranges over roughly 60–130%)."""
    today = timezone.localdate(now)
    this_q = datetime.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    last_q = month_start(this_q, 3)
    months = [month_start(last_q, -k) for k in range(6)]
    won = {}
    for d in deals:
        if d.closed_at and d.lost_reason_id is None and d.closed_at >= now - datetime.timedelta(days=183):
            won[d.owner_id] = won.get(d.owner_id, Decimal(0)) + d.amount.amount
    users = pools["users"]
    quotas, per_user_month = [], {}
    for name in ("rep1", "rep2", "rep3", "manager"):
        user = users[name]
        monthly = max(Decimal(100000), round_10k(won.get(user.pk, Decimal(0)) / 6 * Decimal("1.1")))
        for m in months:
            amount = round_10k(monthly * Decimal(str(round(rng.uniform(0.85, 1.2), 2))))
            per_user_month[(name, m)] = amount
            quotas.append(Quota(user=user, period=QuotaPeriod.MONTH, start=m, amount=Money(amount, "CNY")))
        for q in (last_q, this_q):
            total = sum(per_user_month[(name, month_start(q, -k))] for k in range(3))
            quotas.append(Quota(user=user, period=QuotaPeriod.QUARTER, start=q, amount=Money(total, "CNY")))
    for team, names in ((pools["east_team"], ("rep1", "rep2", "manager")), (pools["south_team"], ("rep3",))):
        for m in months:
            quotas.append(Quota(team=team, period=QuotaPeriod.MONTH, start=m,
                                amount=Money(sum(per_user_month[(n, m)] for n in names), "CNY")))
        for q in (last_q, this_q):
            total = sum(per_user_month[(n, month_start(q, -k))] for n in names for k in range(3))
            quotas.append(Quota(team=team, period=QuotaPeriod.QUARTER, start=q, amount=Money(total, "CNY")))
    Quota.objects.bulk_create(quotas, ignore_conflicts=True)
    return len(quotas)


@transaction.atomic
def seed_sales(seed_value=2026, leads=80, opportunities=300, now=None):
    """Everything above, after the customer demo data (users, teams, companies, contacts) exists."""
    now = now or timezone.now()
    rng = random.Random(seed_value)
    fakers = {"zh": Faker("zh_CN"), "en": Faker("en_US")}
    for f in fakers.values():
        f.seed_instance(seed_value + 1)
    pools = seed_config()
    pool_accounts = seed_pool_companies(rng, fakers, pools, now)
    lead_rows = seed_leads(rng, fakers, pools, now, n=leads)
    score_leads(lead_rows, now)
    converted = close_leads(rng, lead_rows, pools)
    deals, stays = seed_deals(rng, now, n=opportunities)
    quotas = seed_quotas(rng, pools, deals, now)
    return {"leads": len(lead_rows), "converted": converted, "pool_companies": len(pool_accounts),
            "opportunities": Opportunity.objects.count(), "stage_history": stays, "quotas": quotas,
            "pipelines": Pipeline.objects.count()}
