"""Pages: the funnel of a pipeline with drill-down to its deals, the forecast of a period, and quotas.

Views validate the query string with forms (bad input → 400 with the errors shown, never a 500), call
the read-only selectors in `analytics` and the writes in `quota_services`.
"""

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.core.models import Team, User
from guanxi.framework.forms import BoundedDateField

from . import analytics, quota_services
from .choices import QuotaPeriod, StageKind
from .models import Pipeline, Quota, Stage
from .opportunity_services import pipeline_default
from .quota_forms import QuotaBulkForm, QuotaFilterForm, QuotaForm, bootstrap, default_quarter_start

DEALS_PER_PAGE = 50
MAX_ID = 2**31 - 1


def pct(value):
    return "" if value is None else f"{value * 100:.1f}%"


def days(value):
    return "" if value is None else f"{value:.1f}"


# -- funnel ----------------------------------------------------------------------------------------


class FunnelFilterForm(forms.Form):
    pipeline = forms.ModelChoiceField(label=gettext_lazy("Pipeline"), queryset=Pipeline.objects.none(),
                                      required=False, empty_label=None)
    date_from = BoundedDateField(label=gettext_lazy("Created from"), required=False)
    date_to = BoundedDateField(label=gettext_lazy("to"), required=False)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        scope = analytics.people_in_scope(user)
        people = User.objects.filter(is_active=True).order_by("username")
        if scope is not None:
            people = people.filter(pk__in=sorted(scope))
        self.fields["owner"].queryset = people
        teams = Team.objects.order_by("name")
        if scope is not None:
            teams = teams.filter(members__in=sorted(scope)).distinct()
        self.fields["team"].queryset = teams
        if len(scope or ()) == 1:  # a rep: only themself to choose
            del self.fields["owner"], self.fields["team"]
        bootstrap(self)

    compact = True

    def clean(self):
        cleaned = super().clean()
        a, b = cleaned.get("date_from"), cleaned.get("date_to")
        if a and b and a > b:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def resolved(self):
        """(pipeline, date_from, date_to, owner_ids, extra query) after validation, with the defaults."""
        data = self.cleaned_data
        pipeline = data.get("pipeline") or pipeline_default()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if not date_from and not date_to and not self.data.get("all"):
            date_from, date_to = analytics.default_funnel_range()
        owner_ids = None
        owner, team = data.get("owner"), data.get("team")
        if owner is not None:
            owner_ids = {owner.pk}
        if team is not None:
            members = set(team.members.values_list("pk", flat=True))
            owner_ids = members if owner_ids is None else owner_ids & members
        return pipeline, date_from, date_to, owner_ids


def _query(pipeline, date_from, date_to, form, **extra):
    params = {"pipeline": pipeline.pk if pipeline else "", "date_from": date_from or "", "date_to": date_to or ""}
    if not date_from and not date_to:
        params["all"] = "1"
    for name in ("owner", "team"):
        value = form.cleaned_data.get(name) if name in form.fields else None
        if value is not None:
            params[name] = value.pk
    params.update(extra)
    return {k: v for k, v in params.items() if v not in ("", None)}


def _drill(base, **extra):
    return reverse("sales:funnel_deals") + "?" + urlencode({**base, **extra})


def _presets(pipeline):
    today = timezone.localdate()
    q_start = analytics.quarter_start(today)
    ranges = [
        (_("Last 90 days"), *analytics.default_funnel_range(today)),
        (_("This quarter"), q_start, today),
        (_("Last quarter"), analytics.shift_period(QuotaPeriod.QUARTER, q_start, -1),
         q_start - datetime.timedelta(days=1)),
        (_("This year"), datetime.date(today.year, 1, 1), today),
    ]
    out = [(label, reverse("sales:funnel") + "?" + urlencode({"pipeline": pipeline.pk, "date_from": a, "date_to": b}))
           for label, a, b in ranges]
    out.append((_("All time"), reverse("sales:funnel") + "?" + urlencode({"pipeline": pipeline.pk, "all": 1})))
    return out


