import math

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_login_failed
from django.db import connection, transaction
from django.db.models import Max, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.customers.filtersets import contact_email_q, contact_phone_q
from guanxi.customers.models import Account, Contact
from guanxi.customers.selectors import home_summary
from guanxi.framework import registry
from guanxi.framework.fields import looks_like_phone, normalise_phone

from . import two_factor
from .audit import audit_log
from .choices import AuditAction
from .decorators import admin_required
from .forms import CustomFieldForm, OtpCodeForm, ProfileForm, TokenForm
from .models import CustomField
from .tokens import api_token_create, api_token_revoke


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return JsonResponse({"status": "ok", "database": {"status": "ok", "vendor": connection.vendor}})
    except Exception as e:  # the point of a health check is to report, not raise
        return JsonResponse({"status": "error", "database": {"status": "error", "error": type(e).__name__}},
                            status=503)


@login_required
def home(request):
    return render(request, "core/home.html", home_summary(request.user))


def _profile_context(request, **extra):
    """Everything the profile page shows: settings form, API tokens and the two-factor section."""
    user = request.user
    device = two_factor.confirmed_device(user)
    pending = None if device else two_factor.pending_device(user)
    context = {
        "form": ProfileForm(instance=user), "tokens": user.api_tokens.all(), "token_form": TokenForm(),
        "otp_enabled": device is not None, "otp_pending": pending, "otp_form": OtpCodeForm(),
    }
    if pending is not None:
        context["otp_qr"] = two_factor.qr_svg(pending)
        context["otp_secret"] = two_factor.secret_base32(pending)
    context.update(extra)
    return context


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        translation.activate(user.language)
        messages.success(request, _("Profile saved."))
        response = redirect("profile")
        return response
    return render(request, "core/profile.html", _profile_context(request, form=form))


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid() or "\x00" in form.data.get("name", ""):
        messages.error(request, _("Give the token a name."))
        return redirect("profile")
    _token, raw = api_token_create(actor=request.user, user=request.user, name=form.cleaned_data["name"])
    return render(request, "core/profile.html", _profile_context(request, new_token=raw))


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(request.user.api_tokens.filter(revoked_at__isnull=True), pk=pk)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token revoked."))
    return redirect("profile")


# Login, lockout and two-factor login


class LoginView(auth_views.LoginView):
    """The password step; users with two-factor login continue to the code step."""

    template_name = "core/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        if two_factor.confirmed_device(form.get_user()) is not None:
            return redirect(reverse("otp_verify") + "?" + urlencode({"next": self.get_success_url()}))
        return response


def _lockout_minutes_left(username, ip_address):
    """Whole minutes until the username+IP pair may try again; None when only an administrator can unlock."""
    from axes.models import AccessAttempt

    cool_off = settings.AXES_COOLOFF_TIME
    if not cool_off:
        return None
    last = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(
        last=Max("attempt_time"))["last"]
    left = (last + cool_off - timezone.now()) if last else cool_off
    return max(1, math.ceil(left.total_seconds() / 60))


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE): the login page with a clear message, HTTP 429."""
    from axes.helpers import get_client_username

    username = str(get_client_username(request, credentials) or "")[:150]
    ip_address = getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR")
    minutes = _lockout_minutes_left(username, ip_address)
    if request.user.is_authenticated:
        logout(request)  # locked out at the two-factor step: the half-finished login ends here
    context = {
        "form": AuthenticationForm(request, initial={"username": username}), "username": username,
        "minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT, "next": "",
    }
    response = render(request, "core/login_locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response


def _safe_next(request):
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@login_required
def otp_verify(request):
    """The second login step: a current code from the user's authenticator app."""
    from axes.handlers.proxy import AxesProxyHandler

    next_url = _safe_next(request)
    device = two_factor.confirmed_device(request.user)
    if device is None or request.user.is_verified():
        return redirect(next_url)
    form = OtpCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        credentials = {"username": request.user.get_username()}
        if not AxesProxyHandler.is_allowed(request, credentials):
            return lockout_response(request, None, credentials)
        if form.is_valid():
            wait = two_factor.throttle_wait_seconds(device)
            if wait == 0 and django_otp.verify_token(request.user, device.persistent_id, form.cleaned_data["code"]):
                django_otp.login(request, device)
                request.session.cycle_key()
                return redirect(next_url)
            # A wrong code is a failed login: audited, and counted towards the username+IP lockout.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request, None, credentials)
            if wait:
                form.add_error("code", _("Too many wrong codes. Wait %(seconds)s seconds and try again.")
                               % {"seconds": wait})
            else:
                form.add_error("code", _("That code is not right. Check that your phone's clock is correct "
                                         "and enter the newest code."))
        status = 422
    return render(request, "core/otp_verify.html", {
        "form": form, "next": next_url, "pending_username": request.user.get_username(),
        "user": AnonymousUser(),  # the page chrome stays that of the login page until the code is in
    }, status=status)


def _otp_form_error(request, form, message):
    form.add_error("code", message)
    return render(request, "core/profile.html", _profile_context(request, otp_form=form), status=422)


@login_required
@require_POST
def otp_setup(request):
    two_factor.otp_setup_start(actor=request.user)
    return redirect(reverse("profile") + "#two-factor")


