"""Read-only complaint analytics over the tickets a user may see (`Ticket.objects.restrict(user, "view")`).

The tickets of a report are those *created* in the chosen local-date range (both ends included), narrowed by
category (with its subcategories), team and agent. Counts, SLA compliance, satisfaction and the recurring
problems are GROUP BY / aggregate queries; only the business-time durations are computed in Python, over a
values() list (working time depends on the calendar, its hours and holidays, which SQL does not know).

Definitions:

- **first-response time**: business minutes from creation to the first reply to the customer; **resolution
  time**: business minutes from creation to the (last) resolution. Measured on the calendar of the ticket's
  SLA policy, else the default calendar. Median and average over the tickets that have one.
- **SLA compliance** (first response / resolution): among the tickets with a due time whose clock has ended
  — answered (resolved), or due time passed without it — the share answered (resolved) by the due time.
- **breached**: tickets on which the SLA sweep stamped a first-response or resolution breach.
- **satisfaction**: average of the ratings (1–5); **response rate**: rated tickets / resolved or closed
  tickets; the distribution counts each score.
- **reopen rate**: tickets reopened at least once / tickets resolved at least once.
- **recurring problems**: the companies with the most tickets, each with its top categories and products;
  and the products with the most tickets overall.
"""

import datetime
import statistics

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from guanxi.framework.forms import DATE_MAX, DATE_MIN

from .choices import DONE_STATUSES, OPEN_STATUSES
from .defaults import label
from .models import Ticket, TicketCategory

# Dates outside these bounds are refused as input (a bucket past 9999 does not exist).
MIN_DATE, MAX_DATE = DATE_MIN, DATE_MAX  # the report filters' bounds (framework.forms.BoundedDateField)
PERIODS = ("day", "week", "month")
TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
TOP_COMPANIES = 10
TOP_PER_COMPANY = 3
TOP_PRODUCTS = 10
# More buckets than this (e.g. days over decades) are refused: a chart of them is useless and slow.
MAX_BUCKETS = 1000


