"""Opportunity commands: create (entering the first stage), move between open stages, mark won or lost,
reopen, change pipeline. Every stage change closes the deal's open StageHistory row and opens a new one
(so time in each stage is known), writes a timeline row and a `stage_change` audit row, in one
transaction with the deal's row locked."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.framework.errors import Conflict
from guanxi.framework.services import record_create, timeline_add

from .choices import StageKind
from .models import LostReason, Opportunity, Pipeline, Stage, StageHistory


class DealClosed(Conflict):
    """The command needs an open deal (or a closed one, for reopen)."""

    code = "deal_closed"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def pipeline_default():
    """The pipeline new deals go to: the one marked default, else the first active one."""
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "id").first()


def stage_first_open(pipeline):
    return pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "id").first()


def _closing_stage(pipeline, kind):
    stage = pipeline.stages.filter(kind=kind).order_by("position", "id").first()
    if stage is None:
        message = (_("This pipeline has no won stage.") if kind == StageKind.WON
                   else _("This pipeline has no lost stage."))
        raise ValidationError({"stage": message})
    return stage


def _top_rank(stage):
    """A board rank that puts a deal at the top of its column."""
    # pipeline + stage: the board index (pipeline, stage, board_rank, id) answers with one index probe.
    lowest = (Opportunity.all_objects.filter(pipeline_id=stage.pipeline_id, stage=stage)
              .aggregate(r=Min("board_rank"))["r"])
    return 0.0 if lowest is None else lowest - 1.0


@transaction.atomic
def opportunity_create(*, actor, fields, related=None, at=None):
    """Create a deal in its pipeline's first open stage (or the open stage given) and start its stage clock."""
    fields = dict(fields)
    pipeline = fields.get("pipeline") or pipeline_default()
    if pipeline is None:
        raise ValidationError({"pipeline": _("There is no active pipeline; an administrator must create one.")})
    stage = fields.get("stage") or stage_first_open(pipeline)
    if stage is None:
        raise ValidationError({"stage": _("This pipeline has no open stage.")})
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("This stage belongs to another pipeline.")})
    if stage.kind != StageKind.OPEN:
        raise ValidationError({"stage": _("A new deal starts in an open stage; mark it won or lost afterwards.")})
    now = at or timezone.now()
    fields.update(pipeline=pipeline, stage=stage, stage_entered_at=now)
    if "board_rank" not in fields:
        fields["board_rank"] = _top_rank(stage)
    opportunity = record_create(model=Opportunity, actor=actor, fields=fields, related=related)
    StageHistory.objects.create(opportunity=opportunity, stage=stage, entered_at=now, moved_by=actor)
    return opportunity


def _lock(opportunity, version):
    """The deal re-read under a row lock; a stale `version` raises Conflict (nothing changes)."""
    # No join in the locking query: after waiting for a concurrent move, PostgreSQL re-checks the updated
    # row against the joined stage row it read before (the old stage) and would drop it (DoesNotExist).
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if version is not None and locked.version != version:
        raise Conflict()
    return locked


