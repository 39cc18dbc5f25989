"""Task pages: My tasks (overdue / today / upcoming), the manager's team view, complete/reopen buttons and
the task card with quick add on company, contact, lead and deal pages.

Every read goes through `Task.objects.restrict()`; complete/reopen load the task with the `change` action,
so a task outside the user's scope answers 404. Times are shown and read in the user's time zone (the
middleware activates it).
"""

import datetime
from itertools import groupby

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from guanxi.core import access
from guanxi.customers.models import Account, Contact
from guanxi.framework.services import record_create
from guanxi.sales.models import Lead, Opportunity

from . import task_services
from .choices import Priority, TaskStatus
from .models import Task
from .services import deal_default_account

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"},
                                     format="%Y-%m-%dT%H:%M")
INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
UPCOMING_LIMIT = 50
TEAM_LIMIT = 1000
CARD_LIMIT = 10


class TaskQuickForm(forms.Form):
    """Title, due time, reminder and priority: the rest can be filled in on the full form later."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=200,
                            widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off",
                                                          "placeholder": gettext_lazy("What needs doing?")}))
    due_at = forms.DateTimeField(label=gettext_lazy("Due"), required=False, widget=DATETIME_INPUT,
                                 input_formats=INPUT_FORMATS)
    remind_at = forms.DateTimeField(label=gettext_lazy("Reminder"), required=False, widget=DATETIME_INPUT,
                                    input_formats=INPUT_FORMATS)
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), choices=Priority.choices, initial=Priority.NORMAL,
                                 widget=forms.Select(attrs={"class": "form-select"}))

    def create(self, *, actor, **links):
        """Create the task for `actor` through the generic service; model errors land on the form."""
        if not self.is_valid():
            return None
        fields = {**self.cleaned_data, **links}
        try:
            return record_create(model=Task, actor=actor, fields=fields)
        except ValidationError as e:
            self.add_error(None, e)
            return None


def _day_bounds():
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(today, datetime.time.min, tzinfo=tz)
    return start, datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)


def _rows(qs):
    return qs.select_related("owner", "account", "contact", "lead", "opportunity")


def _changeable_ids(user, tasks):
    ids = [t.pk for t in tasks]
    if not ids:
        return set()
    return set(Task.objects.restrict(user, "change").filter(pk__in=ids).values_list("pk", flat=True))


def my_tasks_context(request, form=None):
    user = request.user
    now = timezone.now()
    start, tomorrow = _day_bounds()
    mine = Task.objects.restrict(user, "view").filter(owner=user)
    open_ = mine.filter(status=TaskStatus.OPEN)
    sections = [
        ("overdue", _("Overdue"), list(_rows(open_.filter(due_at__lt=now)).order_by("due_at", "pk"))),
        ("today", _("Today"), list(_rows(open_.filter(due_at__gte=now, due_at__lt=tomorrow)).order_by("due_at", "pk"))),
        ("upcoming", _("Upcoming"),
         list(_rows(open_.filter(due_at__gte=tomorrow)).order_by("due_at", "pk")[:UPCOMING_LIMIT])),
        ("undated", _("No due date"), list(_rows(open_.filter(due_at__isnull=True)).order_by("-created_at")[:50])),
        ("done", _("Done today"),
         list(_rows(mine.filter(status=TaskStatus.DONE, completed_at__gte=start)).order_by("-completed_at"))),
    ]
    tasks = [t for _key, _label, items in sections for t in items]
    return {
        "sections": sections,
        "changeable": _changeable_ids(user, tasks),
        "form": form or TaskQuickForm(),
        "can_add": access.allows(user, "add", Task),
        "has_team": bool(access.subordinate_ids(user)) and access.allows(user, "view", Task),
        "next_url": reverse("activities:task_mine"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def my_tasks(request):
    """GET: the page. POST: quick add (htmx swaps the page body; without htmx, redirect back)."""
    if not access.allows(request.user, "view", Task):
        raise PermissionDenied(_("Your role does not allow this."))
    form = None
    status = 200
    if request.method == "POST":
        if not access.allows(request.user, "add", Task):
            raise PermissionDenied(_("Your role does not allow this."))
        form = TaskQuickForm(request.POST)
        task = form.create(actor=request.user)
        if task is None:
            status = 422
        else:
            form = None
            if not request.htmx:
                return redirect("activities:task_mine")
    context = my_tasks_context(request, form)
    template = "activities/tasks_mine_body.html" if request.htmx else "activities/tasks_mine.html"
    return render(request, template, context, status=status)


@login_required
def team_tasks(request):
    """Open tasks of the people below the user (reports, managed teams and departments), by person."""
    user = request.user
    below = access.subordinate_ids(user)
    tasks = []
    if below:
        tasks = list(
            _rows(Task.objects.restrict(user, "view").filter(owner_id__in=sorted(below), status=TaskStatus.OPEN))
            .order_by("owner__username", "owner_id", "due_at", "pk")[:TEAM_LIMIT]
        )
    now = timezone.now()
    _start, tomorrow = _day_bounds()
    people = []
    for _owner_id, items in groupby(tasks, key=lambda t: t.owner_id):
        items = list(items)
        # Undated tasks last within a person.
        items.sort(key=lambda t: (t.due_at is None, t.due_at or now, t.pk))
        people.append({
            "user": items[0].owner,
            "tasks": items,
            "overdue": sum(1 for t in items if t.due_at is not None and t.due_at < now),
            "today": sum(1 for t in items if t.due_at is not None and now <= t.due_at < tomorrow),
        })
    return render(request, "activities/tasks_team.html", {
        "people": people, "has_team": bool(below), "changeable": _changeable_ids(user, tasks),
        "truncated": len(tasks) >= TEAM_LIMIT, "next_url": reverse("activities:task_team"),
    })


def _back(request, fallback):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def _command(request, pk, run):
    task = get_object_or_404(Task.objects.restrict(request.user, "change"), pk=pk)
    task, nxt = run(task)
    if not request.htmx:
        return redirect(_back(request, task.get_absolute_url()))
    task = _rows(Task.objects.filter(pk=task.pk)).get()
    return render(request, "activities/tasks_row.html", {
        "task": task, "changeable": {task.pk}, "next_task": nxt, "show_owner": request.POST.get("show_owner") == "1",
        "next_url": request.POST.get("next", ""),
    })


@login_required
@require_POST
def task_complete_view(request, pk):
    return _command(request, pk, lambda task: task_services.task_complete(actor=request.user, task=task))


@login_required
@require_POST
def task_reopen_view(request, pk):
    return _command(request, pk, lambda task: (task_services.task_reopen(actor=request.user, task=task), None))


# The card's URL kind -> (model, task field): /tasks/card/<kind>/<pk>/ for account, contact, lead, opportunity.
CARD_TARGETS = {"account": (Account, "account"), "contact": (Contact, "contact"), "lead": (Lead, "lead"),
                "opportunity": (Opportunity, "opportunity")}


@login_required
@require_http_methods(["GET", "POST"])
def task_card(request, kind, pk):
    """The tasks card of a company, contact, lead or deal page: its open tasks the user may see, and quick add.
    A task added on a deal is also filed under the deal's company (when the user may see it)."""
    if kind not in CARD_TARGETS:
        raise Http404
    model, field = CARD_TARGETS[kind]
    parent = get_object_or_404(model.objects.restrict(request.user, "view"), pk=pk)
    can_view = access.allows(request.user, "view", Task)
    can_add = access.allows(request.user, "add", Task)
    # A prefix: the card sits on pages that have other forms (ids stay unique).
    form = TaskQuickForm(prefix="task")
    status = 200
    if request.method == "POST":
        if not can_add:
            raise PermissionDenied(_("Your role does not allow this."))
        form = TaskQuickForm(request.POST, prefix="task")
        links = {field: parent}
        if field == "opportunity":
            links["account"] = deal_default_account(opportunity=parent, actor=request.user)
        if form.create(actor=request.user, **links) is None:
            status = 422
        elif not request.htmx:
            return redirect(parent.get_absolute_url())
        else:
            form = TaskQuickForm(prefix="task")
    tasks = []
    if can_view:
        tasks = list(_rows(Task.objects.restrict(request.user, "view").filter(**{field: parent},
                                                                              status=TaskStatus.OPEN))
                     .order_by("due_at", "pk")[:CARD_LIMIT])
    return render(request, "activities/tasks_card.html", {
        "parent": parent, "kind": kind, "tasks": tasks, "form": form, "can_add": can_add, "can_view": can_view,
        "changeable": _changeable_ids(request.user, tasks), "show_owner": True,
        "list_url": reverse("activities:task_list") + f"?{field}={parent.pk}&status=open",
        "next_url": parent.get_absolute_url(),
    }, status=status)
