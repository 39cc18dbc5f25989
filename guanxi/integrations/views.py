"""Email pages: send an email from a contact's or a company's page, manage email templates
(administrators) and IMAP mailboxes with their sync health. Views validate input and call services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.activities.models import Interaction
from guanxi.core import access
from guanxi.core.decorators import admin_required
from guanxi.customers.models import Account, Contact
from guanxi.framework.validators import is_id

from . import email_out, settings_services
from .forms import EmailComposeForm, EmailTemplateForm, MailboxForm
from .models import EmailTemplate, Mailbox


def _add_errors(form, error):
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _visible_or_404(model, user, value):
    if not is_id(value):
        raise Http404
    found = model.objects.restrict(user, "view").filter(pk=value).first()
    if found is None:
        raise Http404
    return found


# -- send ------------------------------------------------------------------------------------------


@login_required
def email_compose(request):
    """GET/POST /email/compose/?contact=<id> or ?account=<id> [&reply_to=<interaction id>]."""
    user = request.user
    params = request.GET
    if "contact" in params:
        contact, account = _visible_or_404(Contact, user, params["contact"]), None
        back = contact
    elif "account" in params:
        contact, account = None, _visible_or_404(Account, user, params["account"])
        back = account
    else:
        raise Http404
    if not access.allows(user, "add", Interaction):
        raise PermissionDenied(_("Your role does not allow logging interactions."))
    reply_to = None
    if params.get("reply_to"):
        reply_to = _visible_or_404(Interaction, user, params["reply_to"])
        if reply_to.kind != "email":
            raise Http404
    recipients = email_out.email_recipients(actor=user, contact=contact, account=account)
    templates = list(EmailTemplate.objects.all())
    initial = {}
    if reply_to is not None:
        subject = reply_to.subject or ""
        initial["subject"] = subject if subject.lower().startswith(("re:", "回复：", "回复:")) else f"Re: {subject}"
        if reply_to.contact_id and any(c.pk == reply_to.contact_id for c, _label in recipients):
            initial["recipient"] = reply_to.contact_id
    if len(recipients) == 1:
        initial["recipient"] = recipients[0][0].pk

    status = 200
    if request.method == "POST":
        # A recipient the user may not see is answered like a missing one, before anything else.
        chosen = request.POST.get("recipient", "")
        if chosen:
            _visible_or_404(Contact, user, chosen)
        form = EmailComposeForm(request.POST, recipients=recipients, templates=templates)
        if form.is_valid() and "apply_template" in request.POST:
            data = form.cleaned_data
            template = get_object_or_404(EmailTemplate, pk=data["template"])
            person = next(c for c, _label in recipients if c.pk == data["recipient"])
            subject, body = email_out.email_compose_text(actor=user, template=template, contact=person,
                                                         account=account)
            values = request.POST.copy()
            values["subject"], values["body"] = subject, body
            form = EmailComposeForm(values, recipients=recipients, templates=templates)
            form.is_valid()
        elif form.is_valid():
            data = form.cleaned_data
            try:
                email_out.email_send(actor=user, contact=data["recipient"], account=account,
                                     subject=data["subject"], body=data["body"], reply_to=reply_to)
            except (Contact.DoesNotExist, Account.DoesNotExist, Interaction.DoesNotExist):
                raise Http404
            except ValidationError as e:
                _add_errors(form, e)
                status = 400
            else:
                messages.success(request, _("Email queued for sending and logged on the timeline."))
                return redirect(back.get_absolute_url())
        else:
            status = 400
    else:
        form = EmailComposeForm(initial=initial, recipients=recipients, templates=templates)
    return render(request, "integrations/compose.html", {
        "form": form, "contact": contact, "account": account, "back": back, "reply_to": reply_to,
        "has_recipients": bool(recipients),
    }, status=status)


# -- templates -------------------------------------------------------------------------------------


@admin_required
def email_template_list(request):
    return render(request, "integrations/email_templates.html", {"templates": EmailTemplate.objects.all()})


@admin_required
def email_template_edit(request, pk=None):
    template = get_object_or_404(EmailTemplate, pk=pk) if pk else EmailTemplate()
    form = EmailTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        settings_services.email_template_save(actor=request.user, template=form.save(commit=False),
                                              changed=form.changed_data)
        messages.success(request, _("Email template saved."))
        return redirect("integrations:email_template_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/email_template_form.html", {"form": form, "template": template},
                  status=status)


@admin_required
@require_POST
def email_template_delete(request, pk):
    template = get_object_or_404(EmailTemplate, pk=pk)
    settings_services.email_template_delete(actor=request.user, template=template)
    messages.success(request, _("Email template removed."))
    return redirect("integrations:email_template_list")


# -- mailboxes -------------------------------------------------------------------------------------


def _mailbox_or_404(request, pk):
    mailbox = settings_services.mailboxes_managed_by(request.user).filter(pk=pk).first()
    if mailbox is None:
        raise Http404
    return mailbox


@login_required
def mailbox_list(request):
    mailboxes = settings_services.mailboxes_managed_by(request.user).order_by("owner_id", "name", "pk")
    return render(request, "integrations/mailboxes.html", {
        "mailboxes": mailboxes, "can_share": access.is_admin(request.user),
    })


@login_required
def mailbox_edit(request, pk=None):
    mailbox = _mailbox_or_404(request, pk) if pk else Mailbox(owner=request.user)
    can_share = access.is_admin(request.user)
    form = MailboxForm(request.POST or None, instance=mailbox, can_share=can_share)
    if request.method == "POST" and form.is_valid():
        mailbox = form.save(commit=False)
        if not mailbox.pk and form.cleaned_data.get("shared"):
            mailbox.owner = None
        changed = [f for f in form.changed_data if f not in ("password", "shared")]
        try:
            settings_services.mailbox_save(actor=request.user, mailbox=mailbox,
                                           password=form.cleaned_data.get("password") or None, changed=changed)
        except PermissionDenied:
            raise Http404
        messages.success(request, _("Mailbox saved. New messages are imported at the next sync."))
        return redirect("integrations:mailbox_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/mailbox_form.html", {"form": form, "mailbox": mailbox}, status=status)


@login_required
@require_POST
def mailbox_delete(request, pk):
    mailbox = _mailbox_or_404(request, pk)
    settings_services.mailbox_delete(actor=request.user, mailbox=mailbox)
    messages.success(request, _("Mailbox removed. Messages already imported stay on the timelines."))
    return redirect("integrations:mailbox_list")


@login_required
@require_POST
def mailbox_sync_now(request, pk):
    from .tasks import mailbox_sync_task

    mailbox = _mailbox_or_404(request, pk)
    if not mailbox.enabled:
        messages.error(request, _("The mailbox is disabled."))
    else:
        mailbox_sync_task.enqueue(mailbox.pk)
        messages.success(request, _("Sync started. Refresh the page to see the result."))
    return redirect("integrations:mailbox_list")
