"""Deal pages beyond the generic ones: the detail page's context, the stage commands (buttons and the
board's drag and drop), the kanban board with quick-create and load-more, and the pipeline settings."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction
from guanxi.core.decorators import admin_required
from guanxi.framework.errors import Conflict
from guanxi.framework.validators import is_id

from . import opportunity_services as services
from .choices import StageKind
from .models import LostReason, Opportunity, Pipeline, Stage, StageHistory
from .opportunity_forms import OpportunityQuickForm
from .opportunity_selectors import board_cards, board_columns, board_queryset, days_in_stage, is_stalled

PER_COLUMN = 50


# -- detail page -------------------------------------------------------------------------------------


def opportunity_detail_context(obj, request):
    from guanxi.activities.timeline_views import activity_panel
    from guanxi.customers.models import Contact

    user = request.user
    stages = list(obj.pipeline.stages.order_by("position", "id"))
    history = services.stage_history(obj)
    reached = {row.stage_id for row in history}
    contacts = list(Contact.objects.restrict(user, "view").filter(opportunities=obj).order_by("name"))
    can_change = access.can(user, "change", obj)
    return {
        "stages": stages,
        "open_stages": [s for s in stages if s.kind == StageKind.OPEN],
        "reached": reached,
        "history": history,
        "contacts": contacts,
        "stalled": is_stalled(obj),
        "days_in_stage": days_in_stage(obj),
        "is_open": obj.stage.kind == StageKind.OPEN,
        "can_move": can_change,
        "lost_reasons": LostReason.objects.filter(is_active=True) if can_change else [],
        "other_pipelines": (list(Pipeline.objects.filter(is_active=True).exclude(pk=obj.pipeline_id))
                            if can_change and obj.stage.kind == StageKind.OPEN else []),
        **activity_panel(obj, request),
    }


# -- commands ----------------------------------------------------------------------------------------


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


def _int(value):
    return int(value) if isinstance(value, str) and is_id(value) and int(value) < 2**31 else None


def _rank(value):
    try:
        rank = float(value)
    except (TypeError, ValueError):
        return None
    return rank if abs(rank) < 1e15 else None


def _back(request, obj):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return obj.get_absolute_url()


def _stage_from(request, opp, required=True):
    raw = request.POST.get("stage", "")
    if not raw and not required:
        return None
    stage = Stage.objects.filter(pk=raw).first() if is_id(raw) else None
    if stage is None or stage.pipeline_id != opp.pipeline_id:
        raise ValidationError({"stage": _("Choose a stage of this deal's pipeline.")})
    return stage


COMMANDS = ("move", "won", "lost", "reopen", "pipeline")


@login_required
@require_POST
def opportunity_command(request, pk, command):
    """One stage command on a deal, from the detail page's buttons or the board (JSON when asked)."""
    if command not in COMMANDS:
        raise Http404
    opp = get_object_or_404(Opportunity.objects.restrict(request.user, "change").select_related("stage"), pk=pk)
    version = _int(request.POST.get("version", ""))
    rank = _rank(request.POST.get("rank"))
    status = 200
    try:
        if command == "move":
            opp = services.opportunity_move(opportunity=opp, actor=request.user, stage=_stage_from(request, opp),
                                            version=version, rank=rank)
        elif command == "won":
            opp = services.opportunity_mark_won(opportunity=opp, actor=request.user, version=version, rank=rank)
        elif command == "lost":
            raw = request.POST.get("reason", "")
            reason = LostReason.objects.filter(pk=raw, is_active=True).first() if is_id(raw) else None
            if reason is None:
                raise ValidationError({"reason": _("Choose a lost reason.")})
            opp = services.opportunity_mark_lost(opportunity=opp, actor=request.user, reason=reason,
                                                 note=request.POST.get("note", "")[:500], version=version, rank=rank)
        elif command == "reopen":
            opp = services.opportunity_reopen(opportunity=opp, actor=request.user,
                                              stage=_stage_from(request, opp, required=False), version=version,
                                              rank=rank)
        else:
            raw = request.POST.get("pipeline", "")
            pipeline = Pipeline.objects.filter(pk=raw, is_active=True).first() if is_id(raw) else None
            if pipeline is None:
                raise ValidationError({"pipeline": _("Choose an active pipeline.")})
            opp = services.opportunity_change_pipeline(opportunity=opp, actor=request.user, pipeline=pipeline,
                                                       version=version)
        message = _("“%(name)s” is now in %(stage)s.") % {"name": opp, "stage": opp.stage}
    except services.DealClosed as e:
        message, status = e.message, 409
    except Conflict:
        message, status = _("Someone else changed this deal meanwhile. Reload and try again."), 409
    except ValidationError as e:
        message, status = " ".join(e.messages), 422
    if _wants_json(request):
        if status != 200:
            return JsonResponse({"ok": False, "error": message}, status=status)
        opp.refresh_from_db()
        return JsonResponse({"ok": True, "message": message, "id": opp.pk, "stage": opp.stage_id,
                             "stage_name": str(opp.stage), "version": opp.version, "rank": opp.board_rank})
    (messages.success if status == 200 else messages.error)(request, message)
    return redirect(_back(request, opp))


