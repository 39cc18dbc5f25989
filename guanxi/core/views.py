from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.db import connection
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.customers.models import Account, Contact
from guanxi.customers.selectors import home_summary
from guanxi.framework import registry
from guanxi.framework.fields import looks_like_phone, normalise_phone

from .forms import CustomFieldForm, ProfileForm, TokenForm
from .models import ApiToken, CustomField


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


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        translation.activate(user.language)
        messages.success(request, _("Profile saved."))
        response = redirect("profile")
        return response
    tokens = request.user.api_tokens.all()
    return render(request, "core/profile.html", {"form": form, "tokens": tokens, "token_form": TokenForm()})


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid() or "\x00" in form.data.get("name", ""):
        messages.error(request, _("Give the token a name."))
        return redirect("profile")
    token, raw = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
    tokens = request.user.api_tokens.all()
    return render(request, "core/profile.html", {
        "form": ProfileForm(instance=request.user), "tokens": tokens, "token_form": TokenForm(), "new_token": raw,
    })


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(request.user.api_tokens.filter(revoked_at__isnull=True), pk=pk)
    token.revoke()
    messages.success(request, _("Token revoked."))
    return redirect("profile")


@user_passes_test(lambda u: u.is_active and u.is_superuser, login_url="/login/")
def custom_fields(request):
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Custom field added."))
        return redirect("custom_fields")
    labels = {rt.key: rt.verbose_name_plural for rt in registry.all_types()}
    fields = [(f, labels.get(f.record_type, f.record_type)) for f in CustomField.objects.all()]
    return render(request, "core/custom_fields.html", {"form": form, "fields": fields})


@user_passes_test(lambda u: u.is_active and u.is_superuser, login_url="/login/")
@require_POST
def custom_field_delete(request, pk):
    get_object_or_404(CustomField, pk=pk).delete()
    messages.success(request, _("Custom field removed. Values already stored are kept."))
    return redirect("custom_fields")


@login_required
def palette_search(request):
    """Ctrl+K: companies and contacts by name, phone, email or credit code (restricted like every list)."""
    q = request.GET.get("q", "").strip()[:100].replace("\x00", "")
    accounts, contacts = [], []
    if q:
        account_qs = Account.objects.restrict(request.user, "view")
        contact_qs = Contact.objects.restrict(request.user, "view")
        if "@" in q:
            account_qs, contact_qs = account_qs.none(), contact_qs.filter(email=q.lower())
        elif looks_like_phone(q):
            number = normalise_phone(q)
            account_qs = account_qs.filter(phone=number)
            contact_qs = contact_qs.filter(Q(mobile=number) | Q(phone=number))
        else:
            account_qs = account_qs.filter(Q(name__icontains=q) | Q(credit_code=q.upper()))
            contact_qs = contact_qs.filter(name__icontains=q)
        accounts = list(account_qs.order_by("name", "pk")[:8])
        contacts = list(contact_qs.order_by("name", "pk")[:8])
    return render(request, "core/_palette_results.html", {"q": q, "accounts": accounts, "contacts": contacts})
