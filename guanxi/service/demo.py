"""Service demo data: assignment rules and a few hundred bilingual tickets over the last six months, so the
ticket list, the SLA badges and the complaint analytics look real from the first minute.

Deterministic (seeded random). Every ticket goes through the real commands (`ticket_create`, `ticket_reply`,
`ticket_set_status`, `ticket_customer_reply`, `ticket_rate`, `ticket_escalate`) with `at=` in the past, so
routing, SLA due times, history, audit and the customer's (outbox) emails are what the application itself
writes. Reply and resolution times are drawn in business minutes and placed on the SLA calendar, so most
tickets meet their targets and some miss them. A missed target is then stamped the way the scheduler's sweep
stamps it (warned / breached at the due moment, once), with its history event.

Recurring problems are built in: two products (the R8 robot vacuum and the X3 smart lock) and three companies
collect far more complaints than the rest.
"""

import datetime
import random

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from faker import Faker

from guanxi.core.models import Team
from guanxi.customers.models import Account, AccountContact

from . import ticket_services as svc
from .choices import AssignMethod, TicketChannel, TicketEventKind, TicketKind, TicketPriority, TicketStatus
from .defaults import ensure_defaults
from .models import Ticket, TicketAssignmentRule, TicketCategory, TicketEvent
from .sla import add_business_minutes, calendar_spec, default_calendar

SERVICE_TEAM = "客户服务部"
# (name, weight): the first two are the recurring problems.
PRODUCTS = [
    ("扫地机器人 R8", 22), ("智能门锁 X3", 16), ("空气净化器 AP200", 7), ("Smart Speaker S1", 5),
    ("电动牙刷 T5", 5), ("净水器 W600", 6), ("Wi-Fi Router AX3000", 4), ("加湿器 H2", 4),
]
# (category name, weight, kind)
CATEGORY_WEIGHTS = [
    ("Defect or malfunction", 24, TicketKind.COMPLAINT), ("Packaging damaged", 8, TicketKind.COMPLAINT),
    ("Product quality", 4, TicketKind.COMPLAINT), ("Late delivery", 16, TicketKind.COMPLAINT),
    ("Wrong item", 6, TicketKind.COMPLAINT), ("Invoice", 9, TicketKind.REQUEST), ("Refund", 8, TicketKind.REQUEST),
    ("Service attitude", 6, TicketKind.COMPLAINT), ("Other", 7, TicketKind.INQUIRY),
]
CHANNELS = [(TicketChannel.PHONE, 34), (TicketChannel.WECHAT, 24), (TicketChannel.WEB, 20),
            (TicketChannel.EMAIL, 17), (TicketChannel.IN_PERSON, 5)]
PRIORITIES = [(TicketPriority.LOW, 12), (TicketPriority.NORMAL, 58), (TicketPriority.HIGH, 22),
              (TicketPriority.URGENT, 8)]
