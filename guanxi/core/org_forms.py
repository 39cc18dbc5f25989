"""Forms of the administrator pages (users, roles and their permission grid, departments, teams), the
share panel and the access explainer. They validate input; the writes are in guanxi.core.services."""

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.framework import registry
from guanxi.framework.validators import MAX_ID, is_id

from .choices import Action, Language, Scope, ShareLevel
from .models import Department, Role, Team, User
from .services import manager_chain_loops


def style(form):
    """Bootstrap classes on every widget (the existing pages do the same)."""
    for f in form.fields.values():
        w = f.widget
        if isinstance(w, forms.CheckboxInput):
            w.attrs.setdefault("class", "form-check-input")
        elif isinstance(w, forms.Select):
            w.attrs.setdefault("class", "form-select")
        else:
            w.attrs.setdefault("class", "form-control")


def user_label(user):
    name = str(user)
    return name if name == user.username else f"{name} ({user.username})"


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


def reports_below(user_pk):
    """The user and everyone whose manager chain leads up to them: none of them can be their manager."""
    managers = dict(User.objects.values_list("pk", "manager_id"))
    below = {user_pk}
    changed = True
    while changed:
        changed = False
        for pk, manager_pk in managers.items():
            if manager_pk in below and pk not in below:
                below.add(pk)
                changed = True
    return below


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, user name or email")}))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False,
                                  empty_label=_("All teams"))
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all(), required=False,
                                  empty_label=_("All roles"))
    active = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("Active and inactive")), ("1", _("Active")), ("0", _("Inactive"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self)

    def filter(self, qs):
        if not self.is_valid():
            return qs.none()
        data = self.cleaned_data
        q = (data.get("q") or "").strip().replace("\x00", "")
        if q:
            qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(email__icontains=q)
                           | Q(first_name__icontains=q) | Q(last_name__icontains=q))
        if data.get("team"):
            qs = qs.filter(team=data["team"])
        if data.get("role"):
            qs = qs.filter(role=data["role"])
        if data.get("active") in ("0", "1"):
            qs = qs.filter(is_active=data["active"] == "1")
        return qs


