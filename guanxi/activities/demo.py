"""Demo activities: a history of calls, meetings, visits and notes on the demo customers, and open tasks
(some overdue, some today, some later, a few with reminders) for the sales users."""

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from guanxi.customers.models import AccountContact

from .choices import Direction, InteractionKind, Priority
from .models import Interaction, Task

SUBJECTS = {
    InteractionKind.CALL: ["电话回访", "确认报价细节", "Follow-up call", "询问采购进度"],
    InteractionKind.MEETING: ["方案演示会", "季度业务回顾", "Product demo", "合同条款沟通"],
    InteractionKind.VISIT: ["上门拜访", "工厂参观", "Site visit"],
    InteractionKind.NOTE: ["内部备注：客户预算有限", "Note: decision maker changed"],
    InteractionKind.SOCIAL: ["微信沟通样品寄送", "微信确认会议时间"],
}
OUTCOMES = ["客户有兴趣，需要报价", "已发送资料", "Agreed to a demo next week", "暂无需求", "约定下周再联系"]
NEXT_STEPS = ["发送正式报价", "安排技术交流", "Send the proposal", "邀请参加新品发布会", ""]
TASKS = ["回访客户", "准备报价单", "Prepare the demo", "整理会议纪要", "跟进合同签署", "Call back about the invoice"]


@transaction.atomic
def seed_activities(seed_value=2026, per_company=3):
    rng = random.Random(seed_value)
    now = timezone.now()
    memberships = list(AccountContact.objects.select_related("account", "contact").order_by("pk"))
    interactions = []
    for m in memberships[: len(memberships) // 2]:
        for _ in range(rng.randint(1, per_company)):
            kind = rng.choice(list(SUBJECTS))
            interactions.append(Interaction(
                kind=kind, direction=rng.choice([Direction.INBOUND, Direction.OUTBOUND]) if kind == "call" else "",
                subject=rng.choice(SUBJECTS[kind]), content=rng.choice(OUTCOMES),
                occurred_at=now - datetime.timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 600)),
                duration_minutes=rng.choice([5, 15, 30, 60, 90]) if kind != "note" else None,
                outcome=rng.choice(OUTCOMES), next_step=rng.choice(NEXT_STEPS),
                account=m.account, contact=m.contact, owner=m.account.owner, created_by=m.account.owner,
            ))
    Interaction.objects.bulk_create(interactions, batch_size=1000)
    users = list(get_user_model().objects.filter(username__in=["rep1", "rep2", "rep3", "manager"]))
    tasks = []
    for user in users:
        own = [m for m in memberships if m.account.owner_id == user.pk][:12]
        for i, m in enumerate(own):
            due = now + datetime.timedelta(days=rng.randint(-5, 20), hours=rng.randint(-3, 3))
            due = due.replace(minute=0, second=0, microsecond=0)
            tasks.append(Task(
                title=rng.choice(TASKS), due_at=due, priority=rng.choice(Priority.values), owner=user,
                created_by=user, account=m.account, contact=m.contact,
                remind_at=due - datetime.timedelta(hours=1) if (i % 3 == 0 and due > now) else None,
            ))
    Task.objects.bulk_create(tasks)
    return {"interactions": len(interactions), "tasks": len(tasks)}
