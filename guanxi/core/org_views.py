"""Administrator pages for the organisation (users, roles, departments, teams), the access explainer,
and the share panel of record pages. Views validate input and call guanxi.core.services."""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.framework import registry

from . import services
from .access import explain, is_admin
from .choices import Action
from .decorators import admin_required
from .models import Department, RecordShare, Role, Team, User
from .org_forms import (
    DepartmentForm,
    ExplainForm,
    PermissionGridForm,
    RoleForm,
    ShareForm,
    TeamForm,
    UserCreateForm,
    UserFilterForm,
    UserForm,
)

USERS_PER_PAGE = 50


def add_errors(form, error):
    """Put a service's ValidationError on the form: on the field it names when the form has it."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _render(request, template, context, section, status=200):
    return render(request, template, {**context, "section": section}, status=status)


# -- users --------------------------------------------------------------------------------------


@admin_required
def user_list(request):
    form = UserFilterForm(request.GET or None)
    qs = User.objects.select_related("team", "role", "manager").order_by("username")
    if form.is_bound:
        qs = form.filter(qs)
    page = Paginator(qs, USERS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _render(request, "core/org/users.html", {"form": form, "page": page, "query": query.urlencode()},
                   "users")


@admin_required
def user_add(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=request.user, username=data["username"], password=data["password1"],
                display_name=data["display_name"], email=data["email"], role=data["role"], team=data["team"],
                manager=data["manager"], is_active=data["is_active"], language=data["language"])
        except ValidationError as e:
            add_errors(form, e)
        else:
            messages.success(request, _("User “%(name)s” created.") % {"name": user})
            return redirect("org_user_list")
    status = 422 if form.errors else 200
    return _render(request, "core/org/user_form.html", {"form": form, "target": None}, "users", status)


@admin_required
def user_edit(request, pk):
    target = get_object_or_404(User.objects.select_related("team", "role", "manager"), pk=pk)
    form = UserForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=target, fields=form.changed_fields())
        except ValidationError as e:
            add_errors(form, e)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("org_user_list")
    status = 422 if form.errors else 200
    target.refresh_from_db()  # the form may have put unsaved values on the instance
    return _render(request, "core/org/user_form.html", {"form": form, "target": target}, "users", status)


# -- roles --------------------------------------------------------------------------------------


@admin_required
def role_list(request):
    roles = Role.objects.annotate(user_count=Count("users")).order_by("name")
    return _render(request, "core/org/roles.html", {"roles": roles}, "roles")


def _role_page(request, role):
    form = RoleForm(request.POST or None, instance=role)
    grid = PermissionGridForm(request.POST or None, role=role)
    if request.method == "POST" and form.is_valid() & grid.is_valid():
        try:
            if role is None:
                role = services.role_create(actor=request.user, code=form.cleaned_data["code"],
                                            permissions=grid.permissions(), **form.role_fields())
                messages.success(request, _("Role “%(name)s” created.") % {"name": role})
            else:
                services.role_update(actor=request.user, role=role, fields=form.role_fields(),
                                     permissions=grid.permissions())
                messages.success(request, _("Changes saved."))
        except ValidationError as e:
            add_errors(form, e)
        else:
            return redirect("org_role_edit", pk=role.pk)
    status = 422 if form.errors or grid.errors else 200
    user_count = role.users.count() if role else 0
    if role is not None:
        role.refresh_from_db()
    return _render(request, "core/org/role_form.html",
                   {"form": form, "grid": grid, "role": role, "actions": list(Action), "user_count": user_count},
                   "roles", status)


@admin_required
def role_add(request):
    return _role_page(request, None)


@admin_required
def role_edit(request, pk):
    return _role_page(request, get_object_or_404(Role, pk=pk))


@admin_required
@require_POST
def role_delete(request, pk):
    role = get_object_or_404(Role, pk=pk)
    try:
        services.role_delete(actor=request.user, role=role)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("org_role_edit", pk=role.pk)
    messages.success(request, _("Role “%(name)s” deleted.") % {"name": role})
    return redirect("org_role_list")


# -- departments --------------------------------------------------------------------------------


def department_tree():
    """[(department, depth)] in tree order; a department whose parent chain loops is listed at the root."""
    departments = list(Department.objects.select_related("manager").annotate(
        team_count=Count("teams", distinct=True), child_count=Count("children", distinct=True)).order_by("name"))
    children = {}
    for d in departments:
        children.setdefault(d.parent_id, []).append(d)
    rows, seen = [], set()

    def walk(parent_id, depth):
        for d in children.get(parent_id, []):
            if d.pk not in seen:
                seen.add(d.pk)
                rows.append((d, depth))
                walk(d.pk, depth + 1)

    walk(None, 0)
    rows.extend((d, 0) for d in departments if d.pk not in seen)
    return rows


@admin_required
def department_list(request):
    return _render(request, "core/org/departments.html", {"rows": department_tree()}, "departments")


def _org_unit_page(request, *, obj, form_class, save, template, section, done, created_message):
    form = form_class(request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(actor=request.user, fields=form.org_fields())
        except ValidationError as e:
            add_errors(form, e)
        else:
            messages.success(request, (created_message % {"name": saved}) if obj is None else _("Changes saved."))
            return redirect(done)
    status = 422 if form.errors else 200
    if obj is not None:
        obj.refresh_from_db()
    return _render(request, template, {"form": form, "object": obj}, section, status)


@admin_required
def department_edit(request, pk=None):
    department = get_object_or_404(Department, pk=pk) if pk else None
    return _org_unit_page(
        request, obj=department, form_class=DepartmentForm, template="core/org/department_form.html",
        save=lambda **kw: services.department_save(department=department, **kw), section="departments",
        done="org_department_list", created_message=_("Department “%(name)s” created."))


@admin_required
@require_POST
def department_delete(request, pk):
    department = get_object_or_404(Department, pk=pk)
    try:
        services.department_delete(actor=request.user, department=department)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("Department “%(name)s” deleted.") % {"name": department})
    return redirect("org_department_list")


# -- teams --------------------------------------------------------------------------------------


@admin_required
def team_list(request):
    teams = Team.objects.select_related("department", "manager").annotate(member_count=Count("members"))
    return _render(request, "core/org/teams.html", {"teams": teams.order_by("name")}, "teams")


@admin_required
def team_edit(request, pk=None):
    team = get_object_or_404(Team, pk=pk) if pk else None
    return _org_unit_page(
        request, obj=team, form_class=TeamForm, template="core/org/team_form.html",
        save=lambda **kw: services.team_save(team=team, **kw), section="teams",
        done="org_team_list", created_message=_("Team “%(name)s” created."))


@admin_required
@require_POST
def team_delete(request, pk):
    team = get_object_or_404(Team, pk=pk)
    try:
        services.team_delete(actor=request.user, team=team)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("Team “%(name)s” deleted.") % {"name": team})
    return redirect("org_team_list")


# -- "why can this user see this record?" -------------------------------------------------------


def restrict_allows(user, obj, action):
    """The real row filter's answer for one record (the recycle bin included, as the explainer covers it)."""
    return type(obj).all_objects.restrict(user, action).filter(pk=obj.pk).exists()