def day_start(day):
    """The aware datetime at which a local calendar day starts."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def default_range(today=None):
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=89), today


def auto_period(date_from, date_to):
    """Days for a month, weeks up to half a year, months beyond (and when the range is open)."""
    if not date_from or not date_to:
        return "month"
    span = (date_to - date_from).days
    return "day" if span <= 31 else "week" if span <= 190 else "month"


def bucket_start(period, day):
    if period == "week":
        return day - datetime.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_bucket(period, start):
    if period == "week":
        return start + datetime.timedelta(days=7)
    if period == "month":
        return datetime.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + datetime.timedelta(days=1)


def bucket_count(period, date_from, date_to):
    days = (date_to - date_from).days + 1
    return {"day": days, "week": days // 7 + 2, "month": days // 28 + 2}[period]


# -- the category tree -------------------------------------------------------------------------------


class CategoryTree:
    """All categories read once: labels, the top-level ancestor and the second level of each node."""

    def __init__(self):
        self.nodes = {row["pk"]: row for row in TicketCategory.objects.values("pk", "name", "parent_id", "position")}

    def label(self, pk):
        return label(self.nodes[pk]["name"]) if pk in self.nodes else ""

    def path(self, pk):
        """[top, …, pk] (cycles and missing parents cut the walk)."""
        out = []
        while pk is not None and pk in self.nodes and pk not in out:
            out.append(pk)
            pk = self.nodes[pk]["parent_id"]
        return list(reversed(out))

    def top(self, pk):
        path = self.path(pk)
        return path[0] if path else None

    def descendants(self, pk):
        children = {}
        for node in self.nodes.values():
            children.setdefault(node["parent_id"], []).append(node["pk"])
        found, stack = [], [pk]
        while stack:
            node = stack.pop()
            if node not in found:
                found.append(node)
                stack.extend(children.get(node, []))
        return found

    def order(self, pk):
        return (self.nodes[pk]["position"], pk) if pk in self.nodes else (10**9, 0)


# -- scope -------------------------------------------------------------------------------------------


def tickets(user, *, date_from=None, date_to=None, category=None, team=None, owner=None, tree=None):
    """The report's tickets: visible to the user, created in [date_from, date_to] (local days), filtered."""
    qs = Ticket.objects.restrict(user, "view")
    if date_from:
        qs = qs.filter(created_at__gte=day_start(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=day_start(date_to + datetime.timedelta(days=1)))
    if category is not None:
        qs = qs.filter(category_id__in=(tree or CategoryTree()).descendants(getattr(category, "pk", category)))
    if team is not None:
        qs = qs.filter(team_id=getattr(team, "pk", team))
    if owner is not None:
        qs = qs.filter(owner_id=getattr(owner, "pk", owner))
    return qs.order_by()


def _rate(part, whole):
    return None if not whole else part / whole


# -- volumes -----------------------------------------------------------------------------------------


def volume_by_category(qs, tree):
    """[{id, name, count, children: [{id, name, count}]}] by top-level category, most tickets first; tickets
    without a category under id None. Tickets filed on a top-level category itself are only in its count."""
    tops = {}
    for category_id, n in qs.values_list("category_id").annotate(n=Count("id")).order_by():
        path = tree.path(category_id) if category_id else []
        top_id = path[0] if path else None
        row = tops.setdefault(top_id, {"id": top_id, "name": tree.label(top_id) if top_id else "", "count": 0,
                                       "children": {}})
        row["count"] += n
        if len(path) > 1:
            child = path[1]
            entry = row["children"].setdefault(child, {"id": child, "name": tree.label(child), "count": 0})
            entry["count"] += n
    out = []
    for row in tops.values():
        row["children"] = sorted(row["children"].values(), key=lambda c: (-c["count"], tree.order(c["id"])))
        out.append(row)
    return sorted(out, key=lambda r: (-r["count"], r["id"] is None, tree.order(r["id"])))


def volume_by_period(qs, period, date_from=None, date_to=None):
    """[{start, end, count}] per day / week (Monday first) / month in the site's time zone, truncated in the
    database; empty buckets in the range are included (count 0)."""
    tz = timezone.get_current_timezone()
    trunc = TRUNC[period]("created_at", tzinfo=tz)
    counts = {}
    for bucket, n in qs.annotate(bucket=trunc).values_list("bucket").annotate(n=Count("id")).order_by("bucket"):
        if isinstance(bucket, datetime.datetime):
            bucket = timezone.localtime(bucket, tz).date() if timezone.is_aware(bucket) else bucket.date()
        counts[bucket] = counts.get(bucket, 0) + n
    if not counts and not (date_from and date_to):
        return []
    one = datetime.timedelta(days=1)
    first = bucket_start(period, date_from or min(counts))
    last = date_to or next_bucket(period, max(counts)) - one
    if bucket_count(period, first, last) > MAX_BUCKETS:
        # A very long range: leave out the empty buckets before the first ticket and after the last.
        if not counts:
            return []
        first = max(first, bucket_start(period, min(counts)))
        last = min(last, next_bucket(period, max(counts)) - one)
    out, start = [], first
    while start <= last:
        end = next_bucket(period, start)
        # Start and end clipped to the range: they are the drill-down's created_after / created_before.
        out.append({"start": max(start, date_from) if date_from else start, "end": min(end - one, last),
                    "count": counts.get(start, 0)})
        start = end
    return out


# -- durations in business time ----------------------------------------------------------------------


def _summary(values):
    if not values:
        return {"count": 0, "median": None, "average": None}
    return {"count": len(values), "median": round(statistics.median(values), 2),
            "average": round(sum(values) / len(values), 2)}


def durations(qs, tree):
    """First-response and resolution times in business minutes: overall and per top-level category.

    The minutes are measured by the ticket commands when the reply and the resolution happen
    (`Ticket.first_response_minutes`, `resolution_minutes`), so this reads numbers: walking the calendar
    here took 0.8 s for 100k tickets (docs/performance.md).
    """
    rows = qs.filter(Q(first_response_minutes__isnull=False) | Q(resolution_minutes__isnull=False)) \
        .values_list("category_id", "first_response_minutes", "resolution_minutes")
    first, resolution, per = [], [], {}
    for category_id, responded, resolved in rows:
        group = per.setdefault(tree.top(category_id) if category_id else None, ([], []))
        if responded is not None:
            first.append(responded)
            group[0].append(responded)
        if resolved is not None:
            resolution.append(resolved)
            group[1].append(resolved)
    by_category = [{"id": pk, "name": tree.label(pk) if pk else "", "first_response": _summary(fr),
                    "resolution": _summary(res)}
                   for pk, (fr, res) in sorted(per.items(), key=lambda kv: (kv[0] is None, tree.order(kv[0])))]
    return {"first_response": _summary(first), "resolution": _summary(resolution), "by_category": by_category}


# -- SLA, satisfaction, reopens ----------------------------------------------------------------------


def figures(qs, now=None):
    """The counts behind the KPI cards, SLA compliance, satisfaction and the reopen rate (one query)."""
    now = now or timezone.now()
    responded_in_time = Q(first_responded_at__isnull=False, first_responded_at__lte=F("first_response_due"))
    resolved_in_time = Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due"))
    agg = qs.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        done=Count("id", filter=Q(status__in=DONE_STATUSES)),
        breached=Count("id", filter=Q(first_response_breached_at__isnull=False)
                       | Q(resolution_breached_at__isnull=False)),
        # As the sweep and the ticket page see it: a ticket resolved without a reply (spam, a duplicate)
        # has no first-response target to meet or miss.
        fr_total=Count("id", filter=Q(first_response_due__isnull=False)
                       & (Q(first_responded_at__isnull=False)
                          | Q(first_response_due__lt=now, resolved_at__isnull=True))),
        fr_met=Count("id", filter=Q(first_response_due__isnull=False) & responded_in_time),
        res_total=Count("id", filter=Q(resolution_due__isnull=False)
                        & (Q(resolved_at__isnull=False) | Q(resolution_due__lt=now))),
        res_met=Count("id", filter=Q(resolution_due__isnull=False) & resolved_in_time),
        ever_resolved=Count("id", filter=Q(resolved_at__isnull=False) | Q(reopened_count__gt=0)),
        reopened=Count("id", filter=Q(reopened_count__gt=0)),
        rated=Count("id", filter=Q(csat_score__isnull=False)),
        rated_done=Count("id", filter=Q(csat_score__isnull=False, status__in=DONE_STATUSES)),
        csat_avg=Avg("csat_score"),
    )
    return {
        "total": agg["total"], "open": agg["open"], "done": agg["done"], "breached": agg["breached"],
        "sla": {
            "first_response": {"total": agg["fr_total"], "met": agg["fr_met"],
                               "rate": _rate(agg["fr_met"], agg["fr_total"])},
            "resolution": {"total": agg["res_total"], "met": agg["res_met"],
                           "rate": _rate(agg["res_met"], agg["res_total"])},
        },
        "reopen": {"reopened": agg["reopened"], "resolved": agg["ever_resolved"],
                   "rate": _rate(agg["reopened"], agg["ever_resolved"])},
        "csat": {"average": round(agg["csat_avg"], 2) if agg["csat_avg"] is not None else None,
                 "rated": agg["rated"], "response_rate": _rate(agg["rated_done"], agg["done"])},
    }


