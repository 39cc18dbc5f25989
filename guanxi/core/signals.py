"""Infrastructure signal handlers only (ARCHITECTURE.md §3.4): login audit rows and default roles."""

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
    audit_log(actor=None, action=AuditAction.LOGIN_FAILED, outcome=AuditOutcome.FAILURE, label=username,
              data={"username": username})


def create_default_roles(sender, **kwargs):
    from .roles import ensure_default_roles

    ensure_default_roles()


def connect():
    user_logged_in.connect(on_login, dispatch_uid="guanxi_audit_login")
    user_logged_out.connect(on_logout, dispatch_uid="guanxi_audit_logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="guanxi_audit_login_failed")
