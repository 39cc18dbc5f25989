"""Customer pool (公海) pages: the pools a user belongs to, one pool's unowned companies and leads with Claim
buttons, the claim / return / put commands, and the administrators' pool form.

Records are read through `restrict()` (members see a pool's unowned records, view only); the commands call
guanxi.customers.pool_services. A pool the user does not belong to answers 404 (administrators see all).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core import access
from guanxi.core.decorators import admin_required
from guanxi.core.org_views import add_errors

from . import pool_services as services
from .choices import PoolRecordKind
from .models import Pool
from .pool_forms import PoolFilterForm, PoolForm, PutForm, ReturnForm

PER_PAGE = 25
EVENTS_SHOWN = 15
PROVINCES_SHOWN = 100


def record_url(obj):
    try:
        return obj.get_absolute_url()
    except NoReverseMatch:  # a record type whose pages are not installed
        return ""


def _model_or_404(record_type):
    model = services.pool_models().get(record_type)
    if model is None:
        raise Http404
    return model


def _counts(model, pool_ids, **filters):
    rows = (model.objects.filter(services.claimable_q(model), pool_id__in=pool_ids, **filters)
            .values("pool_id").annotate(n=Count("pk")))
    return {r["pool_id"]: r["n"] for r in rows}


@login_required
def pool_list(request):
    user = request.user
    pools = list(services.visible_pools(user).order_by("-is_active", "name"))
    ids = [p.pk for p in pools]
    unowned = services.unowned_counts(ids)
    mine = {key: _counts(model, ids, owner=user) for key, model in services.pool_models().items()}
    member_of = set(access.pool_ids(user))
    rows = [{
        "pool": p,
        "accounts": unowned[PoolRecordKind.ACCOUNT].get(p.pk, 0),
        "leads": unowned[PoolRecordKind.LEAD].get(p.pk, 0),
        "mine": sum(m.get(p.pk, 0) for m in mine.values()),
        "member": p.pk in member_of,
    } for p in pools]
    return render(request, "customers/pool_list.html", {"rows": rows, "is_admin": access.is_admin(user)})


def _search(model, qs, q):
    if not q:
        return qs
    if services._is_lead(model):
        return qs.filter(Q(name__icontains=q) | Q(company_name__icontains=q))
    return qs.filter(Q(name__icontains=q) | Q(credit_code__iexact=q))


def _quota_context(user, pool):
    return {"pool": pool, "claimed": services.claimed_count(user, pool), "is_member": services.is_member(user, pool)}


def _events(user, pool):
    events = list(pool.events.select_related("user", "actor")[:EVENTS_SHOWN])
    wanted = {}
    for e in events:
        wanted.setdefault(e.record_type, set()).add(e.record_id)
    visible = {}
    for key, ids in wanted.items():
        model = services.pool_models().get(key)
        if model is not None:
            for obj in model.objects.restrict(user, "view").filter(pk__in=ids):
                visible[(key, obj.pk)] = obj
    for e in events:
        e.record = visible.get((e.record_type, e.record_id))  # None: the viewer may not see it now
        e.url = record_url(e.record) if e.record is not None else ""
    return events


@login_required
def pool_detail(request, pk):
    user = request.user
    pool = get_object_or_404(services.visible_pools(user), pk=pk)
    record_type = request.GET.get("type") or PoolRecordKind.ACCOUNT
    if record_type not in services.pool_models():
        record_type = PoolRecordKind.ACCOUNT
    model = services.pool_models()[record_type]
    base = services.pool_records(user, pool, model) if access.allows(user, "view", model) else model.objects.none()
    provinces = services.split_provinces(pool.provinces)
    for p in base.exclude(province="").order_by("province").values_list("province", flat=True).distinct()[
            :PROVINCES_SHOWN]:
        if p not in provinces:
            provinces.append(p)
    form = PoolFilterForm(request.GET or None, provinces=provinces, initial={"type": record_type})
    qs = base
    if form.is_bound and form.is_valid():
        qs = _search(model, qs, form.value("q"))
        if form.value("province"):
            qs = qs.filter(province=form.value("province"))
    page = Paginator(qs.order_by("-id"), PER_PAGE).get_page(request.GET.get("page"))
    for obj in page.object_list:
        obj.url = record_url(obj)
    query = request.GET.copy()
    query.pop("page", None)
    tabs = [(key, label, key == record_type) for key, label in PoolRecordKind.choices]
    context = {**_quota_context(user, pool), "page": page, "form": form, "record_type": record_type,
               "tabs": tabs, "query": query.urlencode(), "events": _events(user, pool),
               "is_admin": access.is_admin(user), "filtered": bool(form.is_bound and (form.value("q")
                                                                                         or form.value("province")))}
    return render(request, "customers/pool_detail.html", context)


def _safe_next(request):
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return ""


def _back(request, fallback):
    return redirect(_safe_next(request) or fallback)


def _after_leaving(request, record, pool):
    """Where to go once the viewer gave a record up: the record if they still see it, else the pool."""
    if type(record).objects.restrict(request.user, "view").filter(pk=record.pk).exists() and record_url(record):
        return redirect(record_url(record))
    if pool is not None and services.visible_pools(request.user).filter(pk=pool.pk).exists():
        return redirect("customers:pool_detail", pool.pk)
    return redirect("customers:pool_list")


@login_required
@require_POST
def pool_claim(request, record_type, pk):
    _model_or_404(record_type)
    record = services.record_for_command(request.user, record_type, pk)
    if record is None:
        raise Http404
    pool = record.pool
    try:
        record = services.pool_claim(record=record, actor=request.user)
    except services.PoolError as e:
        if e.status == 404:
            raise Http404 from e
        if not request.htmx:
            messages.error(request, e.messages[0])
            return _back(request, record_url(record) or reverse("customers:pool_list"))
        record.url = record_url(record)
        context = {"obj": record, "error": e.messages[0], "record_type": record_type,
                   **_quota_context(request.user, pool), "oob": True, "next_url": _safe_next(request)}
        return render(request, "customers/_pool_row.html", context, status=409)
    if not request.htmx:
        messages.success(request, _("Claimed “%(name)s”: it is yours now.") % {"name": record})
        return _back(request, record_url(record) or reverse("customers:pool_detail", args=[record.pool_id]))
    record.url = record_url(record)
    context = {"obj": record, "claimed_now": True, "record_type": record_type,
               **_quota_context(request.user, record.pool), "oob": True}
    return render(request, "customers/_pool_row.html", context)


def _reason_page(request, record, form, action_url, title, status):
    return render(request, "customers/pool_reason.html", {"record": record, "form": form, "action_url": action_url,
                                                           "title": title, "record_url": record_url(record)},
                  status=status)


@login_required
@require_POST
def pool_return(request, record_type, pk):
    _model_or_404(record_type)
    record = services.record_for_command(request.user, record_type, pk)
    if record is None or not services.may_return(request.user, record):
        raise Http404
    form = ReturnForm(request.POST)
    url = reverse("customers:pool_return", args=[record_type, pk])
    if form.is_valid():
        pool = record.pool
        try:
            services.pool_return(record=record, actor=request.user, reason=form.cleaned_data["reason"])
        except services.PoolError as e:
            if e.status == 404:
                raise Http404 from e
            add_errors(form, e)
        else:
            messages.success(request, _("“%(name)s” is back in customer pool “%(pool)s”.")
                             % {"name": record, "pool": pool})
            return _after_leaving(request, record, pool)
    return _reason_page(request, record, form, url, _("Return to pool"), 422)


@login_required
@require_POST
def pool_put(request, record_type, pk):
    model = _model_or_404(record_type)
    record = model.objects.restrict(request.user, "change").filter(pk=pk).first()
    if record is None or not services.may_put(request.user, record):
        raise Http404
    form = PutForm(request.POST)
    url = reverse("customers:pool_put", args=[record_type, pk])
    if form.is_valid():
        pool = form.cleaned_data["pool"]
        try:
            services.pool_put(record=record, pool=pool, actor=request.user, reason=form.cleaned_data["reason"])
        except services.PoolError as e:
            if e.status == 404:
                raise Http404 from e
            add_errors(form, e)
        else:
            messages.success(request, _("“%(name)s” is now in customer pool “%(pool)s”.")
                             % {"name": record, "pool": pool})
            return _after_leaving(request, record, pool)
    return _reason_page(request, record, form, url, _("Move to a pool"), 422)


# -- administrators ------------------------------------------------------------------------------


def _pool_form_page(request, pool):
    form = PoolForm(request.POST or None, instance=pool)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.pool_save(actor=request.user, pool=pool, fields=form.pool_fields(),
                                       members=form.cleaned_data["members"],
                                       member_teams=form.cleaned_data["member_teams"])
        except ValidationError as e:  # PoolError included
            add_errors(form, e)
        else:
            messages.success(request, _("Customer pool “%(name)s” saved.") % {"name": saved})
            return redirect("customers:pool_detail", saved.pk)
    status = 422 if form.errors else 200
    if pool is not None:
        pool.refresh_from_db()
    return render(request, "customers/pool_form.html", {"form": form, "object": pool}, status=status)


@admin_required
def pool_add(request):
    return _pool_form_page(request, None)


@admin_required
def pool_edit(request, pk):
    return _pool_form_page(request, get_object_or_404(Pool, pk=pk))
