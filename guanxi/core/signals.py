"""Infrastructure signal handlers only (ARCHITECTURE.md §3.4): login and lockout audit rows, default roles."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from .choices import AuditAction, AuditOutcome


def on_login(sender, request, user, **kwargs):
    from .audit import audit_log

    audit_log(actor=user, action=AuditAction.LOGIN, label=user.get_username())


def on_logout(sender, request, user, **kwargs):
    from .audit import audit_log

    if user is not None:
        audit_log(actor=user, action=AuditAction.LOGOUT, label=user.get_username())


def on_login_failed(sender, credentials, request=None, **kwargs):
    from .audit import audit_log

    # Only the user name is kept: never the password that was tried.
    username = str((credentials or {}).get("username", ""))[:150]
    data = {"username": username}
    # Refused by the lockout before the password was checked (axes counted no new failure for it).
    if getattr(request, "axes_locked_out", False) and getattr(request, "axes_failures_since_start", None) is None:
        data["locked_out"] = True
    audit_log(actor=None, action=AuditAction.LOGIN_FAILED, outcome=AuditOutcome.FAILURE, label=username,
              data=data)


def on_locked_out(sender, request, username, ip_address, **kwargs):
    """One LOCKOUT row per lockout (django-axes' user_locked_out).

    axes also sends the signal for each attempt refused during a lockout; only the failure that
    reached the limit has `axes_failures_since_start` set, so the others (already audited as
    LOGIN_FAILED with locked_out) are skipped here.
    """
    from django.conf import settings

    from .audit import audit_log

    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    cool_off = settings.AXES_COOLOFF_TIME
    username = str(username or "")[:150]
    audit_log(actor=None, action=AuditAction.LOCKOUT, outcome=AuditOutcome.DENIED, label=username, data={
        "username": username, "failures": failures,
        "cooloff_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    })


def create_default_roles(sender, **kwargs):
    from .roles import ensure_default_roles

    ensure_default_roles()


def connect():
    from axes.signals import user_locked_out

    user_logged_in.connect(on_login, dispatch_uid="guanxi_audit_login")
    user_logged_out.connect(on_logout, dispatch_uid="guanxi_audit_logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="guanxi_audit_login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="guanxi_audit_lockout")