@login_required
@require_POST
def otp_setup_cancel(request):
    two_factor.otp_setup_cancel(actor=request.user)
    return redirect(reverse("profile") + "#two-factor")


@login_required
@require_POST
def otp_enable(request):
    if two_factor.pending_device(request.user) is None:
        return redirect(reverse("profile") + "#two-factor")
    form = OtpCodeForm(request.POST)
    if not form.is_valid():
        return render(request, "core/profile.html", _profile_context(request, otp_form=form), status=422)
    device = two_factor.otp_enable(actor=request.user, token=form.cleaned_data["code"])
    if device is None:
        return _otp_form_error(request, form, _("That code is not right. Scan the QR code again or check the "
                                                "time on your phone, then enter the newest code."))
    django_otp.login(request, device)  # this session has just proved it holds the device
    messages.success(request, _("Two-factor login is on. You will be asked for a code each time you log in."))
    return redirect(reverse("profile") + "#two-factor")


@login_required
@require_POST
def otp_disable(request):
    if two_factor.confirmed_device(request.user) is None:
        return redirect(reverse("profile") + "#two-factor")
    form = OtpCodeForm(request.POST)
    if not form.is_valid():
        return render(request, "core/profile.html", _profile_context(request, otp_form=form), status=422)
    if not two_factor.otp_disable(actor=request.user, token=form.cleaned_data["code"]):
        return _otp_form_error(request, form, _("That code is not right, so two-factor login stays on."))
    messages.success(request, _("Two-factor login is off."))
    return redirect(reverse("profile") + "#two-factor")


@admin_required
def custom_fields(request):
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            field = form.save()
            audit_log(actor=request.user, action=AuditAction.SETTINGS_CHANGE, obj=field,
                      record_type="core.customfield",
                      data={"operation": "add", "record_type": field.record_type, "name": field.name,
                            "field_type": field.field_type})
        messages.success(request, _("Custom field added."))
        return redirect("custom_fields")
    labels = {rt.key: rt.verbose_name_plural for rt in registry.all_types()}
    fields = [(f, labels.get(f.record_type, f.record_type)) for f in CustomField.objects.all()]
    return render(request, "core/custom_fields.html", {"form": form, "fields": fields})


@admin_required
@require_POST
def custom_field_delete(request, pk):
    field = get_object_or_404(CustomField, pk=pk)
    with transaction.atomic():
        audit_log(actor=request.user, action=AuditAction.SETTINGS_CHANGE, obj=field, record_type="core.customfield",
                  data={"operation": "remove", "record_type": field.record_type, "name": field.name})
        field.delete()
    messages.success(request, _("Custom field removed. Values already stored are kept."))
    return redirect("custom_fields")


@login_required
def palette_search(request):
    """Ctrl+K: companies, contacts, leads and deals by name, phone, email or credit code (restricted like
    every list). Phone and email match exactly, so a record is found without revealing the masked value.
    Tickets by reference (T000123) or subject."""
    from guanxi.framework.redaction import redact_links
    from guanxi.sales.models import Lead, Opportunity
    from guanxi.service.palette import palette_tickets

    q = request.GET.get("q", "").strip()[:100].replace("\x00", "")
    accounts, contacts, leads, deals = [], [], [], []
    if q:
        account_qs = Account.objects.restrict(request.user, "view")
        contact_qs = Contact.objects.restrict(request.user, "view")
        lead_qs = Lead.objects.restrict(request.user, "view")
        deal_qs = Opportunity.objects.restrict(request.user, "view")
        if "@" in q:
            # The filters' own conditions, so that SQLite uses the partial phone/email indexes too.
            account_qs, contact_qs = account_qs.none(), contact_qs.filter(contact_email_q(q.lower()))
            lead_qs, deal_qs = lead_qs.filter(email=q.lower()), deal_qs.none()
        elif looks_like_phone(q):
            number = normalise_phone(q)
            account_qs = account_qs.filter(phone=number)
            contact_qs = contact_qs.filter(contact_phone_q(number))
            lead_qs = lead_qs.filter(Q(mobile=number) | Q(phone=number))
            deal_qs = deal_qs.none()
        else:
            account_qs = account_qs.filter(Q(name__icontains=q) | Q(credit_code=q.upper()))
            contact_qs = contact_qs.filter(name__icontains=q)
            lead_qs = lead_qs.filter(Q(name__icontains=q) | Q(company_name__icontains=q))
            deal_qs = deal_qs.filter(name__icontains=q)
        accounts = list(account_qs.order_by("name", "pk")[:8])
        contacts = list(contact_qs.order_by("name", "pk")[:8])
        leads = list(lead_qs.order_by("-created_at", "-pk")[:5])
        # A deal can be visible while its company is not: that link shows empty rather than its name.
        deals = redact_links(deal_qs.select_related("account", "stage").order_by("-created_at", "-pk")[:5],
                             request.user)
    tickets = palette_tickets(request.user, q) if q else []
    return render(request, "core/_palette_results.html",
                  {"q": q, "accounts": accounts, "contacts": contacts, "leads": leads, "deals": deals,
                   "tickets": tickets})