@login_required
def funnel_view(request):
    form = FunnelFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "sales/funnel.html", {"form": form, "invalid": True}, status=400)
    pipeline, date_from, date_to, owner_ids = form.resolved()
    if pipeline is None:
        return render(request, "sales/funnel.html", {"form": form, "no_pipeline": True})
    form.data = form.data.copy()  # show the defaults that were applied
    form.data["pipeline"] = str(pipeline.pk)
    form.data["date_from"] = date_from.isoformat() if date_from else ""
    form.data["date_to"] = date_to.isoformat() if date_to else ""
    result = analytics.funnel(user=request.user, pipeline=pipeline, date_from=date_from, date_to=date_to,
                              owner_ids=owner_ids)
    base = _query(pipeline, date_from, date_to, form)
    stages = []
    for row in result.stages:
        metric = "reached" if row.kind == StageKind.OPEN else "in_stage"
        stages.append({
            "row": row, "name": str(row.stage), "conversion_next": pct(row.conversion_next),
            "conversion_won": pct(row.conversion_won), "avg_days": days(row.avg_days),
            "reached_url": _drill(base, stage=row.pk, metric=metric),
            "in_stage_url": _drill(base, stage=row.pk, metric="in_stage"),
        })
    reasons = [{"row": r, "name": str(r.reason) if r.reason else _("No reason given"),
                "url": _drill(base, metric="lost", reason=r.key)} for r in result.lost_reasons]
    owners = [{"row": r, "name": r.label or _("No owner"), "win_rate": pct(r.win_rate),
               "conversion_won": pct(r.conversion_won), "cycle": days(r.avg_cycle_days),
               "url": _drill(base, metric="deals", owner=r.key) if r.key else "",
               "won_url": _drill(base, metric="won", owner=r.key) if r.key else ""} for r in result.by_owner]
    teams = [{"row": r, "name": r.label or _("No team"), "win_rate": pct(r.win_rate),
              "conversion_won": pct(r.conversion_won), "cycle": days(r.avg_cycle_days),
              "url": _drill(base, metric="deals", team=r.key if r.key else "none")} for r in result.by_team]
    open_rows = [s for s in stages if s["row"].kind == StageKind.OPEN]
    chart = {
        "funnel": [{"name": s["name"], "value": s["row"].reached, "url": s["reached_url"]} for s in open_rows]
        + [{"name": _("Won"), "value": result.won, "url": _drill(base, metric="won")}],
        "conversion": [{"name": s["name"], "value": round((s["row"].conversion_next or 0) * 100, 1),
                        "days": round(s["row"].avg_days or 0, 1), "bottleneck": s["row"].is_bottleneck,
                        "url": s["reached_url"]} for s in open_rows],
        "reasons": [{"name": r["name"], "value": r["row"].count, "url": r["url"]} for r in reasons],
        "owners": [{"name": o["name"], "value": round((o["row"].win_rate or 0) * 100, 1), "won": o["row"].won,
                    "url": o["won_url"]} for o in owners],
        "labels": {"reached": _("Reached"), "conversion": _("Conversion to next stage (%)"),
                   "days": _("Average days in stage"), "win_rate": _("Win rate (%)"), "lost": _("Lost deals"),
                   "won": _("Won")},
    }
    return render(request, "sales/funnel.html", {
        "form": form, "result": result, "pipeline": pipeline, "date_from": date_from, "date_to": date_to,
        "stages": stages, "reasons": reasons, "owners": owners, "teams": teams, "chart": chart,
        "win_rate": pct(result.win_rate), "presets": _presets(pipeline),
        "won_url": _drill(base, metric="won"), "lost_url": _drill(base, metric="lost"),
        "all_url": _drill(base, metric="deals"), "pipelines": Pipeline.objects.filter(is_active=True),
    })


class FunnelDealsForm(FunnelFilterForm):
    metric = forms.ChoiceField(choices=[(m, m) for m in analytics.FUNNEL_METRICS])
    stage = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    reason = forms.CharField(required=False, max_length=12)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        # A breakdown row names any owner or team; restrict() still decides which deals are listed.
        self.fields["owner"] = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
        self.fields["team"] = forms.CharField(required=False, max_length=12)

    def clean_reason(self):
        value = self.cleaned_data["reason"]
        if value in ("", "none"):
            return value or None
        if not value.isdigit() or not 0 < int(value) <= MAX_ID:
            raise ValidationError(_("Invalid lost reason."))
        return int(value)

    def clean_team(self):
        value = self.cleaned_data["team"]
        if value in ("", "none"):
            return value or None
        if not value.isdigit() or not 0 < int(value) <= MAX_ID:
            raise ValidationError(_("Invalid team."))
        return int(value)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("metric") in ("reached", "in_stage") and not cleaned.get("stage"):
            self.add_error("stage", _("Choose a stage."))
        return cleaned

    def resolved(self):
        data = self.cleaned_data
        pipeline = data.get("pipeline") or pipeline_default()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if not date_from and not date_to and not self.data.get("all"):
            date_from, date_to = analytics.default_funnel_range()
        return pipeline, date_from, date_to


