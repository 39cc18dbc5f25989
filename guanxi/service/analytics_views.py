"""The complaint analytics page: filters, KPI cards, charts with drill-down to the ticket list, and tables.

Open to users whose role may view tickets; the figures count only the tickets they may see. The query
string is validated by a form (bad input → 400 with the errors shown, never a 500).
"""

import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core import access
from guanxi.core.models import Team, User
from guanxi.framework.forms import BoundedDateField

from . import analytics
from .models import Ticket, TicketCategory


def people_in_scope(user):
    """Agents whose tickets the user may see as a group: None = everyone, else ids (a team, a subtree)."""
    return access.owner_ids_for_scope(user, access.grant(user, Ticket).scope)


class AnalyticsFilterForm(forms.Form):
    date_from = BoundedDateField(label=gettext_lazy("Created from"), required=False)
    date_to = BoundedDateField(label=gettext_lazy("to"), required=False)
    period = forms.ChoiceField(label=gettext_lazy("Group by"), required=False, choices=[
        ("", gettext_lazy("Automatic")), ("day", gettext_lazy("Day")), ("week", gettext_lazy("Week")),
        ("month", gettext_lazy("Month"))])
    category = forms.ModelChoiceField(label=gettext_lazy("Category"), queryset=TicketCategory.objects.none(),
                                      required=False)
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.none(), required=False)
    owner = forms.ModelChoiceField(label=gettext_lazy("Agent"), queryset=User.objects.none(), required=False)

    compact = True

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = TicketCategory.objects.select_related("parent", "parent__parent")
        self.fields["category"].label_from_instance = lambda c: c.path_label
        scope = people_in_scope(user)
        if scope is not None and len(scope) <= 1:  # only their own tickets: nobody else to choose
            del self.fields["owner"], self.fields["team"]
        else:
            people = User.objects.filter(is_active=True).order_by("username")
            teams = Team.objects.order_by("name")
            if scope is not None:
                people = people.filter(pk__in=sorted(scope))
                teams = teams.filter(members__in=sorted(scope)).distinct()
            self.fields["owner"].queryset = people
            self.fields["team"].queryset = teams
        for f in self.fields.values():
            css = "form-select form-select-sm" if isinstance(f.widget, forms.Select) else "form-control form-control-sm"
            f.widget.attrs.setdefault("class", css)

    def clean(self):
        cleaned = super().clean()
        a, b = cleaned.get("date_from"), cleaned.get("date_to")
        if a and b and a > b:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def resolved(self):
        """{date_from, date_to, period, category, team, owner} with the default range applied."""
        data = dict(self.cleaned_data)
        if not data.get("date_from") and not data.get("date_to") and not self.data.get("all"):
            data["date_from"], data["date_to"] = analytics.default_range()
        data["period"] = data.get("period") or None
        return {k: data.get(k) for k in ("date_from", "date_to", "period", "category", "team", "owner")}


class Drill:
    """Links to the ticket list behind a number: the report's filters plus the clicked item's."""

    def __init__(self, filters):
        self.base = {"created_after": filters["date_from"] or "", "created_before": filters["date_to"] or ""}
        if filters["category"] is not None:
            self.base["category"] = filters["category"].pk
        if filters["owner"] is not None:
            self.base["owner"] = filters["owner"].pk
        if filters["team"] is not None:
            self.base["team"] = filters["team"].pk

    def __call__(self, **extra):
        params = {k: v for k, v in {**self.base, **extra}.items() if v not in ("", None)}
        return reverse("service:ticket_list") + ("?" + urlencode(params) if params else "")


def pct(value):
    return "" if value is None else f"{value * 100:.1f}%"


def hours(minutes):
    """Business minutes shown as hours with one decimal ("" when there is no value)."""
    return "" if minutes is None else f"{minutes / 60:.1f}"


def _presets():
    today = timezone.localdate()
    ranges = [
        (_("Last 30 days"), today - datetime.timedelta(days=29), today),
        (_("Last 90 days"), *analytics.default_range(today)),
        (_("Last 6 months"), today - datetime.timedelta(days=182), today),
        (_("This year"), datetime.date(today.year, 1, 1), today),
    ]
    url = reverse("service:analytics")
    out = [(label, url + "?" + urlencode({"date_from": a, "date_to": b})) for label, a, b in ranges]
    out.append((_("All time"), url + "?all=1"))
    return out


