"""Opportunity commands: create (entering the first stage), and — added by the pipeline work — move
between stages, mark won or lost, reopen. Every stage change keeps StageHistory so time in stage is known."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.framework.services import record_create

from .choices import StageKind
from .models import Opportunity, Pipeline, Stage, StageHistory


def pipeline_default():
    """The pipeline new deals go to: the one marked default, else the first active one."""
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "id").first()


def stage_first_open(pipeline):
    return pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "id").first()


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
    opportunity = record_create(model=Opportunity, actor=actor, fields=fields, related=related)
    StageHistory.objects.create(opportunity=opportunity, stage=stage, entered_at=now, moved_by=actor)
    return opportunity


__all__ = ["opportunity_create", "pipeline_default", "stage_first_open", "Stage"]
