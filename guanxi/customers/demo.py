"""Bilingual demo data: realistic companies, groups, relations and contacts (Faker zh_CN + en_US)."""

import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from djmoney.money import Money
from faker import Faker

from guanxi.core.choices import ShareLevel, TimelineKind
from guanxi.core.models import Department, RecordShare, Tag, Team, TimelineEvent
from guanxi.core.roles import ensure_default_roles
from guanxi.framework.validators import CREDIT_CODE_CHARS, credit_code_check_char

from .choices import CompanySize, Industry, LifecycleStage, RelationType, Source
from .models import Account, AccountContact, AccountRelation, Contact

DEMO_PASSWORD = "guanxi-demo"

PLACES = [
    ("北京市", "北京市", ["海淀区", "朝阳区", "东城区"], "110108"),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "静安区"], "310115"),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区"], "440305"),
    ("广东省", "广州市", ["天河区", "越秀区", "海珠区"], "440106"),
    ("浙江省", "杭州市", ["西湖区", "滨江区", "余杭区"], "330106"),
    ("江苏省", "南京市", ["鼓楼区", "玄武区", "建邺区"], "320106"),
    ("四川省", "成都市", ["武侯区", "锦江区", "高新区"], "510107"),
    ("湖北省", "武汉市", ["洪山区", "江汉区", "武昌区"], "420111"),
]
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
                   "176", "177", "186", "187", "188", "189"]
TAGS = ["重点客户", "VIP", "华东", "华南", "战略合作", "待跟进", "Key account", "Partner program"]
USERS = [
    ("admin", "管理员", "administrator", True), ("manager", "王经理", "sales_manager", False),
    ("rep1", "李销售", "sales_rep", False), ("rep2", "张销售", "sales_rep", False),
    ("rep3", "黄销售", "sales_rep", False),
    ("agent", "陈客服", "service_agent", False), ("agent2", "刘客服", "service_agent", False),
    ("supervisor", "孙主管", "service_manager", False), ("marketer", "赵市场", "marketer", False),
    ("auditor", "周审计", "auditor", False),
]
CONTACT_TITLES_ZH = ["总经理", "采购经理", "技术总监", "财务总监", "IT经理", "市场总监", "运营经理", "销售总监"]
CONTACT_TITLES_EN = ["CEO", "Purchasing Manager", "CTO", "CFO", "IT Manager", "Head of Marketing", "COO"]