def _days_text(seconds):
    days = int(seconds // 86400)
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def _change_stage(*, opp, actor, stage, at, rank=None, command, fields=None, pipeline=None):
    """Move the locked deal `opp` into `stage`: history, deal row, timeline and audit."""
    now = at or timezone.now()
    previous = opp.stage
    entered = opp.stage_entered_at
    if entered and now < entered:
        raise ValidationError(_("A stage change cannot be dated before the deal entered its current stage."))
    seconds = int((now - entered).total_seconds()) if entered else 0
    StageHistory.objects.filter(opportunity=opp, left_at__isnull=True).update(left_at=now)
    StageHistory.objects.create(opportunity=opp, stage=stage, entered_at=now, moved_by=actor)
    values = {"stage": stage, "stage_entered_at": now, "board_rank": _top_rank(stage) if rank is None else rank,
              **(fields or {})}
    if pipeline is not None:
        values["pipeline"] = pipeline
    Opportunity.all_objects.filter(pk=opp.pk).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    for name, value in values.items():
        setattr(opp, name, value)
    opp.version += 1
    before_label = _("%(stage)s (%(days)s)") % {"stage": previous, "days": _days_text(seconds)}
    changes = {"stage": [{"id": previous.pk, "label": before_label}, {"id": stage.pk, "label": str(stage)}]}
    if pipeline is not None and pipeline.pk != previous.pipeline_id:
        changes["pipeline"] = [{"id": previous.pipeline_id, "label": str(previous.pipeline)},
                               {"id": pipeline.pk, "label": str(pipeline)}]
    if "lost_reason" in values and values["lost_reason"] is not None:
        changes["lost_reason"] = [None, {"id": values["lost_reason"].pk, "label": str(values["lost_reason"])}]
    timeline_add(obj=opp, kind=TimelineKind.UPDATED, actor=actor,
                 data={"changes": changes, "command": command, "seconds_in_stage": seconds})
    # Stored names (not translated labels), ids for machines, time spent in the stage left.
    data = {"command": command, "from": previous.name, "to": stage.name, "from_id": previous.pk,
            "to_id": stage.pk, "seconds_in_stage": seconds}
    if values.get("lost_reason") is not None:
        data["lost_reason"] = values["lost_reason"].pk
    audit_log(actor=actor, action=AuditAction.STAGE_CHANGE, obj=opp, data=data)
    return opp


def _check_open(opp):
    if opp.stage.kind != StageKind.OPEN:
        raise DealClosed(_("This deal is closed; reopen it first."))


def _check_stage(opp, stage, *, kind=StageKind.OPEN):
    if stage.pipeline_id != opp.pipeline_id:
        raise ValidationError({"stage": _("This stage belongs to another pipeline.")})
    if stage.kind != kind:
        raise ValidationError({"stage": _("Choose an open stage; use won or lost to close the deal.")})


@transaction.atomic
def opportunity_move(*, opportunity, actor, stage, version=None, rank=None, at=None):
    """Move an open deal to another open stage of its pipeline (or reorder it inside its column)."""
    opp = _lock(opportunity, version)
    _check_open(opp)
    _check_stage(opp, stage)
    if stage.pk == opp.stage_id:
        if rank is not None and rank != opp.board_rank:
            Opportunity.all_objects.filter(pk=opp.pk).update(board_rank=rank, version=F("version") + 1)
            opp.board_rank, opp.version = rank, opp.version + 1
        return opp
    return _change_stage(opp=opp, actor=actor, stage=stage, at=at, rank=rank, command="move")


@transaction.atomic
def opportunity_mark_won(*, opportunity, actor, version=None, at=None, rank=None):
    opp = _lock(opportunity, version)
    _check_open(opp)
    now = at or timezone.now()
    return _change_stage(opp=opp, actor=actor, stage=_closing_stage(opp.pipeline, StageKind.WON), at=now,
                         rank=rank, command="won", fields={"closed_at": now})


@transaction.atomic
def opportunity_mark_lost(*, opportunity, actor, reason, note="", version=None, at=None, rank=None):
    if not isinstance(reason, LostReason) or not reason.is_active:
        raise ValidationError({"reason": _("Choose a lost reason.")})
    note = (note or "").strip()
    if "\x00" in note:
        raise ValidationError({"note": _("Null characters are not allowed.")})
    if len(note) > 500:
        raise ValidationError({"note": _("Ensure this value has at most 500 characters.")})
    opp = _lock(opportunity, version)
    _check_open(opp)
    now = at or timezone.now()
    return _change_stage(opp=opp, actor=actor, stage=_closing_stage(opp.pipeline, StageKind.LOST), at=now,
                         rank=rank, command="lost", fields={"closed_at": now, "lost_reason": reason,
                                                            "lost_note": note})


def _last_open_stage(opp):
    stay = (StageHistory.objects.filter(opportunity=opp, stage__kind=StageKind.OPEN, stage__pipeline=opp.pipeline)
            .select_related("stage").order_by("-entered_at", "-id").first())
    return stay.stage if stay else stage_first_open(opp.pipeline)


@transaction.atomic
def opportunity_reopen(*, opportunity, actor, stage=None, version=None, at=None, rank=None):
    """Back from won/lost to an open stage (the last open one when not given); clears the close data."""
    opp = _lock(opportunity, version)
    if opp.stage.kind == StageKind.OPEN:
        raise DealClosed(_("This deal is already open."))
    stage = stage or _last_open_stage(opp)
    if stage is None:
        raise ValidationError({"stage": _("This pipeline has no open stage.")})
    _check_stage(opp, stage)
    return _change_stage(opp=opp, actor=actor, stage=stage, at=at, rank=rank, command="reopen",
                         fields={"closed_at": None, "lost_reason": None, "lost_note": ""})


@transaction.atomic
def opportunity_change_pipeline(*, opportunity, actor, pipeline, version=None, at=None):
    """Move an open deal to another pipeline's first open stage."""
    opp = _lock(opportunity, version)
    _check_open(opp)
    if pipeline.pk == opp.pipeline_id:
        return opp
    if not pipeline.is_active:
        raise ValidationError({"pipeline": _("This pipeline is not active.")})
    stage = stage_first_open(pipeline)
    if stage is None:
        raise ValidationError({"pipeline": _("This pipeline has no open stage.")})
    return _change_stage(opp=opp, actor=actor, stage=stage, at=at, command="change_pipeline", pipeline=pipeline)


def stage_history(opportunity, *, now=None):
    """The deal's stays, oldest first, with `days` spent (to now for the open stay)."""
    now = now or timezone.now()
    rows = list(StageHistory.objects.filter(opportunity=opportunity).select_related("stage", "moved_by")
                .order_by("entered_at", "id"))
    for row in rows:
        end = row.left_at or now
        row.seconds = max(0, int((end - row.entered_at).total_seconds()))
        row.days = round(row.seconds / 86400, 1)
    return rows


def stage_reorder(*, pipeline, actor, order):
    """Set the stages' positions from a list of stage ids (the pipeline's own, each once)."""
    ids = [s.pk for s in pipeline.stages.all()]
    if sorted(order) != sorted(ids):
        raise ValidationError(_("The list must contain each stage of this pipeline once."))
    with transaction.atomic():
        for position, pk in enumerate(order, start=1):
            Stage.objects.filter(pk=pk, pipeline=pipeline).update(position=position * 10)
        audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, record_type="sales.pipeline",
                  record_id=pipeline.pk, label=str(pipeline), data={"event": "stage_reorder", "order": order})


__all__ = [
    "DealClosed", "opportunity_create", "opportunity_move", "opportunity_mark_won", "opportunity_mark_lost",
    "opportunity_reopen", "opportunity_change_pipeline", "pipeline_default", "stage_first_open", "stage_history",
    "stage_reorder",
]
