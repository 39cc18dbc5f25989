"""Pages for customers, without login: the ticket status page (signed link) and the public complaint form."""

from django.urls import path

from . import public_views

app_name = "service_public"
urlpatterns = [
    path("support/t/<str:token>/", public_views.status_page, name="status"),
    path("support/t/<str:token>/files/<int:pk>/", public_views.status_attachment, name="status_attachment"),
    path("forms/complaint/", public_views.complaint_form, name="complaint_form"),
]
