"""View decorators for pages that are not about one record type."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .access import can_read_audit, is_admin


def admin_required(view):
    """Administrators only; anyone else signed in gets 404, so the page's existence does not leak."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_admin(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def auditor_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_read_audit(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped
