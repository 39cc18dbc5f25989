"""Forms of the customer's pages (no login): the public complaint form, and the reply and rating forms
of the ticket status page. Everything is checked here before the ticket services check it again."""

import os

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.choices import Language
from guanxi.framework.fields import normalise_phone

from .models import TicketCategory
from .ticket_services import BODY_MAX, COMMENT_MAX, MAX_ATTACHMENT_BYTES

HONEYPOT = "homepage"
MAX_FILES = 3
# What customers usually send with a complaint: photos, scans, documents, short videos.
ALLOWED_EXTENSIONS = {
    "jpg", "jpeg", "png", "gif", "webp", "heic", "bmp", "pdf", "txt", "csv", "doc", "docx", "xls", "xlsx",
    "ppt", "pptx", "odt", "ods", "zip", "rar", "7z", "mp4", "mov", "mp3", "m4a", "amr", "wav",
}
DESCRIPTION_MAX = 10_000


def max_file_bytes():
    return min(getattr(settings, "GUANXI_PUBLIC_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024), MAX_ATTACHMENT_BYTES)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Up to MAX_FILES files of the allowed types and size."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control", "multiple": True}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if len(files) > MAX_FILES:
            raise ValidationError(_("Attach at most %(n)d files.") % {"n": MAX_FILES})
        limit = max_file_bytes()
        for upload in files:
            name = (upload.name or "").replace("\x00", "")
            extension = os.path.splitext(name)[1].lower().lstrip(".")
            if extension not in ALLOWED_EXTENSIONS:
                raise ValidationError(_("“%(name)s” is not a file type we accept (photos, PDF, Office documents, "
                                        "text, archives, audio or video).") % {"name": name[-100:]})
            if upload.size > limit:
                raise ValidationError(_("“%(name)s” is larger than %(mb)d MB.")
                                      % {"name": name[-100:], "mb": limit // (1024 * 1024)})
            if upload.size == 0:
                raise ValidationError(_("“%(name)s” is empty.") % {"name": name[-100:]})
        return files


def _bootstrap(form):
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect):
            continue
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        elif name != HONEYPOT:
            widget.attrs.setdefault("class", "form-control")


def category_choices():
    """Top-level active categories, labelled in the active language."""
    rows = TicketCategory.objects.filter(parent__isnull=True, is_active=True).order_by("position", "id")
    return [("", "—")] + [(str(c.pk), c.label) for c in rows]


class ComplaintForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=60)
    email = forms.CharField(label=gettext_lazy("Email"), max_length=254, required=False,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=gettext_lazy("Mobile or phone"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    company_name = forms.CharField(label=gettext_lazy("Company (optional)"), max_length=100, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "organization"}))
    category = forms.ChoiceField(label=gettext_lazy("What is it about?"), required=False)
    product = forms.CharField(label=gettext_lazy("Product"), max_length=200, required=False)
    order_ref = forms.CharField(label=gettext_lazy("Order number"), max_length=100, required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Please describe the problem"), max_length=DESCRIPTION_MAX,
                                  widget=forms.Textarea(attrs={"rows": 6}))
    files = FilesField(label=gettext_lazy("Attachments (up to 3)"))
    language = forms.ChoiceField(label=gettext_lazy("We answer you in"), choices=Language.choices)
    # Honeypot: hidden from people by CSS and aria-hidden; bots fill every field.
    homepage = forms.CharField(required=False, max_length=1000, label=gettext_lazy("Leave this field empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields[HONEYPOT].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        _bootstrap(self)

    @property
    def is_spam(self):
        return bool((self.data.get(HONEYPOT) or "").strip())

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_email(self):
        value = (self.cleaned_data.get("email") or "").strip().lower()
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValidationError(_("Enter a valid email address.")) from None
        return value

    def clean_phone(self):
        return normalise_phone(self.cleaned_data.get("phone") or "")

    def clean_category(self):
        value = self.cleaned_data.get("category") or ""
        if not value:
            return None
        return TicketCategory.objects.filter(pk=int(value), parent__isnull=True, is_active=True).first()

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("email") or cleaned.get("phone")) and "email" not in self.errors \
                and "phone" not in self.errors:
            raise ValidationError(_("Leave an email address or a phone number so that we can reach you."))
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Your message"), max_length=BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 4}))
    files = FilesField(label=gettext_lazy("Attachments (up to 3)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(label=gettext_lazy("Your rating"), coerce=int,
                                   choices=[(i, str(i)) for i in range(1, 6)], widget=forms.RadioSelect,
                                   error_messages={"required": gettext_lazy("Choose a rating from 1 to 5."),
                                                   "invalid_choice": gettext_lazy("Choose a rating from 1 to 5.")})
    comment = forms.CharField(label=gettext_lazy("Comment (optional)"), max_length=COMMENT_MAX, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)