# category -> {"zh": [(subject, description)], "en": [...]}; {p} is the product.
TEXTS = {
    "Defect or malfunction": {
        "zh": [("{p} 使用一周后无法开机", "购买的{p}用了不到一周就开不了机，充电指示灯也不亮，请尽快处理。"),
               ("{p} 频繁报错", "{p}每天都会报错停止工作，重启后也没有改善。"),
               ("{p} 异响严重", "{p}运行时有很大的异响，担心有安全隐患。")],
        "en": [("{p} stopped working after a week", "Our {p} will not turn on any more; the charging light is off."),
               ("{p} keeps showing an error", "The {p} stops with an error several times a day, even after a reset.")],
    },
    "Packaging damaged": {
        "zh": [("{p} 外包装破损", "收到的{p}外箱严重破损，机身有划痕。"),
               ("{p} 包装被拆过", "{p}的包装封条已经被拆开，怀疑是二手货。")],
        "en": [("{p} arrived in a crushed box", "The box of the {p} was crushed and the device is scratched.")],
    },
    "Product quality": {
        "zh": [("{p} 做工粗糙", "{p}外壳缝隙很大，按键松动，与宣传不符。")],
        "en": [("{p} build quality is poor", "The casing of the {p} has gaps and the buttons are loose.")],
    },
    "Late delivery": {
        "zh": [("订单迟迟未发货", "下单十天了还没有发货，客服说会加急但一直没有消息。"),
               ("物流停滞三天", "物流信息三天没有更新，急用，请帮忙催一下。")],
        "en": [("Order not shipped after ten days", "We ordered ten days ago and the order has still not shipped."),
               ("Tracking has not moved for three days", "The parcel has been stuck in transit for three days.")],
    },
    "Wrong item": {
        "zh": [("收到的型号不对", "订的是{p}，收到的却是其他型号，请安排换货。")],
        "en": [("Wrong model delivered", "We ordered the {p} but received a different model.")],
    },
    "Invoice": {
        "zh": [("需要开具增值税专用发票", "请为上月的订单开具增值税专用发票，抬头和税号见附件。"),
               ("发票信息有误", "收到的发票税号填错了，请作废重开。")],
        "en": [("VAT invoice needed", "Please issue a special VAT invoice for last month's order."),
               ("Wrong tax number on the invoice", "The tax number on our invoice is wrong; please reissue it.")],
    },
    "Refund": {
        "zh": [("退款一直未到账", "七天前申请的退款至今没有到账。"),
               ("申请退货退款", "{p}不符合需求，申请七天无理由退货。")],
        "en": [("Refund not received", "The refund approved a week ago has not arrived."),
               ("Return and refund", "The {p} does not fit our needs; we would like to return it.")],
    },
    "Service attitude": {
        "zh": [("客服态度差", "电话客服态度很不耐烦，问题也没解决。"),
               ("安装师傅迟到", "约好上午安装，师傅下午才到，也没提前通知。")],
        "en": [("Rude support call", "The person on the phone was impatient and did not solve anything.")],
    },
    "Other": {
        "zh": [("{p} 如何连接App", "请问{p}怎么连接手机App？说明书里没有写清楚。"),
               ("咨询延保服务", "{p}可以购买延长保修吗？")],
        "en": [("How do I pair the {p} with the app?", "The manual does not explain how to pair the {p}."),
               ("Extended warranty", "Can we buy an extended warranty for the {p}?")],
    },
}
REPLIES = {
    "zh": ["您好，非常抱歉给您带来不便，我们已经记录您的问题，正在核实处理。",
           "您好，已为您加急处理，预计两个工作日内给您答复。",
           "您好，请提供订单号和照片，方便我们尽快处理。"],
    "en": ["Hello, we are sorry for the trouble. We have logged the issue and are looking into it.",
           "Hello, we have escalated this internally and will get back to you within two working days.",
           "Hello, could you send us the order number and a photo so we can sort this out quickly?"],
}
RESOLVED_NOTES = {
    "zh": ["已为您安排换新，新机已发出。", "退款已原路退回，请注意查收。", "发票已重新开具并寄出。",
           "问题已解决，感谢您的耐心。"],
    "en": ["A replacement has been shipped.", "The refund has been issued to the original payment method.",
           "The corrected invoice has been sent.", "The issue is solved; thank you for your patience."],
}
REOPEN_TEXTS = {"zh": ["问题又出现了，请再看一下。", "换的新机还是同样的问题。"],
                "en": ["The problem is back, please have another look.", "The replacement has the same fault."]}
COMMENTS = {
    "low": {"zh": ["处理太慢了，等了好几天。", "问题没有真正解决。", "客服一直推脱。"],
            "en": ["Far too slow.", "The problem was not really solved.", "Nobody took responsibility."]},
    "high": {"zh": ["处理很及时，谢谢！", "客服很专业。", ""],
             "en": ["Quick and friendly, thanks!", "Very helpful.", ""]},
}
CSAT_WEIGHTS = [3, 4, 9, 32, 52]  # 1..5: skewed to 4–5
CSAT_WEIGHTS_LATE = [14, 14, 20, 28, 24]  # after a missed target


