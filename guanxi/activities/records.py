"""Record-type declarations for interactions and tasks: what the generic machinery needs."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Contact
from guanxi.framework.registry import Column, RecordType, register

from .filtersets import InteractionFilterSet, TaskFilterSet
from .forms import InteractionForm, TaskForm
from .models import Interaction, Task


def _interaction_detail(obj, request):
    from .timeline_views import interaction_detail_context

    return interaction_detail_context(obj, request)


def _set_participants(obj, related, actor):
    if "participant_contacts" in related:
        obj.participant_contacts.set(related["participant_contacts"])
    if "participant_users" in related:
        obj.participant_users.set(related["participant_users"])


INTERACTION = register(
    RecordType(
        model=Interaction,
        filterset_class=InteractionFilterSet,
        form_class=InteractionForm,
        columns=[
            Column("occurred_at", _("Time"), order_by=("occurred_at",), link=True),
            Column("kind", _("Type"), order_by=("kind",)),
            Column("subject", _("Subject")),
            Column("account", _("Company"), accessor="account.name"),
            Column("contact", _("Contact"), accessor="contact.name"),
            Column("lead", _("Lead"), accessor="lead"),
            Column("opportunity", _("Opportunity"), accessor="opportunity.name"),
            Column("outcome", _("Outcome")),
            Column("next_step", _("Next step")),
            Column("owner", _("Logged by"), order_by=("owner__username",)),
        ],
        default_columns=["occurred_at", "kind", "subject", "account", "contact", "owner"],
        default_ordering="-occurred_at",
        select_related=("owner", "account", "contact", "lead", "opportunity"),
        # Participant ids for the API (one query each per page, not per row).
        prefetch_related=(Prefetch("participant_contacts", queryset=Contact.objects.only("id")),
                          Prefetch("participant_users", queryset=get_user_model().objects.only("id"))),
        detail_fields=["kind", "direction", "occurred_at", "duration_minutes", "account", "contact", "lead",
                       "opportunity", "subject", "content", "outcome", "next_step", "next_step_due", "owner"],
        bulk_actions=("delete",),
        save_related=_set_participants,
        detail_template="activities/interaction_detail.html",
        detail_context=_interaction_detail,
        icon="bi-chat-left-text",
    )
)

TASK = register(
    RecordType(
        model=Task,
        filterset_class=TaskFilterSet,
        form_class=TaskForm,
        columns=[
            Column("title", _("Title"), order_by=("title",), link=True),
            Column("due_at", _("Due"), order_by=("due_at",)),
            Column("priority", _("Priority"), order_by=("priority",)),
            Column("status", _("Status"), order_by=("status",)),
            Column("owner", _("Assignee"), order_by=("owner__username",)),
            Column("account", _("Company"), accessor="account.name"),
            Column("contact", _("Contact"), accessor="contact.name"),
            Column("lead", _("Lead"), accessor="lead"),
            Column("opportunity", _("Opportunity"), accessor="opportunity.name"),
            Column("remind_at", _("Reminder"), order_by=("remind_at",)),
        ],
        default_columns=["title", "due_at", "priority", "status", "owner", "account"],
        default_ordering="due_at",
        select_related=("owner", "account", "contact", "lead", "opportunity"),
        detail_fields=["title", "due_at", "priority", "status", "completed_at", "owner", "remind_at", "recurrence",
                       "account", "contact", "lead", "opportunity", "description"],
        bulk_actions=("assign_owner", "delete"),
        detail_template="activities/tasks_detail.html",
        icon="bi-check2-square",
    )
)