METRIC_TITLES = {
    "reached": gettext_lazy("Deals that reached “%(stage)s”"),
    "in_stage": gettext_lazy("Deals now in “%(stage)s”"),
    "won": gettext_lazy("Won deals"),
    "lost": gettext_lazy("Lost deals"),
    "deals": gettext_lazy("All deals"),
}


@login_required
def funnel_deals_view(request):
    form = FunnelDealsForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "sales/funnel_deals.html", {"form": form, "invalid": True}, status=400)
    pipeline, date_from, date_to = form.resolved()
    if pipeline is None:
        raise Http404
    data = form.cleaned_data
    stage = None
    if data.get("stage"):
        stage = get_object_or_404(Stage, pk=data["stage"], pipeline=pipeline)
    team = data.get("team")
    if isinstance(team, int):
        team = get_object_or_404(Team, pk=team)
    qs = analytics.funnel_deals(user=request.user, pipeline=pipeline, metric=data["metric"], stage=stage,
                                reason=data.get("reason"), date_from=date_from, date_to=date_to,
                                owner=data.get("owner"), team=team)
    qs = qs.select_related("account", "stage", "owner", "lost_reason").order_by("-created_at", "-id")
    try:
        page = Paginator(qs, DEALS_PER_PAGE).page(data.get("page") or 1)
    except EmptyPage:
        raise Http404
    title = METRIC_TITLES[data["metric"]] % {"stage": stage or ""}
    facets = []
    if data.get("reason") == "none":
        facets.append(_("No reason given"))
    elif data.get("reason"):
        from .models import LostReason

        facets.append(str(get_object_or_404(LostReason, pk=data["reason"])))
    if data.get("owner"):
        person = User.objects.filter(pk=data["owner"]).first()
        facets.append(str(person or "—"))
    if team == "none":
        facets.append(_("No team"))
    elif team is not None:
        facets.append(str(team))
    query = request.GET.copy()
    query.pop("page", None)
    back = {k: v for k, v in request.GET.items() if k in ("pipeline", "date_from", "date_to", "all")}
    return render(request, "sales/funnel_deals.html", {
        "form": form, "page": page, "title": title, "facets": facets, "pipeline": pipeline,
        "date_from": date_from, "date_to": date_to, "query": query.urlencode(),
        "back_url": reverse("sales:funnel") + "?" + urlencode(back),
    })


# -- forecast --------------------------------------------------------------------------------------


class ForecastForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=QuotaPeriod.choices, required=False)
    start = BoundedDateField(label=gettext_lazy("Any day in the period"), required=False)
    compact = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap(self)


@login_required
def forecast_view(request):
    form = ForecastForm(request.GET)
    if not form.is_valid():
        return render(request, "sales/forecast.html", {"form": form, "invalid": True}, status=400)
    period = form.cleaned_data.get("period") or QuotaPeriod.QUARTER
    start, _end = analytics.period_for(period, form.cleaned_data.get("start") or timezone.localdate())
    result = analytics.forecast(user=request.user, period=period, start=start)
    form = ForecastForm(initial={"period": period, "start": start})  # what is shown, defaults included
    manager = analytics.is_manager_view(request.user)

    def view_row(r):
        return {"row": r, "attainment": pct(r.attainment), "name": r.label or _("No owner")}

    reps = [view_row(r) for r in result.reps]
    chart = {
        "reps": [{"name": r["name"], "value": round((r["row"].attainment or 0) * 100, 1),
                  "won": str(r["row"].won), "quota": str(r["row"].quota or "")} for r in reps],
        "labels": {"attainment": _("Attainment (%)"), "won": _("Closed won"), "quota": _("Quota")},
    }

    def link(n):
        s = analytics.shift_period(period, start, n)
        return reverse("sales:forecast") + "?" + urlencode({"period": period, "start": s})

    return render(request, "sales/forecast.html", {
        "form": form, "result": result, "reps": reps, "teams": [view_row(t) for t in result.teams],
        "total": view_row(result.total), "manager": manager, "chart": chart, "period": period,
        "prev_url": link(-1), "next_url": link(1),
        "can_manage": quota_services.can_manage_quotas(request.user),
    })