class UserForm(forms.ModelForm):
    """Edit a user's organisation fields. Manager choices leave out the user and everyone below them."""

    manager = UserChoiceField(label=_("Manager"), queryset=User.objects.none(), required=False)

    class Meta:
        model = User
        fields = ["display_name", "email", "role", "team", "manager", "is_active", "language"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email")
        self.fields["is_active"].label = _("Active")
        self.fields["is_active"].help_text = _("Inactive users cannot sign in; their records stay.")
        # A current manager who was since deactivated stays selectable, so saving does not drop them silently.
        candidates = User.objects.filter(Q(is_active=True) | Q(pk=self.instance.manager_id or 0))
        if self.instance.pk:
            candidates = candidates.exclude(pk__in=reports_below(self.instance.pk))
        self.fields["manager"].queryset = candidates.order_by("username")
        style(self)

    def clean_display_name(self):
        return _no_nul(self.cleaned_data["display_name"])

    def clean_manager(self):
        manager = self.cleaned_data.get("manager")
        if manager and self.instance.pk and manager_chain_loops(self.instance.pk, manager.pk):
            raise forms.ValidationError(_("This manager would make the reporting chain a loop."))
        return manager

    def changed_fields(self):
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class UserCreateForm(UserForm):
    username = forms.CharField(label=_("User name"), max_length=150,
                               help_text=_("Letters, digits and @/./+/-/_ only."))
    password1 = forms.CharField(label=_("Initial password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validators_help_text_html())
    password2 = forms.CharField(label=_("Repeat the password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    field_order = ["username", "display_name", "email", "password1", "password2", "role", "team", "manager",
                   "language", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = Language.ZH_HANS
        self.fields["is_active"].initial = True
        self.order_fields(self.field_order)
        style(self)

    def clean_username(self):
        username = _no_nul(self.cleaned_data["username"])
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("A user with this user name already exists."))
        return username

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            probe = User(username=data.get("username") or "", email=data.get("email") or "",
                         display_name=data.get("display_name") or "")
            try:
                validate_password(p1, user=probe)
            except forms.ValidationError as e:
                self.add_error("password1", e)
        return data

    def _post_clean(self):
        # The model instance is built by the service; skip ModelForm's instance validation (no password yet).
        pass


class RoleForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ["code", "name", "description", "is_admin", "can_read_audit"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The code identifies default roles (guanxi.core.roles); it does not change.
            del self.fields["code"]
        else:
            self.fields["code"].help_text = _("Lower-case letters, digits, hyphens and underscores; unique.")
        style(self)

    def clean_name(self):
        return _no_nul(self.cleaned_data["name"])

    def clean_description(self):
        return _no_nul(self.cleaned_data["description"])

    def role_fields(self):
        return {k: self.cleaned_data[k] for k in ("name", "description", "is_admin", "can_read_audit")}


def _field_key(type_key):
    return type_key.replace(".", "__")


class PermissionGridForm(forms.Form):
    """One row per registered record type: a checkbox per action and a visibility select."""

    def __init__(self, *args, role=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = {p.record_type: p for p in role.permissions.all()} if role and role.pk else {}
        self.types = registry.all_types()
        for rt in self.types:
            row = current.get(rt.key)
            actions = set(row.actions or ()) if row else set()
            prefix = _field_key(rt.key)
            for action in Action:
                self.fields[f"{prefix}-{action.value}"] = forms.BooleanField(
                    label=action.label, required=False, initial=action.value in actions,
                    widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
            self.fields[f"{prefix}-scope"] = forms.ChoiceField(
                label=_("Visibility"), choices=Scope.choices, initial=row.scope if row else Scope.OWN,
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}))

    def rows(self):
        """(record type, [(action, bound checkbox)], bound scope select) for the template."""
        for rt in self.types:
            prefix = _field_key(rt.key)
            yield rt, [(a, self[f"{prefix}-{a.value}"]) for a in Action], self[f"{prefix}-scope"]

    def permissions(self):
        data = self.cleaned_data
        return {
            rt.key: ([a.value for a in Action if data.get(f"{_field_key(rt.key)}-{a.value}")],
                     data[f"{_field_key(rt.key)}-scope"])
            for rt in self.types
        }


class DepartmentForm(forms.ModelForm):
    manager = UserChoiceField(label=_("Manager"), queryset=User.objects.filter(is_active=True).order_by("username"),
                              required=False)

    class Meta:
        model = Department
        fields = ["name", "parent", "manager"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Offering the department itself or its own sub-departments would only lead to an error.
            self.fields["parent"].queryset = Department.objects.exclude(pk__in=self.instance_subtree())
        style(self)

    def instance_subtree(self):
        parents = dict(Department.objects.values_list("pk", "parent_id"))
        below = {self.instance.pk}
        changed = True
        while changed:
            changed = False
            for pk, parent in parents.items():
                if parent in below and pk not in below:
                    below.add(pk)
                    changed = True
        return below

    def clean_name(self):
        return _no_nul(self.cleaned_data["name"])

    def _post_clean(self):
        # Department.clean (the cycle check) runs in the service, inside its transaction.
        pass

    def org_fields(self):
        return {k: self.cleaned_data[k] for k in self.Meta.fields}


class TeamForm(forms.ModelForm):
    manager = UserChoiceField(label=_("Manager"), queryset=User.objects.filter(is_active=True).order_by("username"),
                              required=False)

    class Meta:
        model = Team
        fields = ["name", "department", "manager"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self)

    def clean_name(self):
        return _no_nul(self.cleaned_data["name"])

    def _post_clean(self):
        pass

    def org_fields(self):
        return {k: self.cleaned_data[k] for k in self.Meta.fields}


class ShareForm(forms.Form):
    target = forms.ChoiceField(label=_("Share with"))
    level = forms.ChoiceField(label=_("Access"), choices=ShareLevel.choices, initial=ShareLevel.READ)

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, **kwargs)
        owner_id = getattr(obj, "owner_id", None)
        users = User.objects.filter(is_active=True).exclude(pk=owner_id).order_by("username") if owner_id else \
            User.objects.filter(is_active=True).order_by("username")
        self.fields["target"].choices = [
            ("", "—"),
            (_("Users"), [(f"user:{u.pk}", user_label(u)) for u in users]),
            (_("Teams"), [(f"team:{t.pk}", str(t)) for t in Team.objects.all()]),
        ]
        style(self)
        self.fields["level"].widget.attrs["class"] = "form-select"

    def clean_target(self):
        kind, _sep, pk = self.cleaned_data["target"].partition(":")
        model = {"user": User, "team": Team}.get(kind)
        obj = model.objects.filter(pk=pk).first() if model and is_id(pk) else None
        if obj is None:
            raise forms.ValidationError(_("Choose a user or a team."))
        return {kind: obj}


class ExplainForm(forms.Form):
    user = UserChoiceField(label=_("User"), queryset=User.objects.order_by("username"))
    record_type = forms.ChoiceField(label=_("Record type"))
    record_id = forms.IntegerField(label=_("Record ID"), min_value=1, max_value=MAX_ID)
    action = forms.ChoiceField(label=_("Action"), choices=Action.choices, initial=Action.VIEW)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["record_type"].choices = [(rt.key, rt.verbose_name_plural) for rt in registry.all_types()]
        style(self)

    def clean(self):
        data = super().clean()
        if data.get("record_type") and data.get("record_id"):
            rt = registry.get(data["record_type"])
            # The administrator looks at any record, including those in the recycle bin.
            data["record"] = rt.model.all_objects.filter(pk=data["record_id"]).first()
            if data["record"] is None:
                self.add_error("record_id", _("There is no record with this ID."))
        return data


def _no_nul(value):
    if value and "\x00" in value:
        raise forms.ValidationError(_("Null characters are not allowed."))
    return value