# -- board -------------------------------------------------------------------------------------------


def _pipeline_for(pk):
    if pk is None:
        pipeline = services.pipeline_default()
        if pipeline is None:
            raise Http404
        return pipeline
    return get_object_or_404(Pipeline, pk=pk)


def _filter_query(request):
    query = request.GET.copy()
    for name in ("offset", "view"):
        query.pop(name, None)
    return query


@login_required
def board(request, pk=None):
    if not access.allows(request.user, "view", Opportunity):
        raise Http404
    pipeline = _pipeline_for(pk)
    data = board_columns(user=request.user, pipeline=pipeline, filters=_filter_query(request),
                         per_column=PER_COLUMN)
    open_stages = [s for s in data["stages"] if s.kind == StageKind.OPEN]
    context = {
        "pipeline": pipeline,
        "pipelines": Pipeline.objects.filter(is_active=True),
        "columns": data["columns"],
        "open_stages": open_stages,
        "filterset": data["filterset"],
        "query": _filter_query(request).urlencode(),
        "can_add": access.allows(request.user, "add", Opportunity),
        "quick_form": OpportunityQuickForm(user=request.user),
        "lost_reasons": LostReason.objects.filter(is_active=True),
        "saved_views": request.user.saved_views.filter(record_type="sales.opportunity"),
        "changeable": _changeable_ids(request.user, data["columns"]),
        **_card_context(),
    }
    return render(request, "sales/board.html", context)


def _card_context():
    """What every card needs, computed once per page instead of per card (reverse(), translations)."""
    return {
        "deal_prefix": reverse("sales:opportunity_detail", args=[0]).removesuffix("0/"),
        "stalled_label": _("Stalled"),
        "stalled_title": _("No progress for longer than this stage allows"),
        "days_title": _("Days in this stage"),
    }


def _changeable_ids(user, columns):
    ids = [c.pk for col in columns for c in col["cards"]]
    if not ids:
        return set()
    return set(Opportunity.objects.restrict(user, "change").filter(pk__in=ids).values_list("pk", flat=True))