# -- quotas ----------------------------------------------------------------------------------------


@login_required
def quota_list(request):
    form = QuotaFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "sales/quota_list.html", {"form": form, "invalid": True}, status=400)
    qs = quota_services.quotas_visible(request.user).order_by("-start", "period", "team__name", "user__username")
    if form.is_bound:
        if form.cleaned_data.get("period"):
            qs = qs.filter(period=form.cleaned_data["period"])
        if form.cleaned_data.get("year"):
            qs = qs.filter(start__year=form.cleaned_data["year"])
    manageable = set(quota_services.quotas_manageable(request.user).values_list("pk", flat=True))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "sales/quota_list.html", {
        "form": form, "page": page, "manageable": manageable, "query": query.urlencode(),
        "can_manage": quota_services.can_manage_quotas(request.user),
    })


def _require_manager(user):
    if not quota_services.can_manage_quotas(user):
        raise PermissionDenied


def _save_errors(form, error):
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@login_required
def quota_add(request):
    _require_manager(request.user)
    form = QuotaForm(request.POST or None, actor=request.user,
                     initial={"start": default_quarter_start(timezone.localdate())})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            quota_services.quota_create(actor=request.user, user=d["user"], team=d["team"], period=d["period"],
                                        start=d["start"], amount=d["amount"])
        except ValidationError as e:
            _save_errors(form, e)
        else:
            messages.success(request, _("Quota saved."))
            return redirect("sales:quota_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/quota_form.html", {"form": form, "title": _("New quota")}, status=status)


@login_required
def quota_edit(request, pk):
    _require_manager(request.user)
    quota = get_object_or_404(quota_services.quotas_manageable(request.user), pk=pk)
    form = QuotaForm(request.POST or None, actor=request.user, instance=quota)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            quota_services.quota_update(actor=request.user, quota=quota, amount=d["amount"], period=d["period"],
                                        start=d["start"])
        except ValidationError as e:
            _save_errors(form, e)
        else:
            messages.success(request, _("Quota saved."))
            return redirect("sales:quota_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/quota_form.html", {"form": form, "quota": quota, "title": _("Edit quota")},
                  status=status)


@login_required
@require_POST
def quota_delete(request, pk):
    _require_manager(request.user)
    quota = get_object_or_404(quota_services.quotas_manageable(request.user), pk=pk)
    quota_services.quota_delete(actor=request.user, quota=quota)
    messages.success(request, _("Quota deleted."))
    return redirect("sales:quota_list")


@login_required
def quota_bulk(request):
    """A team's quota and its members' for one period on one page."""
    _require_manager(request.user)
    source = request.POST if request.method == "POST" else request.GET
    team = None
    team_id = source.get("team")
    if team_id:
        if not str(team_id).isdigit():
            return render(request, "sales/quota_bulk.html", {"form": QuotaBulkForm(actor=request.user),
                                                             "invalid": True}, status=400)
        team = get_object_or_404(QuotaBulkForm(actor=request.user).fields["team"].queryset, pk=team_id)
    initial = {"team": team, "period": source.get("period") or QuotaPeriod.QUARTER,
               "start": source.get("start") or default_quarter_start(timezone.localdate())}
    if team is not None and request.method == "GET":
        form = QuotaBulkForm(actor=request.user, team=team, initial=initial)
        _fill_existing(form, team, initial)
    else:
        form = QuotaBulkForm(request.POST or None, actor=request.user, team=team, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            saved = quota_services.quota_bulk_set(actor=request.user, team=d["team"], period=d["period"],
                                                  start=d["start"], team_amount=d.get("team_amount"),
                                                  member_amounts=form.member_amounts())
        except ValidationError as e:
            _save_errors(form, e)
        else:
            messages.success(request, _("%(n)s quotas saved.") % {"n": len(saved)})
            return redirect(reverse("sales:quota_list"))
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/quota_bulk.html", {"form": form, "team": team}, status=status)


def _fill_existing(form, team, initial):
    """Show the amounts already set for the period as the starting values."""
    try:
        start = datetime.date.fromisoformat(str(initial["start"]))
    except ValueError:
        return
    period = initial["period"]
    found = Quota.objects.filter(period=period, start=start)
    for quota in found.filter(team=team):
        form.initial["team_amount"] = quota.amount.amount
    for quota in found.filter(user__in=form.members):
        form.initial[f"member_{quota.user_id}"] = quota.amount.amount
