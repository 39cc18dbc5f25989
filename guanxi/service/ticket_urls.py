"""Ticket pages: the generic record pages under tickets/ and the ticket commands."""

from django.urls import include, path

from guanxi.framework.views import record_urls

from . import ticket_views as views
from .ticket_records import TICKET

urlpatterns = [
    path("tickets/", include(record_urls(TICKET))),
    path("tickets/<int:pk>/take/", views.ticket_take, name="ticket_take"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/note/", views.ticket_note, name="ticket_note"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:pk>/escalate/", views.ticket_escalate, name="ticket_escalate"),
    path("tickets/<int:pk>/link/revoke/", views.ticket_link_revoke, name="ticket_link_revoke"),
    path("tickets/<int:pk>/link/renew/", views.ticket_link_renew, name="ticket_link_renew"),
    path("tickets/<int:pk>/attachments/<int:attachment_pk>/", views.ticket_attachment, name="ticket_attachment"),
]
