"""The configuration a new installation starts with: one pipeline, its stages and lost reasons.

They are stored under their English names (migration 0002). Until an administrator renames one, it is
shown translated: `label()` maps a stored default name to its catalogue entry, so a seeded stage reads
"需求分析" for a Chinese user and "Needs analysis" for an English one, while a renamed or new stage
shows exactly what the administrator typed.
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

DEFAULT_PIPELINE = "Standard sales"

# (name, probability %, kind, stall days)
DEFAULT_STAGES = [
    ("Qualification", 10, "open", 14),
    ("Needs analysis", 20, "open", 21),
    ("Demo", 40, "open", 21),
    ("Quote", 60, "open", 14),
    ("Negotiation", 80, "open", 14),
    ("Won", 100, "won", 0),
    ("Lost", 0, "lost", 0),
]

DEFAULT_LOST_REASONS = ["Price", "Chose a competitor", "No budget", "No decision", "Product fit", "Timing"]

LABELS = {
    DEFAULT_PIPELINE: _("Standard sales"),
    "Qualification": _("Qualification"),
    "Needs analysis": _("Needs analysis"),
    "Demo": pgettext_lazy("sales stage", "Demo"),
    "Quote": pgettext_lazy("sales stage", "Quote"),
    "Negotiation": _("Negotiation"),
    "Won": pgettext_lazy("sales stage", "Won"),
    "Lost": pgettext_lazy("sales stage", "Lost"),
    "Price": pgettext_lazy("lost reason", "Price"),
    "Chose a competitor": _("Chose a competitor"),
    "No budget": _("No budget"),
    "No decision": _("No decision"),
    "Product fit": _("Product fit"),
    "Timing": pgettext_lazy("lost reason", "Timing"),
}


def label(name):
    """The display label of a stored configuration name (translated when it is a built-in default)."""
    return str(LABELS.get(name, name))


def ensure_defaults():
    """Create the default pipeline (with its stages) when no pipeline exists, and the default lost reasons
    when none exist; an installation always has somewhere for a new deal to go."""
    from django.db import transaction

    from .models import LostReason, Pipeline, Stage

    with transaction.atomic():
        if not Pipeline.objects.exists():
            pipeline = Pipeline.objects.create(name=DEFAULT_PIPELINE, position=0, is_default=True)
            Stage.objects.bulk_create([
                Stage(pipeline=pipeline, name=name, position=i, probability=p, kind=kind, stall_days=stall)
                for i, (name, p, kind, stall) in enumerate(DEFAULT_STAGES)
            ])
        if not LostReason.objects.exists():
            LostReason.objects.bulk_create([LostReason(name=n, position=i) for i, n in enumerate(DEFAULT_LOST_REASONS)])