def csat_distribution(qs):
    """[{score, count}] for 1..5 (zeros included)."""
    counts = dict(qs.filter(csat_score__isnull=False).values_list("csat_score").annotate(n=Count("id")).order_by())
    return [{"score": s, "count": counts.get(s, 0)} for s in range(1, 6)]


# -- recurring problems ------------------------------------------------------------------------------


def recurring(qs, tree, companies=TOP_COMPANIES, per_company=TOP_PER_COMPANY, products=TOP_PRODUCTS):
    """The companies with the most tickets (each with its top categories and products), and the top
    products overall. Three queries whatever the number of companies."""
    top = list(qs.filter(account__isnull=False).values_list("account_id", "account__name")
               .annotate(n=Count("id")).order_by("-n", "account__name", "account_id")[:companies])
    ids = [pk for pk, _name, _n in top]
    by_product, by_category = {}, {}
    for account_id, product, n in (qs.filter(account_id__in=ids).exclude(product="")
                                   .values_list("account_id", "product").annotate(n=Count("id")).order_by()):
        by_product.setdefault(account_id, []).append({"name": product, "count": n})
    for account_id, category_id, n in (qs.filter(account_id__in=ids, category__isnull=False)
                                       .values_list("account_id", "category_id").annotate(n=Count("id")).order_by()):
        top_id = tree.top(category_id)
        rows = by_category.setdefault(account_id, {})
        row = rows.setdefault(top_id, {"id": top_id, "name": tree.label(top_id), "count": 0})
        row["count"] += n
    out = []
    for pk, name, n in top:
        prods = sorted(by_product.get(pk, []), key=lambda r: (-r["count"], r["name"]))[:per_company]
        cats = sorted(by_category.get(pk, {}).values(), key=lambda r: (-r["count"], tree.order(r["id"])))
        out.append({"id": pk, "name": name, "count": n, "products": prods, "categories": cats[:per_company]})
    top_products = [{"name": p, "count": n} for p, n in qs.exclude(product="").values_list("product")
                    .annotate(n=Count("id")).order_by("-n", "product")[:products]]
    return {"companies": out, "products": top_products}


# -- the whole report --------------------------------------------------------------------------------


def service_analytics(user, *, date_from=None, date_to=None, category=None, team=None, owner=None, period=None,
                      now=None):
    """Every figure of the analytics page and API as plain data (dates as date objects)."""
    tree = CategoryTree()
    qs = tickets(user, date_from=date_from, date_to=date_to, category=category, team=team, owner=owner, tree=tree)
    period = period or auto_period(date_from, date_to)
    result = figures(qs, now=now)
    result.update({
        "date_from": date_from, "date_to": date_to, "period": period,
        "by_category": volume_by_category(qs, tree),
        "by_period": volume_by_period(qs, period, date_from, date_to),
        "times": durations(qs, tree),
        "csat_distribution": csat_distribution(qs),
        "recurring": recurring(qs, tree),
    })
    return result
