"""Forms of the quota pages: one quota, and a team's quotas for a period in one go."""

import datetime

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import Team, User

from .analytics import MAX_DATE, MIN_DATE
from .choices import QuotaPeriod
from .quota_services import manageable_team_ids, manageable_user_ids

MAX_AMOUNT = 10 ** 15


def bootstrap(form):
    """Bootstrap classes on the widgets (the templates render fields as they are)."""
    for f in form.fields.values():
        widget = f.widget
        if isinstance(widget, forms.RadioSelect):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select form-select-sm" if getattr(form, "compact", False)
                                    else "form-select")
        else:
            widget.attrs.setdefault("class", "form-control form-control-sm" if getattr(form, "compact", False)
                                    else "form-control")
    return form


TARGET_LABEL = _("Target (CNY)")


def amount_field(required=True, label=TARGET_LABEL):
    return forms.DecimalField(label=label, required=required, max_digits=18, decimal_places=2,
                              validators=[MinValueValidator(0), MaxValueValidator(MAX_AMOUNT)])


def _users_for(actor):
    ids = manageable_user_ids(actor)
    qs = User.objects.filter(is_active=True).order_by("username")
    return qs if ids is None else qs.filter(pk__in=sorted(ids))


def _teams_for(actor):
    ids = manageable_team_ids(actor)
    qs = Team.objects.order_by("name")
    return qs if ids is None else qs.filter(pk__in=sorted(ids))


def check_start(cleaned, form):
    """Starts on the 1st; a quarter in January, April, July or October (the same rule as Quota.clean)."""
    start, period = cleaned.get("start"), cleaned.get("period")
    if not start:
        return
    if not MIN_DATE <= start <= MAX_DATE:
        form.add_error("start", _("Enter a date between %(a)s and %(b)s.") % {"a": MIN_DATE, "b": MAX_DATE})
    elif start.day != 1:
        form.add_error("start", _("A period starts on the first day of a month."))
    elif period == QuotaPeriod.QUARTER and start.month not in (1, 4, 7, 10):
        form.add_error("start", _("A quarter starts in January, April, July or October."))


class QuotaForm(forms.Form):
    FOR_USER, FOR_TEAM = "user", "team"
    target = forms.ChoiceField(label=_("For"), choices=[(FOR_USER, _("A user")), (FOR_TEAM, _("A team"))],
                               initial=FOR_USER, widget=forms.RadioSelect)
    user = forms.ModelChoiceField(label=_("User"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    period = forms.ChoiceField(label=_("Period"), choices=QuotaPeriod.choices, initial=QuotaPeriod.QUARTER)
    start = forms.DateField(label=_("Starts"), help_text=_("The first day of the month or quarter."),
                            widget=forms.DateInput(attrs={"type": "date"}))
    amount = amount_field()

    def __init__(self, *args, actor, instance=None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", {
                "target": self.FOR_USER if instance.user_id else self.FOR_TEAM, "user": instance.user_id,
                "team": instance.team_id, "period": instance.period, "start": instance.start,
                "amount": instance.amount.amount})
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _users_for(actor)
        self.fields["team"].queryset = _teams_for(actor)
        if instance is not None:  # whose quota it is does not change; delete and add instead
            for name in ("target", "user", "team"):
                self.fields[name].disabled = True
                self.fields[name].required = False
            if instance.user_id:
                self.fields["user"].queryset = User.objects.filter(pk=instance.user_id)
            else:
                self.fields["team"].queryset = Team.objects.filter(pk=instance.team_id)
        bootstrap(self)

    def clean(self):
        cleaned = super().clean()
        if self.instance is None:
            target = cleaned.get("target")
            if target == self.FOR_USER and not cleaned.get("user"):
                self.add_error("user", _("Choose a user."))
            if target == self.FOR_TEAM and not cleaned.get("team"):
                self.add_error("team", _("Choose a team."))
            if target == self.FOR_USER:
                cleaned["team"] = None
            else:
                cleaned["user"] = None
        check_start(cleaned, self)
        return cleaned


class QuotaFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=[("", _("Any"))] + list(QuotaPeriod.choices), required=False)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    compact = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap(self)


class QuotaBulkForm(forms.Form):
    """A team and its members for one quarter or month: an amount each (empty: unchanged)."""

    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    period = forms.ChoiceField(label=_("Period"), choices=QuotaPeriod.choices, initial=QuotaPeriod.QUARTER)
    start = forms.DateField(label=_("Starts"), widget=forms.DateInput(attrs={"type": "date"}))
    team_amount = amount_field(required=False, label=_("Team target (CNY)"))

    def __init__(self, *args, actor, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = _teams_for(actor)
        self.members = []
        if team is not None:
            people = manageable_user_ids(actor)
            members = team.members.filter(is_active=True).order_by("username")
            if people is not None:
                members = members.filter(pk__in=sorted(people))
            self.members = list(members)
            for member in self.members:
                self.fields[f"member_{member.pk}"] = amount_field(required=False, label=str(member))
        bootstrap(self)

    def member_fields(self):
        return [self[f"member_{m.pk}"] for m in self.members]

    def clean(self):
        cleaned = super().clean()
        check_start(cleaned, self)
        return cleaned

    def member_amounts(self):
        return {m: self.cleaned_data.get(f"member_{m.pk}") for m in self.members}


def default_quarter_start(today=None):
    today = today or datetime.date.today()
    return datetime.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
