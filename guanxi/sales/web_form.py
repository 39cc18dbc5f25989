"""The public web-to-lead form (no login): GET shows it, POST creates a lead with source "web form",
scored and routed by the assignment rules.

Embedded in other websites through an iframe (the page allows framing; `embed.js` inserts the iframe),
so the view is CSRF-exempt; instead every submission carries a signed, dated form token from the GET,
passes a honeypot field that people never see (a filled one looks like success and saves nothing) and a
per-IP rate limit (GUANXI_WEB_FORM_RATE_LIMIT submissions per GUANXI_WEB_FORM_RATE_WINDOW seconds, in
Django's cache). The language comes from ?lang=en|zh-hans, else the browser's Accept-Language.
"""

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.framework.fields import normalise_phone
from guanxi.framework.ratelimit import over_limit

from .choices import LeadSource
from .lead_services import lead_create

HONEYPOT = "homepage"
TOKEN_SALT = "guanxi.sales.web_form"
TOKEN_MAX_AGE = 24 * 3600
LANGUAGES = {"en": "en", "zh": "zh-hans", "zh-hans": "zh-hans", "zh-cn": "zh-hans"}


def rate_limit():
    return settings.GUANXI_WEB_FORM_RATE_LIMIT, settings.GUANXI_WEB_FORM_RATE_WINDOW


class WebLeadForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=100, required=False)
    company_name = forms.CharField(label=gettext_lazy("Company"), max_length=200, required=False)
    title = forms.CharField(label=gettext_lazy("Job title"), max_length=100, required=False)
    mobile = forms.CharField(label=gettext_lazy("Mobile"), max_length=32, required=False,
                             widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254, required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    province = forms.CharField(label=gettext_lazy("Province / state"), max_length=64, required=False)
    city = forms.CharField(label=gettext_lazy("City"), max_length=64, required=False)
    message = forms.CharField(label=gettext_lazy("Message"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))
    # Honeypot: hidden from people by CSS and aria-hidden; bots fill every field.
    homepage = forms.CharField(required=False, max_length=1000, label=gettext_lazy("Leave this field empty"))
    page = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    token = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in (HONEYPOT, "page", "token"):
                field.widget.attrs.setdefault("class", "form-control")
        self.fields[HONEYPOT].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    def clean_mobile(self):
        value = self.cleaned_data.get("mobile", "").strip()
        return normalise_phone(value) if value else ""

    def clean_email(self):
        return (self.cleaned_data.get("email") or "").strip().lower()

    def clean(self):
        cleaned = super().clean()
        try:
            signing.loads(self.data.get("token") or "", salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        except signing.BadSignature:  # a hidden field: its error is shown for the whole form
            raise ValidationError(_("This form has expired. Reload the page and try again.")) from None
        if not (cleaned.get("name", "").strip() or cleaned.get("company_name", "").strip()) \
                and "name" not in self.errors and "company_name" not in self.errors:
            raise ValidationError(_("Enter your name or your company's name."))
        if not (cleaned.get("mobile") or cleaned.get("email")) and "mobile" not in self.errors \
                and "email" not in self.errors:
            raise ValidationError(_("Leave a mobile number or an email address so that we can reach you."))
        return cleaned

    @property
    def is_spam(self):
        return bool((self.data.get(HONEYPOT) or "").strip())


def _language(request):
    code = (request.GET.get("lang") or "").strip().lower()
    return LANGUAGES.get(code) or translation.get_language()


def _over_limit(request):
    """Count this submission against the client's IP; True once it exceeds the limit in the window."""
    return over_limit(request, "webform", *rate_limit())


def _token():
    return signing.dumps("web-lead", salt=TOKEN_SALT)


@csrf_exempt
@xframe_options_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def web_form(request):
    language = _language(request)
    with translation.override(language):
        context = {"language": language, "action": reverse("sales:web_form") + f"?lang={language}"}
        if request.method == "GET":
            form = WebLeadForm(initial={"token": _token(), "page": (request.GET.get("page") or "")[:200]})
            return render(request, "sales/web_form.html", {**context, "form": form})
        if _over_limit(request):
            form = WebLeadForm(initial={"token": _token()})
            context["error"] = _("Too many submissions from your network. Please try again later.")
            return render(request, "sales/web_form.html", {**context, "form": form}, status=429)
        form = WebLeadForm(request.POST)
        if form.is_spam:
            return render(request, "sales/web_form_thanks.html", context)  # looks the same, saves nothing
        if not form.is_valid():
            form.data = form.data.copy()
            form.data["token"] = _token()
            return render(request, "sales/web_form.html", {**context, "form": form}, status=422)
        cd = form.cleaned_data
        fields = {
            "name": cd["name"].strip(), "company_name": cd["company_name"].strip(), "title": cd["title"].strip(),
            "mobile": cd["mobile"], "email": cd["email"], "province": cd["province"].strip(),
            "city": cd["city"].strip(), "description": cd["message"].strip(), "source": LeadSource.WEB_FORM,
            "source_detail": cd["page"].strip()[:200], "owner": None,
        }
        try:
            lead_create(actor=None, fields=fields, auto_assign=True)
        except ValidationError as e:
            form.add_error(None, e)
            return render(request, "sales/web_form.html", {**context, "form": form}, status=422)
        return render(request, "sales/web_form_thanks.html", context)


EMBED_JS = """(function () {
  var s = document.currentScript;
  var f = document.createElement("iframe");
  var lang = (s && s.getAttribute("data-lang")) || "";
  f.src = %(url)s + "?page=" + encodeURIComponent(location.href.slice(0, 200)) +
    (lang ? "&lang=" + encodeURIComponent(lang) : "");
  f.title = %(title)s;
  f.style.cssText = "width:100%%;max-width:560px;height:760px;border:0";
  f.setAttribute("loading", "lazy");
  s.parentNode.insertBefore(f, s.nextSibling);
})();
"""


@require_GET
def web_form_js(request):
    """A script that inserts the form's iframe where the <script> tag stands."""
    import json

    url = request.build_absolute_uri(reverse("sales:web_form"))
    body = EMBED_JS % {"url": json.dumps(url), "title": json.dumps(str(_("Contact us")))}
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
