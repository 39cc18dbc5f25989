from django.contrib.auth import views as auth_views
from django.urls import path

from guanxi.framework import views as generic

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.otp_verify, name="otp_verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("profile/two-factor/setup/", views.otp_setup, name="otp_setup"),
    path("profile/two-factor/cancel/", views.otp_setup_cancel, name="otp_setup_cancel"),
    path("profile/two-factor/enable/", views.otp_enable, name="otp_enable"),
    path("profile/two-factor/disable/", views.otp_disable, name="otp_disable"),
    path("settings/custom-fields/", views.custom_fields, name="custom_fields"),
    path("settings/custom-fields/<int:pk>/delete/", views.custom_field_delete, name="custom_field_delete"),
    path("search/", views.palette_search, name="palette_search"),
    path("healthz", views.healthz, name="healthz"),
    path("trash/", generic.trash, name="trash"),
    path("trash/<str:type_key>/<int:pk>/restore/", generic.trash_restore, name="trash_restore"),
    path("trash/<str:type_key>/<int:pk>/purge/", generic.trash_purge, name="trash_purge"),
    path("autocomplete/<str:type_key>/", generic.autocomplete, name="autocomplete"),
    path("reveal/<str:type_key>/<int:pk>/<str:field>/", generic.reveal, name="reveal"),
    path("views/<str:type_key>/", generic.saved_view_create, name="saved_view_create"),
    path("views/<str:type_key>/<int:view_pk>/delete/", generic.saved_view_delete, name="saved_view_delete"),
]