def credit_code(rng, region):
    body = "91" + region + "".join(rng.choice(CREDIT_CODE_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + credit_code_check_char(body)


def mobile(rng):
    return "+86" + rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def seed_users():
    """The demo organisation: a sales department with one team (manager, rep1, rep2), a service team and
    the other roles. Owners in the demo data are spread over rep1, rep2 and manager so scopes show."""
    roles = ensure_default_roles()
    User = get_user_model()
    users = {}
    for username, display, role, superuser in USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"display_name": display, "email": f"{username}@demo.guanxi.local", "role": roles[role],
                      "is_staff": superuser, "is_superuser": superuser},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        users[username] = user
    sales, _ = Department.objects.get_or_create(name="销售部", defaults={"manager": users["manager"]})
    service_dept, _ = Department.objects.get_or_create(name="客户服务中心")
    team, _ = Team.objects.get_or_create(name="华东销售一组", defaults={"manager": users["manager"],
                                                                      "department": sales})
    service, _ = Team.objects.get_or_create(name="客户服务部", defaults={"department": service_dept,
                                                                     "manager": users["supervisor"]})
    # A second region outside the manager's department: its records are what the manager does not see.
    south_dept, _ = Department.objects.get_or_create(name="华南大区")
    south, _ = Team.objects.get_or_create(name="华南销售组", defaults={"department": south_dept})
    User.objects.filter(pk=users["rep3"].pk).update(team=south)
    User.objects.filter(pk=users["manager"].pk).update(team=team)
    User.objects.filter(pk__in=[users["rep1"].pk, users["rep2"].pk]).update(team=team, manager=users["manager"])
    User.objects.filter(pk__in=[users["agent"].pk, users["agent2"].pk]).update(team=service,
                                                                             manager=users["supervisor"])
    User.objects.filter(pk=users["supervisor"].pk).update(team=service)
    for user in users.values():
        user.refresh_from_db()
    return users


@transaction.atomic
def seed(companies=200, contacts=1000, seed_value=2026):
    rng = random.Random(seed_value)
    fakers = {"zh": Faker("zh_CN"), "en": Faker("en_US")}
    for f in fakers.values():
        f.seed_instance(seed_value)
    users = seed_users()
    owners = [users["rep1"], users["rep2"], users["manager"], users["rep3"]]
    tags = [Tag.objects.get_or_create(name=t)[0] for t in TAGS]

    accounts, used_names, used_codes = [], set(), set()
    while len(accounts) < companies:
        lang = "zh" if rng.random() < 0.75 else "en"
        name = fakers[lang].company()
        if name in used_names:
            continue
        used_names.add(name)
        province, city, districts, region = rng.choice(PLACES)
        code = credit_code(rng, region) if lang == "zh" else ""
        if code in used_codes:
            continue
        used_codes.add(code)
        accounts.append(Account(
            name=name, credit_code=code, industry=rng.choice(Industry.values), size=rng.choice(CompanySize.values),
            annual_revenue=Money(Decimal(rng.randint(50, 500000)) * 10000, "CNY"),
            website=f"https://www.{fakers['en'].domain_word()}.com", phone=mobile(rng),
            country="CN" if lang == "zh" else "US", province=province if lang == "zh" else "",
            city=city if lang == "zh" else fakers["en"].city(), district=rng.choice(districts) if lang == "zh" else "",
            street=fakers[lang].street_address(), owner=rng.choice(owners),
            lifecycle_stage=rng.choices(LifecycleStage.values, weights=[30, 25, 30, 10, 5])[0],
            source=rng.choice(Source.values), description=fakers[lang].catch_phrase() if lang == "en" else "",
        ))
    Account.objects.bulk_create(accounts, batch_size=500)
    accounts = list(Account.objects.order_by("pk"))
    for a in accounts:
        a.tags.set(rng.sample(tags, rng.randint(0, 2)))

    # Group hierarchies: a fifth of the companies head a group of two to five.
    pool = accounts[:]
    rng.shuffle(pool)
    for root in pool[: companies // 10]:
        children = [pool.pop() for _ in range(rng.randint(1, 4)) if len(pool) > companies // 2]
        for child in children:
            child.parent = root
            if rng.random() < 0.3 and len(pool) > companies // 2:
                grandchild = pool.pop()
                grandchild.parent = child
                grandchild.save(update_fields=["parent"])
        Account.objects.bulk_update(children, ["parent"])

    relations, seen = [], set()
    while len(relations) < companies * 3 // 4:
        a, b = rng.sample(accounts, 2)
        kind = rng.choice([RelationType.PARTNER, RelationType.SUPPLIER, RelationType.CUSTOMER_OF,
                           RelationType.COMPETITOR, RelationType.DISTRIBUTOR])
        if (a.pk, b.pk, kind) in seen:
            continue
        seen.add((a.pk, b.pk, kind))
        relations.append(AccountRelation(from_account=a, to_account=b, relation_type=kind,
                                         notes=fakers["zh"].sentence(nb_words=6) if rng.random() < 0.3 else ""))
    AccountRelation.objects.bulk_create(relations)

    people, memberships = [], []
    for i in range(contacts):
        account = accounts[i % len(accounts)] if i < len(accounts) else rng.choice(accounts)
        lang = "en" if account.country == "US" else "zh"
        f = fakers[lang]
        people.append(Contact(
            name=f.name(), title=rng.choice(CONTACT_TITLES_ZH if lang == "zh" else CONTACT_TITLES_EN),
            department=rng.choice(["销售部", "采购部", "技术部", "财务部"]) if lang == "zh" else "",
            mobile=mobile(rng), email=f"{fakers['en'].user_name()}{i}@{fakers['en'].free_email_domain()}",
            wechat=f"wx_{fakers['en'].user_name()}{i}" if lang == "zh" else "",
            birthday=fakers["en"].date_of_birth(minimum_age=25, maximum_age=60) if rng.random() < 0.5 else None,
            country=account.country, province=account.province, city=account.city, owner=account.owner,
        ))
        memberships.append(account)
    Contact.objects.bulk_create(people, batch_size=1000)
    people = list(Contact.objects.order_by("pk"))
    AccountContact.objects.bulk_create(
        [AccountContact(account=a, contact=c, role=c.title, is_primary=(i < len(accounts)))
         for i, (a, c) in enumerate(zip(memberships, people, strict=True))],
        batch_size=1000,
    )
    # A few of rep2's companies are shared with rep1 (read), one with the whole service team (edit).
    theirs = [a for a in accounts if a.owner_id == users["rep2"].pk]
    shares = [RecordShare(record_type=a.type_key(), record_id=a.pk, user=users["rep1"], level=ShareLevel.READ,
                          created_by=users["rep2"]) for a in theirs[:3]]
    service_team = Team.objects.get(name="客户服务部")
    shares += [RecordShare(record_type=a.type_key(), record_id=a.pk, team=service_team, level=ShareLevel.EDIT,
                           created_by=users["rep2"]) for a in theirs[3:4]]
    RecordShare.objects.bulk_create(shares)
    # The history people see on a record starts with its creation.
    TimelineEvent.objects.bulk_create(
        [TimelineEvent(record_type=obj.type_key(), record_id=obj.pk, kind=TimelineKind.CREATED, actor=obj.owner,
                       data={"label": str(obj)}) for obj in [*accounts, *people]],
        batch_size=1000,
    )
    return {"users": len(users), "companies": len(accounts), "contacts": len(people), "relations": len(relations)}


def bulk_contacts(n, batch=10_000, seed_value=7):
    """Many contacts quickly, for benchmarks: generated values from pools, loaded with COPY on PostgreSQL
    (~75k rows/s into the indexed table, ARCHITECTURE.md §9) and bulk_create elsewhere.

    Like the demo's own contacts they work somewhere: four in five belong to a company (mostly one of
    their owner's), one in ten to a second, and one in four carries a tag, so that a list page reads
    the memberships and tags a real page reads.
    """
    from datetime import timedelta

    from django.utils import timezone

    rng = random.Random(seed_value)
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(seed_value)
    en.seed_instance(seed_value)
    names = [zh.name() for _ in range(3000)] + [en.name() for _ in range(1000)]
    cities = [p[1] for p in PLACES]
    owners = list(get_user_model().objects.filter(username__in=["rep1", "rep2", "manager"]))
    companies = list(Account.all_objects.values_list("pk", "owner_id"))
    by_owner = {}
    for pk, owner_id in companies:
        by_owner.setdefault(owner_id, []).append(pk)
    tag_ids = list(Tag.objects.values_list("pk", flat=True))
    tag_through = Contact.tags.through
    start = Contact.all_objects.count()
    made = 0
    while made < n:
        size = min(batch, n - made)
        now = timezone.now()
        rows = []
        for i in range(size):
            k = start + made + i
            rows.append(Contact(
                name=rng.choice(names) + (str(k % 97) if k % 3 == 0 else ""), title=rng.choice(CONTACT_TITLES_ZH),
                mobile=mobile(rng), email=f"user{k}@example{k % 50}.cn", city=rng.choice(cities),
                owner=rng.choice(owners) if owners else None,
                created_at=now + timedelta(microseconds=i), updated_at=now,
            ))
        with transaction.atomic():
            last_pk = Contact.all_objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            _bulk_insert(Contact, rows)
            links, tagged = [], []
            for pk, owner_id in Contact.all_objects.filter(pk__gt=last_pk).values_list("pk", "owner_id"):
                if companies and rng.random() < 0.8:
                    own = by_owner.get(owner_id)
                    first = rng.choice(own) if own and rng.random() < 0.85 else rng.choice(companies)[0]
                    links.append(AccountContact(account_id=first, contact_id=pk, role="", is_primary=True))
                    second = rng.choice(companies)[0]
                    if rng.random() < 0.1 and second != first:
                        links.append(AccountContact(account_id=second, contact_id=pk, role="", is_primary=False))
                if tag_ids and rng.random() < 0.25:
                    tagged.append(tag_through(contact_id=pk, tag_id=rng.choice(tag_ids)))
            _bulk_insert(AccountContact, links)
            _bulk_insert(tag_through, tagged)
        made += size
    return made


def _bulk_insert(model, objs):
    """COPY on PostgreSQL (several times faster than INSERT for large batches), bulk_create elsewhere."""
    from django.db import connection

    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=2000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    copy_sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])