def _context(result, drill):
    """Table rows and chart data (names, values, drill-down URLs) from the selector's result."""
    no_category = _("No category")
    categories = []
    for row in result["by_category"]:
        categories.append({
            "name": row["name"] or no_category, "count": row["count"],
            "url": drill(category=row["id"]) if row["id"] else "",
            "children": [{"name": c["name"], "count": c["count"], "url": drill(category=c["id"])}
                         for c in row["children"]],
        })
    periods = [{"start": p["start"], "end": p["end"], "count": p["count"],
                "url": drill(created_after=p["start"], created_before=p["end"])} for p in result["by_period"]]
    times = [{"name": row["name"] or no_category, "fr": row["first_response"], "res": row["resolution"],
              "fr_median": hours(row["first_response"]["median"]), "fr_avg": hours(row["first_response"]["average"]),
              "res_median": hours(row["resolution"]["median"]), "res_avg": hours(row["resolution"]["average"]),
              "url": drill(category=row["id"]) if row["id"] else ""} for row in result["times"]["by_category"]]
    csat = [{"score": d["score"], "count": d["count"], "url": drill(csat=d["score"])}
            for d in result["csat_distribution"]]
    companies = [{**c, "url": drill(account=c["id"]),
                  "products": [{**p, "url": drill(account=c["id"], product=p["name"])} for p in c["products"]],
                  "categories": [{**k, "url": drill(account=c["id"], category=k["id"])} for k in c["categories"]]}
                 for c in result["recurring"]["companies"]]
    products = [{**p, "url": drill(product=p["name"])} for p in result["recurring"]["products"]]
    chart = {
        "periods": [{"name": _period_label(result["period"], p["start"]), "value": p["count"], "url": p["url"]}
                    for p in periods],
        "categories": [{"name": c["name"], "value": c["count"], "url": c["url"]} for c in categories],
        "subcategories": [{"name": f"{c['name']} › {s['name']}", "value": s["count"], "url": s["url"]}
                          for c in categories for s in c["children"]],
        "csat": [{"name": str(d["score"]), "value": d["count"], "url": d["url"]} for d in csat],
        "products": [{"name": p["name"], "value": p["count"], "url": p["url"]} for p in products],
        "times": [{"name": t["name"], "fr": float(hours(t["fr"]["median"]) or 0),
                   "res": float(hours(t["res"]["median"]) or 0), "url": t["url"]} for t in times],
        "labels": {"tickets": _("Tickets"), "rated": _("Ratings"),
                   "fr": _("Median first response (business hours)"),
                   "res": _("Median resolution (business hours)")},
    }
    return {"categories": categories, "periods": periods, "times": times, "csat": csat, "companies": companies,
            "products": products, "chart": chart}


def _period_label(period, start):
    if period == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


@login_required
def analytics_view(request):
    if not access.allows(request.user, "view", Ticket):
        raise PermissionDenied(_("Your role does not allow viewing tickets."))
    form = AnalyticsFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "service/analytics.html", {"form": form, "invalid": True, "presets": _presets()},
                      status=400)
    filters = form.resolved()
    form.data = form.data.copy()  # show the default range that was applied
    form.data["date_from"] = filters["date_from"].isoformat() if filters["date_from"] else ""
    form.data["date_to"] = filters["date_to"].isoformat() if filters["date_to"] else ""
    result = analytics.service_analytics(request.user, **filters)
    drill = Drill(filters)
    sla = result["sla"]
    return render(request, "service/analytics.html", {
        "form": form, "result": result, "filters": filters, "presets": _presets(), **_context(result, drill),
        "all_url": drill(), "open_url": drill(is_open="true"), "breached_url": drill(breached="true"),
        "fr_rate": pct(sla["first_response"]["rate"]), "res_rate": pct(sla["resolution"]["rate"]),
        "reopen_rate": pct(result["reopen"]["rate"]), "response_rate": pct(result["csat"]["response_rate"]),
        "fr_median": hours(result["times"]["first_response"]["median"]),
        "fr_avg": hours(result["times"]["first_response"]["average"]),
        "res_median": hours(result["times"]["resolution"]["median"]),
        "res_avg": hours(result["times"]["resolution"]["average"]),
    })
