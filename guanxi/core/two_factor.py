"""Optional TOTP two-factor login on top of django-otp: enabling, disabling, and the verify step.

A user with a confirmed TOTP device who has only passed the password step is "unverified": the
middleware below sends every page to the verify step (and answers 401 on the API) until a code is
accepted. Codes are rate limited twice: the device's own exponential throttle (django-otp, stored on
the device, reset only by a correct code, so logging in again with the password does not reset it),
and each wrong code at the login step counts as a failed login for the django-axes lockout.
"""

import base64

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit_log
from .choices import AuditAction, AuditOutcome

DEVICE_NAME = "authenticator"


def confirmed_device(user):
    """The user's active TOTP device, or None when two-factor login is off."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_device(user):
    """The device being set up (secret shown, not yet confirmed with a code), or None."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def otp_setup_start(*, actor):
    """Create (or keep) the unconfirmed device whose secret the user scans; nothing is enforced yet.

    Reusing the pending device keeps an already scanned QR code valid when the page is reloaded.
    """
    if confirmed_device(actor) is not None:
        return None
    return pending_device(actor) or TOTPDevice.objects.create(user=actor, name=DEVICE_NAME, confirmed=False)


def otp_setup_cancel(*, actor):
    TOTPDevice.objects.filter(user=actor, confirmed=False).delete()


def otp_enable(*, actor, token):
    """Confirm the pending device with a current code: two-factor login is on from now. Returns the device or None.

    The code check commits the throttle counter on its own (django-otp), so it runs before the
    transaction that flips the device and writes the audit row.
    """
    device = pending_device(actor)
    if device is None or not device.verify_token(token):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        audit_log(actor=actor, action=AuditAction.OTP_CHANGE, label=actor.get_username(),
                  record_type="core.user", record_id=actor.pk, data={"change": "enable"})
    return device


def otp_disable(*, actor, token):
    """Turn two-factor login off; needs a current code from the device. Returns True when done.

    A wrong code is audited too (outcome failure): someone holding a session but not the phone
    trying to switch the second factor off is worth seeing.
    """
    device = confirmed_device(actor)
    if device is None:
        return False
    if not device.verify_token(token):
        audit_log(actor=actor, action=AuditAction.OTP_CHANGE, outcome=AuditOutcome.FAILURE,
                  label=actor.get_username(), record_type="core.user", record_id=actor.pk,
                  data={"change": "disable"})
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).delete()
        audit_log(actor=actor, action=AuditAction.OTP_CHANGE, label=actor.get_username(),
                  record_type="core.user", record_id=actor.pk, data={"change": "disable"})
    return True


def throttle_wait_seconds(device):
    """Seconds until the device accepts another code after repeated wrong ones (0 when it accepts now)."""
    from django.utils import timezone

    allowed, details = device.verify_is_allowed()
    if allowed or not details or not details.get("locked_until"):
        return 0
    return max(1, int((details["locked_until"] - timezone.now()).total_seconds() + 0.999))


def secret_base32(device):
    """The secret as authenticator apps expect it for manual entry, in groups of four."""
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def qr_svg(device):
    """The otpauth:// URL as an inline SVG QR code (rendered here: no image service, no CDN)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _exempt_paths():
    return (reverse("otp_verify"), reverse("logout"), reverse("set_language"), reverse("javascript-catalog"),
            reverse("healthz"))


class TwoFactorRequiredMiddleware:
    """Until a user with two-factor login has entered a code, every page leads to the verify step.

    Runs after django-otp's OTPMiddleware (request.user.is_verified). One indexed query per request
    for users without a verified device, so that enabling 2FA also applies to sessions already open.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not user.is_verified()
                and not request.path_info.startswith(("/static/", "/media/"))
                and request.path_info not in _exempt_paths() and user_has_device(user)):
            if request.path_info.startswith("/api/"):
                if "HTTP_AUTHORIZATION" not in request.META:
                    return JsonResponse({"code": "otp_required",
                                         "detail": _("Enter your two-factor code to finish logging in.")},
                                        status=401)
                # A bearer token stands on its own; the half-signed-in session must not be its fallback.
                request.user = AnonymousUser()
            else:
                url = reverse("otp_verify")
                if request.method == "GET":
                    url += "?" + urlencode({"next": request.get_full_path()})
                return redirect(url)
        return self.get_response(request)