def _pick(rng, weighted):
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights=weights)[0]


def seed_rules(categories, team):
    """Product quality and delivery round-robin in the service team; billing to whoever has least open."""
    rules = [("产品质量 → 客户服务部", "Product quality", AssignMethod.ROUND_ROBIN),
             ("物流配送 → 客户服务部", "Delivery", AssignMethod.ROUND_ROBIN),
             ("账务 → 客户服务部（最少待办）", "Billing", AssignMethod.LEAST_LOADED)]
    out = []
    for i, (name, category, method) in enumerate(rules):
        rule, _created = TicketAssignmentRule.objects.get_or_create(
            name=name, defaults={"category": categories[category], "team": team, "method": method,
                                 "position": i * 10})
        out.append(rule)
    return out


def _created_moment(rng, now, days):
    """A moment in the last `days` days, mostly on weekdays and in the daytime (local time)."""
    while True:
        day = timezone.localdate(now) - datetime.timedelta(days=rng.randint(0, days))
        if day.weekday() >= 5 and rng.random() < 0.6:
            continue
        hour = _pick(rng, [(h, 1 if h < 8 or h > 21 else (5 if 9 <= h <= 17 else 2)) for h in range(24)])
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, rng.randint(0, 59))))
        if moment < now - datetime.timedelta(minutes=30):
            return moment


def _factor(rng, late_share):
    """A share of the SLA target: usually well inside it, sometimes beyond (a miss)."""
    if rng.random() < late_share:
        return rng.uniform(1.1, 3.0)
    return min(0.95, rng.lognormvariate(-1.0, 0.6))


