from django.urls import path

from . import views

app_name = "integrations"
urlpatterns = [
    path("email/compose/", views.email_compose, name="email_compose"),
    path("settings/email-templates/", views.email_template_list, name="email_template_list"),
    path("settings/email-templates/add/", views.email_template_edit, name="email_template_add"),
    path("settings/email-templates/<int:pk>/", views.email_template_edit, name="email_template_edit"),
    path("settings/email-templates/<int:pk>/delete/", views.email_template_delete, name="email_template_delete"),
    path("settings/mailboxes/", views.mailbox_list, name="mailbox_list"),
    path("settings/mailboxes/add/", views.mailbox_edit, name="mailbox_add"),
    path("settings/mailboxes/<int:pk>/", views.mailbox_edit, name="mailbox_edit"),
    path("settings/mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("settings/mailboxes/<int:pk>/sync/", views.mailbox_sync_now, name="mailbox_sync"),
]
