import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .email_out import BODY_MAX, SUBJECT_MAX
from .email_templates import PLACEHOLDERS, validate_template
from .models import EmailTemplate, Mailbox

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
# A DNS name, or an IPv4/IPv6 address (IPv6 optionally in brackets).
_HOST_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$|^\[?[0-9A-Fa-f:.]+\]?$")


def _bootstrap(form):
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class EmailComposeForm(forms.Form):
    recipient = forms.TypedChoiceField(label=_("To"), coerce=int)
    template = forms.TypedChoiceField(label=_("Template"), coerce=int, required=False, empty_value=None)
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX, required=False)
    body = forms.CharField(label=_("Message"), max_length=BODY_MAX, required=False,
                           widget=forms.Textarea(attrs={"rows": 12}))

    def __init__(self, *args, recipients=(), templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].choices = [(c.pk, label) for c, label in recipients]
        self.fields["template"].choices = [("", _("No template"))] + [(t.pk, str(t)) for t in templates]
        _bootstrap(self)

    def clean(self):
        data = super().clean()
        if self.data.get("apply_template") is None:  # sending: both are needed
            if not (data.get("subject") or "").strip():
                self.add_error("subject", _("Enter a subject."))
            if not (data.get("body") or "").strip():
                self.add_error("body", _("Write the message."))
        elif not data.get("template"):
            self.add_error("template", _("Choose a template."))
        return data


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "language", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = _("Placeholders: %(list)s.") % {
            "list": ", ".join("{{ " + p + " }}" for p in PLACEHOLDERS)}
        _bootstrap(self)

    def clean_subject(self):
        value = self.cleaned_data["subject"]
        validate_template(value)
        return value

    def clean_body(self):
        value = self.cleaned_data["body"]
        validate_template(value)
        return value


class MailboxForm(forms.ModelForm):
    """The password is write-only: never rendered back; left empty on an edit, the stored one stays."""

    password = forms.CharField(label=_("Password"), required=False, max_length=500, strip=False,
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    shared = forms.BooleanField(label=_("Shared mailbox (all contacts, managed by administrators)"), required=False)

    class Meta:
        model = Mailbox
        fields = ["name", "address", "host", "port", "use_ssl", "username", "folder", "enabled", "creates_tickets"]

    def __init__(self, *args, can_share=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_share or self.instance.pk:
            self.fields.pop("shared")  # only administrators create shared ones; ownership does not change later
        if not can_share:
            # Tickets are the company's, not one person's: only administrators turn a (shared) mailbox
            # into a service mailbox.
            self.fields.pop("creates_tickets")
        if self.instance.pk:
            self.fields["password"].help_text = _("Leave empty to keep the stored password.")
        _bootstrap(self)

    def clean_host(self):
        host = self.cleaned_data["host"].strip()
        if not _HOST_RE.match(host):
            raise forms.ValidationError(_("Enter a host name or an IP address."))
        return host.strip("[]")

    def clean_folder(self):
        folder = self.cleaned_data["folder"].strip()
        if not folder or any(ord(ch) < 32 for ch in folder):
            raise forms.ValidationError(_("Enter a folder name, e.g. INBOX."))
        return folder

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("creates_tickets"):
            shared = cleaned.get("shared") if not self.instance.pk else self.instance.owner_id is None
            if not shared:
                self.add_error("creates_tickets", _("Only a shared mailbox can create tickets."))
        return cleaned

    def clean_password(self):
        password = self.cleaned_data["password"]
        if "\x00" in password or "\n" in password or "\r" in password:
            raise forms.ValidationError(_("The password contains a character IMAP cannot send."))
        if not password and not self.instance.pk:
            raise forms.ValidationError(_("Enter the password."))
        return password
