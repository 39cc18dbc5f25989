"""The sales settings index: one page linking every sales configuration page (administrators)."""

from django.urls import path

from . import settings_views

urlpatterns = [
    path("sales/settings/", settings_views.sales_settings, name="settings"),
]
