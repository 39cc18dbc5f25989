"""Ticket pages: the generic record pages under tickets/ and the ticket commands."""

from django.urls import include, path

from guanxi.framework.views import record_urls

from .ticket_records import TICKET

urlpatterns = [
    path("tickets/", include(record_urls(TICKET))),
]
