"""Lead pages beyond the generic ones: the detail context, the commands (convert, disqualify, status,
requalify) and the administrators' scoring and assignment rule pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction
from guanxi.core.decorators import admin_required
from guanxi.framework.redaction import prepare_for_display

from . import lead_services
from .choices import LeadStatus, ScoringField
from .lead_forms import AssignmentRuleForm, LeadConvertForm, LeadDisqualifyForm, ScoringRuleForm
from .models import AssignmentRule, Lead, ScoringRule
from .scoring import leads_rescore_schedule


def _template_exists(name):
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def lead_detail_context(lead, request):
    from guanxi.activities.timeline_views import activity_panel

    user = request.user
    can_change = access.can(user, "change", lead)
    context = {
        **activity_panel(lead, request),
        "score_detail": [d for d in (lead.score_detail or []) if isinstance(d, dict)],
        "working_statuses": [(s.value, s.label) for s in lead_services.WORKING_STATUSES],
        "can_change": can_change,
        "has_pool_actions": _template_exists("customers/_pool_actions.html"),
    }
    if can_change and lead.is_open:
        from guanxi.customers.models import Account, Contact

        from .models import Opportunity

        # Converting creates records: offered to roles that may add them (reusing matches aside).
        if all(access.allows(user, "add", m) for m in (Account, Contact, Opportunity)):
            context["convert_form"] = LeadConvertForm(user=user, lead=lead)
        context["disqualify_form"] = LeadDisqualifyForm()
    return context


def _changeable(request, pk):
    return get_object_or_404(Lead.objects.restrict(request.user, "change"), pk=pk)


def _state_error(request, lead, error):
    messages.error(request, error.message)
    return redirect(lead.get_absolute_url())


def _converted_target(account, contact, lead):
    for target in (account, contact):
        if target is not None:
            return target.get_absolute_url()
    return lead.get_absolute_url()


def _add_errors(form, error):
    """Service errors on the form: under the form's own fields, the rest (company, pipeline…) for the whole form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
def lead_convert(request, pk):
    """GET: the convert form as a page (the detail page shows it in a modal); POST: convert, then open the company."""
    lead = _changeable(request, pk)
    if lead.status == LeadStatus.CONVERTED:
        messages.info(request, _("This lead has already been converted."))
        shown = prepare_for_display([lead], request.user)[0]
        return redirect(_converted_target(shown.converted_account, shown.converted_contact, lead))
    form = LeadConvertForm(request.POST if request.method == "POST" else None, user=request.user, lead=lead)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            account, contact, _opportunity = lead_services.lead_convert(
                lead=lead, actor=request.user, account=cd.get("account"), contact=cd.get("contact"),
                create_opportunity=cd.get("create_opportunity", False), opportunity_name=cd.get("opportunity_name"),
                amount=cd.get("amount"))
        except lead_services.LeadStateError as e:
            return _state_error(request, lead, e)
        except ValidationError as e:
            _add_errors(form, e)
        else:
            messages.success(request, _("Lead “%(lead)s” converted.") % {"lead": lead})
            return redirect(_converted_target(account, contact, lead))
    status = 422 if request.method == "POST" else 200
    return render(request, "sales/lead_convert.html", {"object": lead, "form": form}, status=status)


@login_required
@require_POST
def lead_disqualify(request, pk):
    lead = _changeable(request, pk)
    form = LeadDisqualifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason to disqualify the lead."))
        return redirect(lead.get_absolute_url())
    try:
        lead_services.lead_disqualify(lead=lead, actor=request.user, reason=form.cleaned_data["reason"],
                                      note=form.cleaned_data["note"])
    except lead_services.LeadStateError as e:
        return _state_error(request, lead, e)
    messages.success(request, _("Lead disqualified."))
    return redirect(lead.get_absolute_url())


@login_required
@require_POST
def lead_requalify(request, pk):
    lead = _changeable(request, pk)
    try:
        lead_services.lead_requalify(lead=lead, actor=request.user)
    except lead_services.LeadStateError as e:
        return _state_error(request, lead, e)
    messages.success(request, _("Lead reopened."))
    return redirect(lead.get_absolute_url())


@login_required
@require_POST
def lead_status(request, pk):
    lead = _changeable(request, pk)
    status = request.POST.get("status", "")
    try:
        lead_services.lead_set_status(lead=lead, actor=request.user, status=status)
    except lead_services.LeadStateError as e:
        return _state_error(request, lead, e)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect(lead.get_absolute_url())
    messages.success(request, _("Status changed."))
    return redirect(lead.get_absolute_url())


# -- administrators: scoring and assignment rules --------------------------------------------------------


def _settings_audit(request, obj, record_type, operation):
    audit_log(actor=request.user, action=AuditAction.SETTINGS_CHANGE, obj=obj, record_type=record_type,
              data={"operation": operation, "name": obj.name, "id": obj.pk})


@admin_required
def scoring_rules(request):
    rules = ScoringRule.objects.all()
    return render(request, "sales/scoring_rules.html", {"rules": rules, "fields": ScoringField})


def _rescore_message(request, how):
    if how == "job":
        messages.info(request, _("Open leads are being rescored in the background."))
    else:
        messages.success(request, _("Open leads rescored."))


@admin_required
def scoring_rule_edit(request, pk=None):
    rule = get_object_or_404(ScoringRule, pk=pk) if pk else None
    form = ScoringRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            _settings_audit(request, saved, "sales.scoringrule", "change" if pk else "add")
            how = leads_rescore_schedule()
        _rescore_message(request, how)
        return redirect("sales:scoring_rules")
    status = 422 if request.method == "POST" else 200
    return render(request, "sales/scoring_rule_form.html", {"form": form, "rule": rule}, status=status)


@admin_required
@require_POST
def scoring_rule_delete(request, pk):
    rule = get_object_or_404(ScoringRule, pk=pk)
    with transaction.atomic():
        _settings_audit(request, rule, "sales.scoringrule", "remove")
        rule.delete()
        how = leads_rescore_schedule()
    _rescore_message(request, how)
    return redirect("sales:scoring_rules")


@admin_required
def assignment_rules(request):
    rules = AssignmentRule.objects.select_related("team", "user", "pool", "last_user")
    return render(request, "sales/assignment_rules.html", {"rules": rules})


@admin_required
def assignment_rule_edit(request, pk=None):
    rule = get_object_or_404(AssignmentRule, pk=pk) if pk else None
    form = AssignmentRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            _settings_audit(request, saved, "sales.assignmentrule", "change" if pk else "add")
        messages.success(request, _("Assignment rule saved."))
        return redirect("sales:assignment_rules")
    status = 422 if request.method == "POST" else 200
    return render(request, "sales/assignment_rule_form.html", {"form": form, "rule": rule}, status=status)


@admin_required
@require_POST
def assignment_rule_delete(request, pk):
    rule = get_object_or_404(AssignmentRule, pk=pk)
    with transaction.atomic():
        _settings_audit(request, rule, "sales.assignmentrule", "remove")
        rule.delete()
    messages.success(request, _("Assignment rule removed."))
    return redirect("sales:assignment_rules")


@admin_required
def web_form_embed(request):
    """The web-to-lead form's address and the HTML to embed it in a website."""
    form_url = request.build_absolute_uri(reverse("sales:web_form"))
    script_url = request.build_absolute_uri(reverse("sales:web_form_js"))
    return render(request, "sales/web_form_embed.html", {"form_url": form_url, "script_url": script_url})