class _Seeder:
    def __init__(self, rng, now, users, accounts, contacts, categories):
        self.rng, self.now, self.users = rng, now, users
        self.accounts, self.contacts, self.categories = accounts, contacts, categories
        self.agents = [users["agent"], users["agent2"]]
        self.spec = calendar_spec(default_calendar())
        self.fakers = {"zh": Faker("zh_CN"), "en": Faker("en_US")}
        for f in self.fakers.values():
            f.seed_instance(rng.randint(0, 10**6))
        # Three companies that complain a lot (recurring problems), the rest now and then.
        self.frequent = accounts[:3]

    def later(self, start, minutes):
        """`minutes` of business time after `start` (the calendar's working hours)."""
        return add_business_minutes(self.spec, start, max(1, int(minutes))) or start

    def fields(self):
        rng = self.rng
        lang = "zh-hans" if rng.random() < 0.8 else "en"
        short = "zh" if lang == "zh-hans" else "en"
        name, _w, kind = _pick(rng, [((n, w, k), w) for n, w, k in CATEGORY_WEIGHTS])
        category = self.categories[name]
        product = _pick(rng, PRODUCTS)
        if name in ("Late delivery", "Invoice") and rng.random() < 0.5:
            product = ""
        subject, description = rng.choice(TEXTS[name][short])
        shown = product or ("产品" if short == "zh" else "product")
        fields = {"kind": kind, "subject": subject.format(p=shown)[:200], "description": description.format(p=shown),
                  "language": lang, "channel": _pick(rng, CHANNELS), "category": category,
                  "priority": _pick(rng, PRIORITIES), "product": product}
        if rng.random() < 0.35:
            fields["order_ref"] = f"SO{rng.randint(2025000000, 2026999999)}"
        if self.accounts and rng.random() < 0.75:
            account = rng.choice(self.frequent) if rng.random() < 0.3 else rng.choice(self.accounts)
            fields["account"] = account
            contact = self.contacts.get(account.pk)
            if contact is not None:
                fields["contact"] = contact
        if "contact" not in fields:
            faker = self.fakers[short]
            fields["customer_name"] = faker.name()
            fields["customer_email"] = faker.email() if rng.random() < 0.7 else ""
        return fields, short

    def ticket(self):
        rng = self.rng
        # One ticket in ten is from the last ten days, so every stage of the workflow has a few.
        recent = rng.random() < 0.1
        created = _created_moment(rng, self.now, 10 if recent else 182)
        fields, lang = self.fields()
        actor = rng.choice(self.agents) if fields["channel"] in (TicketChannel.PHONE, TicketChannel.IN_PERSON) \
            else None
        ticket = svc.ticket_create(actor=actor, fields=fields, at=created)
        if ticket.owner_id == self.users["supervisor"].pk and rng.random() < 0.8:
            # The round-robin includes the team's manager, who hands most of them on to an agent.
            svc.ticket_assign(actor=self.users["supervisor"], ticket=ticket, owner=rng.choice(self.agents),
                              at=created + datetime.timedelta(minutes=rng.randint(2, 30)))
        age = (self.now - created).total_seconds() / 86400
        policy = ticket.sla_policy
        fr_target = policy.first_response_minutes if policy else 240
        res_target = policy.resolution_minutes if policy else 1440
        # Recent tickets are still being worked on: stop somewhere along the way.
        stop = None
        if recent or age < 10:
            stop = _pick(rng, [("assigned", 2), ("in_progress", 3), ("waiting", 2), ("resolved", 3), (None, 3)])
        if stop == "assigned" or (age < 0.5 and rng.random() < 0.6):
            return ticket
        late = 0.07 if ticket.product != "扫地机器人 R8" else 0.16
        agent = ticket.owner or rng.choice(self.agents)
        reply_at = self.later(created, fr_target * _factor(rng, late))
        if reply_at >= self.now:
            return ticket
        svc.ticket_reply(actor=agent, ticket=ticket, body=rng.choice(REPLIES[lang]), at=reply_at)
        if stop == "in_progress":
            return ticket
        resolve_at = self.later(created, res_target * _factor(rng, late))
        resolve_at = max(resolve_at, reply_at + datetime.timedelta(minutes=rng.randint(5, 90)))
        if stop == "waiting" or rng.random() < 0.2:
            wait_at = reply_at + (resolve_at - reply_at) / 3
            if wait_at < self.now:
                svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.WAITING, at=wait_at)
                if stop == "waiting":
                    return ticket
                svc.ticket_customer_reply(ticket=ticket, body=rng.choice(REOPEN_TEXTS[lang]),
                                          at=wait_at + (resolve_at - wait_at) / 2)
        if resolve_at >= self.now:
            return ticket
        if rng.random() < 0.5:
            svc.ticket_reply(actor=agent, ticket=ticket, body=rng.choice(RESOLVED_NOTES[lang]),
                             at=resolve_at - datetime.timedelta(minutes=1))
        svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED, at=resolve_at)
        # Some come back: the customer writes again, the agent fixes it again.
        if stop is None and rng.random() < (0.18 if ticket.product in ("扫地机器人 R8", "智能门锁 X3") else 0.06):
            reopen_at = resolve_at + datetime.timedelta(hours=rng.randint(4, 96))
            again_at = self.later(reopen_at, res_target * _factor(rng, 0.3))
            if again_at < self.now:
                svc.ticket_customer_reply(ticket=ticket, body=rng.choice(REOPEN_TEXTS[lang]), at=reopen_at)
                svc.ticket_reply(actor=agent, ticket=ticket, body=rng.choice(RESOLVED_NOTES[lang]),
                                 at=again_at - datetime.timedelta(minutes=1))
                svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED, at=again_at)
                resolve_at = again_at
        missed = (ticket.first_response_due and reply_at > ticket.first_response_due) or \
                 (ticket.resolution_due and resolve_at > ticket.resolution_due)
        if rng.random() < 0.7:
            rate_at = resolve_at + datetime.timedelta(hours=rng.uniform(0.5, 48))
            if rate_at < self.now:
                score = rng.choices(range(1, 6), weights=CSAT_WEIGHTS_LATE if missed else CSAT_WEIGHTS)[0]
                pool = COMMENTS["low" if score <= 2 else "high"][lang]
                comment = rng.choice(pool) if score <= 2 or rng.random() < 0.3 else ""
                svc.ticket_rate(ticket=ticket, score=score, comment=comment, at=rate_at)
        close_at = resolve_at + datetime.timedelta(days=7)
        if stop is None and close_at < self.now and rng.random() < 0.75:
            svc.ticket_set_status(actor=None, ticket=ticket, status=TicketStatus.CLOSED, at=close_at)
        return ticket