@login_required
def board_column(request, pk, stage_pk):
    """More cards of one column (the "load more" button): htmx swaps them in."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stage = get_object_or_404(Stage, pk=stage_pk, pipeline=pipeline, kind=StageKind.OPEN)
    try:
        offset = max(0, min(int(request.GET.get("offset", 0)), 10_000_000))
    except ValueError:
        return HttpResponseBadRequest(_("Invalid offset."))
    _fs, qs = board_queryset(user=request.user, pipeline=pipeline, filters=_filter_query(request))
    from guanxi.framework.redaction import prepare_for_display

    cards, has_more = board_cards(qs, stage, offset=offset, limit=PER_COLUMN)
    prepare_for_display(cards, request.user)
    context = {"cards": cards, "stage": stage, "pipeline": pipeline, "has_more": has_more,
               "next_offset": offset + PER_COLUMN, "query": _filter_query(request).urlencode(),
               "changeable": _changeable_ids(request.user, [{"cards": cards}]), **_card_context()}
    return render(request, "sales/board_cards.html", context)


@login_required
@require_POST
def board_quick_create(request, pk, stage_pk):
    """Quick-create a deal in a column: name, company and amount."""
    if not access.allows(request.user, "add", Opportunity):
        raise PermissionDenied(_("Your role does not allow this."))
    pipeline = get_object_or_404(Pipeline, pk=pk, is_active=True)
    stage = get_object_or_404(Stage, pk=stage_pk, pipeline=pipeline, kind=StageKind.OPEN)
    form = OpportunityQuickForm(request.POST, user=request.user)
    back = reverse("sales:board", args=[pipeline.pk])
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label if k in form.fields else ''}: {' '.join(v)}".lstrip(": ")
                           for k, v in form.errors.items())
        if request.htmx:
            return JsonResponse({"ok": False, "error": errors}, status=422)
        messages.error(request, errors)
        return redirect(back)
    fields = {"name": form.cleaned_data["name"], "account": form.cleaned_data["account"],
              "pipeline": pipeline, "stage": stage}
    if form.cleaned_data.get("amount") is not None:
        fields["amount"] = form.cleaned_data["amount"]
    try:
        opp = services.opportunity_create(actor=request.user, fields=fields)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect(back)
    messages.success(request, _("Deal “%(name)s” created.") % {"name": opp})
    return redirect(back)


@login_required
@require_POST
def board_view_save(request, pk):
    """Save the board's filters as a named view (shared with the deal list's saved views)."""
    from guanxi.core.models import SavedView

    pipeline = get_object_or_404(Pipeline, pk=pk)
    name = request.POST.get("name", "").strip()[:100]
    query = request.POST.get("query", "")[:2000]
    back = reverse("sales:board", args=[pipeline.pk]) + ("?" + query if query else "")
    if not name or "\x00" in name or "\x00" in query:
        messages.error(request, _("Give the view a name."))
        return redirect(back)
    SavedView.objects.update_or_create(user=request.user, record_type="sales.opportunity", name=name,
                                       defaults={"query": query})
    messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return redirect(back)


# -- pipeline settings (administrators) ----------------------------------------------------------------


class PipelineForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "position", "is_default", "is_active"]


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "position", "probability", "kind", "stall_days"]

    def __init__(self, *args, pipeline=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.pipeline = pipeline
        if pipeline is not None:
            self.instance.pipeline = pipeline

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        same = Stage.objects.filter(pipeline=self.pipeline, name=name).exclude(pk=self.instance.pk)
        if self.pipeline is not None and same.exists():
            raise forms.ValidationError(_("This pipeline already has a stage with this name."))
        return name


class LostReasonForm(forms.ModelForm):
    class Meta:
        model = LostReason
        fields = ["name", "position", "is_active"]


def _style(form):
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


def _settings_audit(actor, obj, event, changes=None):
    audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, obj=obj, record_type=f"sales.{obj._meta.model_name}",
              record_id=obj.pk, label=str(obj), data={"event": event, **({"changes": changes} if changes else {})})


def _save(form, actor, event):
    with transaction.atomic():
        changes = {k: [str(form.initial.get(k, "")), str(form.cleaned_data.get(k))] for k in form.changed_data}
        obj = form.save()
        if isinstance(obj, Pipeline) and obj.is_default:
            Pipeline.objects.exclude(pk=obj.pk).filter(is_default=True).update(is_default=False)
        _settings_audit(actor, obj, event, changes)
    return obj


@admin_required
def pipeline_list(request):
    pipelines = list(Pipeline.objects.prefetch_related("stages"))
    return render(request, "sales/pipeline_list.html", {
        "pipelines": pipelines, "lost_reasons": LostReason.objects.all(),
    })


@admin_required
def pipeline_edit(request, pk=None):
    pipeline = get_object_or_404(Pipeline, pk=pk) if pk else None
    form = _style(PipelineForm(request.POST or None, instance=pipeline))
    if request.method == "POST":
        if form.is_valid():
            created = pipeline is None
            pipeline = _save(form, request.user, "pipeline_create" if created else "pipeline_update")
            if created:
                # Stored under the default English names, so they show translated until renamed.
                for position, (name, probability, kind) in enumerate(
                        (("Qualification", 10, StageKind.OPEN), ("Won", 100, StageKind.WON),
                         ("Lost", 0, StageKind.LOST)), start=1):
                    Stage.objects.create(pipeline=pipeline, name=name, position=position * 10,
                                         probability=probability, kind=kind, stall_days=14 if kind == "open" else 0)
            messages.success(request, _("Pipeline saved."))
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
        return render(request, "sales/pipeline_form.html", {"form": form, "pipeline": pipeline}, status=422)
    stages = list(pipeline.stages.order_by("position", "id")) if pipeline else []
    return render(request, "sales/pipeline_form.html", {
        "form": form, "pipeline": pipeline, "stages": stages,
        "stage_form": _style(StageForm(pipeline=pipeline)) if pipeline else None,
    })


@admin_required
def stage_edit(request, pk, stage_pk=None):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stage = get_object_or_404(Stage, pk=stage_pk, pipeline=pipeline) if stage_pk else None
    form = _style(StageForm(request.POST or None, instance=stage, pipeline=pipeline))
    if stage is None and request.method != "POST":
        next_position = (pipeline.stages.order_by("-position").values_list("position", flat=True).first() or 0) + 10
        form.initial["position"] = next_position
    if request.method == "POST":
        if form.is_valid():
            kind_changed = stage is not None and "kind" in form.changed_data
            old_kind = Stage.objects.get(pk=stage.pk).kind if kind_changed else None
            if kind_changed and stage.opportunities.exists():
                form.add_error("kind", _("Deals are in this stage; its type cannot change."))
            elif (kind_changed and old_kind != StageKind.OPEN
                  and not pipeline.stages.filter(kind=old_kind).exclude(pk=stage.pk).exists()):
                form.add_error("kind", _("A pipeline needs a won and a lost stage."))
            else:
                _save(form, request.user, "stage_create" if stage is None else "stage_update")
                messages.success(request, _("Stage saved."))
                return redirect("sales:pipeline_edit", pk=pipeline.pk)
        return render(request, "sales/pipeline_stage_form.html",
                      {"form": form, "pipeline": pipeline, "stage": stage}, status=422)
    return render(request, "sales/pipeline_stage_form.html", {"form": form, "pipeline": pipeline, "stage": stage})


@admin_required
@require_POST
def stage_delete(request, pk, stage_pk):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stage = get_object_or_404(Stage, pk=stage_pk, pipeline=pipeline)
    n = Opportunity.all_objects.filter(stage=stage).count()
    if n:
        messages.error(request, _("“%(stage)s” cannot be deleted: %(n)d deals are in it (including deleted ones). "
                                  "Move them to another stage first.") % {"stage": stage, "n": n})
        return redirect("sales:pipeline_edit", pk=pipeline.pk)
    if StageHistory.objects.filter(stage=stage).exists():
        messages.error(request, _("“%(stage)s” cannot be deleted: deals have been in it, and their time in this "
                                  "stage would be lost. Rename it instead.") % {"stage": stage})
        return redirect("sales:pipeline_edit", pk=pipeline.pk)
    if stage.kind != StageKind.OPEN and not pipeline.stages.filter(kind=stage.kind).exclude(pk=stage.pk).exists():
        messages.error(request, _("A pipeline needs a won and a lost stage."))
        return redirect("sales:pipeline_edit", pk=pipeline.pk)
    try:
        with transaction.atomic():
            _settings_audit(request.user, stage, "stage_delete")
            stage.delete()
    except ProtectedError:
        messages.error(request, _("“%(stage)s” is still in use and cannot be deleted.") % {"stage": stage})
        return redirect("sales:pipeline_edit", pk=pipeline.pk)
    messages.success(request, _("Stage deleted."))
    return redirect("sales:pipeline_edit", pk=pipeline.pk)


@admin_required
@require_POST
def stage_move(request, pk, stage_pk, direction):
    """Reorder: swap a stage with its neighbour (up or down)."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    order = list(pipeline.stages.order_by("position", "id").values_list("pk", flat=True))
    if stage_pk not in order or direction not in ("up", "down"):
        raise Http404
    i = order.index(stage_pk)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        services.stage_reorder(pipeline=pipeline, actor=request.user, order=order)
    return redirect("sales:pipeline_edit", pk=pipeline.pk)


@admin_required
def lost_reason_edit(request, pk=None):
    reason = get_object_or_404(LostReason, pk=pk) if pk else None
    form = _style(LostReasonForm(request.POST or None, instance=reason))
    if request.method == "POST":
        if form.is_valid():
            _save(form, request.user, "lost_reason_create" if reason is None else "lost_reason_update")
            messages.success(request, _("Lost reason saved."))
            return redirect("sales:pipeline_list")
        return render(request, "sales/pipeline_lost_reason_form.html", {"form": form, "reason": reason}, status=422)
    return render(request, "sales/pipeline_lost_reason_form.html", {"form": form, "reason": reason})


@admin_required
@require_POST
def lost_reason_delete(request, pk):
    reason = get_object_or_404(LostReason, pk=pk)
    if Opportunity.all_objects.filter(lost_reason=reason).exists():
        messages.error(request, _("Deals were lost for this reason; deactivate it instead."))
        return redirect("sales:pipeline_list")
    with transaction.atomic():
        _settings_audit(request.user, reason, "lost_reason_delete")
        reason.delete()
    messages.success(request, _("Lost reason deleted."))
    return redirect("sales:pipeline_list")

