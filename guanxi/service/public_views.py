"""Customer-facing pages (no login)."""

from django.http import Http404

from .ticket_services import ticket_from_token


def status_page(request, token):
    ticket = ticket_from_token(token)
    if ticket is None:
        raise Http404
    raise Http404  # built by the status-page work


def complaint_form(request):
    raise Http404  # built by the intake work