def stamp_sla(now):
    """Stamp warnings and breaches as the scheduler's sweep would have (at the warning / due moment, once),
    with their history events; escalate each ticket's first breach to the team manager."""
    fields = ("first_response_warn_at", "first_response_due", "first_responded_at", "resolution_warn_at",
              "resolution_due", "resolved_at")
    rows = Ticket.all_objects.filter(
        Q(first_response_warned_at__isnull=True) & Q(first_response_breached_at__isnull=True)
        & Q(resolution_warned_at__isnull=True) & Q(resolution_breached_at__isnull=True)
        & (Q(first_response_due__isnull=False) | Q(resolution_due__isnull=False))
    ).values("pk", *fields)
    events, breached = [], []
    for row in rows:
        updates = {}
        for target, done in (("first_response", row["first_responded_at"]), ("resolution", row["resolved_at"])):
            warn, due = row[f"{target}_warn_at"], row[f"{target}_due"]
            end = done or now
            if warn and warn < end:
                updates[f"{target}_warned_at"] = warn
                events.append(TicketEvent(ticket_id=row["pk"], kind=TicketEventKind.SLA_WARNING, at=warn,
                                          data={"target": target}))
            if due and due < end:
                updates[f"{target}_breached_at"] = due
                events.append(TicketEvent(ticket_id=row["pk"], kind=TicketEventKind.SLA_BREACH, at=due,
                                          data={"target": target}))
        if updates:
            Ticket.all_objects.filter(pk=row["pk"]).update(**updates)
        first = min((updates.get(f"{t}_breached_at"), t) for t in ("first_response", "resolution")
                    if updates.get(f"{t}_breached_at")) if any(k.endswith("breached_at") for k in updates) else None
        if first:
            breached.append((row["pk"], first))
    TicketEvent.objects.bulk_create(events)
    for pk, (at, target) in breached:
        ticket = Ticket.all_objects.get(pk=pk)
        svc.ticket_escalate(actor=None, ticket=ticket, reason=target, at=at, key=f"ticket:{pk}:escalated:{target}")
    return len(breached)


@transaction.atomic
def seed_service(tickets=400, seed_value=2026, now=None):
    """Rules and `tickets` tickets, after the customer demo data (users, teams, companies, contacts)."""
    from guanxi.customers.demo import seed_users

    now = now or timezone.now()
    rng = random.Random(seed_value)
    ensure_defaults()
    users = seed_users()
    team = Team.objects.get(name=SERVICE_TEAM)
    categories = {c.name: c for c in TicketCategory.objects.all()}
    rules = seed_rules(categories, team)
    accounts = list(Account.objects.order_by("id")[:60])
    contacts = {}
    for link in AccountContact.objects.filter(account__in=accounts).select_related("contact").order_by("id"):
        contacts.setdefault(link.account_id, link.contact)
    seeder = _Seeder(rng, now, users, accounts, contacts, categories)
    created = [seeder.ticket() for _i in range(tickets)]
    breaches = stamp_sla(now)
    by_status = {s: 0 for s in TicketStatus.values}
    for status in Ticket.objects.filter(pk__in=[t.pk for t in created]).values_list("status", flat=True):
        by_status[status] += 1
    return {"tickets": len(created), "rules": len(rules), "breached": breaches, "by_status": by_status}