@admin_required
def access_explain(request):
    form = ExplainForm(request.GET or None)
    context = {"form": form}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        # A fresh user object: the access facts cached on it are those of this moment.
        target = User.objects.select_related("role", "team").get(pk=data["user"].pk)
        obj = data["record"]
        decision, reasons = explain(target, obj, data["action"])
        actual = restrict_allows(target, obj, data["action"])
        matrix = []
        for action in Action:
            explained, _reasons = explain(target, obj, action.value)
            matrix.append((action, explained, restrict_allows(target, obj, action.value)))
        context.update({
            "target": target, "record": obj, "rt": registry.get(type(obj)), "action": Action(data["action"]),
            "decision": decision, "reasons": reasons, "actual": actual, "agree": decision == actual,
            "matrix": matrix,
        })
    status = 422 if form.is_bound and form.errors else 200
    return _render(request, "core/org/explain.html", context, "explain", status)


# -- sharing ------------------------------------------------------------------------------------


def _shareable(request, type_key, pk):
    """The record, if the user may change it (404 otherwise, like every out-of-scope record)."""
    try:
        rt = registry.get(type_key)
    except KeyError:
        raise Http404
    if not rt.has_owner:
        raise Http404
    return rt, get_object_or_404(rt.model.objects.restrict(request.user, "change"), pk=pk)


def _share_response(request, rt, obj, form, status=200, notice=""):
    context = {
        "rt": rt, "object": obj, "form": form, "notice": notice,
        "shares": RecordShare.objects.filter(record_type=rt.key, record_id=obj.pk).select_related("user", "team")
        .order_by("team_id", "user__username", "pk"),
        "explain_url": reverse("org_access_explain") if is_admin(request.user) else "",
    }
    template = "framework/_share_panel.html" if request.htmx else "core/org/share.html"
    return render(request, template, context, status=status)


@login_required
def share_panel(request, type_key, pk):
    """GET: current shares and the form; POST: share with a user or team (htmx partial or full page)."""
    rt, obj = _shareable(request, type_key, pk)
    form = ShareForm(request.POST or None, obj=obj)
    if request.method == "POST":
        if form.is_valid():
            target = form.cleaned_data["target"]
            try:
                services.record_share(actor=request.user, obj=obj, level=form.cleaned_data["level"], **target)
            except PermissionDenied:
                raise Http404
            except ValidationError as e:
                add_errors(form, e)
            else:
                notice = _("Shared with %(target)s.") % {"target": next(iter(target.values()))}
                if not request.htmx:
                    messages.success(request, notice)
                    return redirect("share_panel", type_key=rt.key, pk=obj.pk)
                return _share_response(request, rt, obj, ShareForm(obj=obj), notice=notice)
        return _share_response(request, rt, obj, form, status=422)
    return _share_response(request, rt, obj, form)


@login_required
@require_POST
def share_remove(request, type_key, pk, share_pk):
    rt, obj = _shareable(request, type_key, pk)
    share = get_object_or_404(RecordShare.objects.select_related("user", "team"), pk=share_pk,
                              record_type=rt.key, record_id=obj.pk)
    try:
        services.record_unshare(actor=request.user, obj=obj, share=share)
    except PermissionDenied:
        raise Http404
    notice = _("No longer shared with %(target)s.") % {"target": share.user or share.team}
    if not request.htmx:
        messages.success(request, notice)
        return redirect("share_panel", type_key=rt.key, pk=obj.pk)
    return _share_response(request, rt, obj, ShareForm(obj=obj), notice=notice)
