"""The complaint analytics page (namespace "service")."""

from django.urls import path

from . import analytics_views as views

urlpatterns = [
    path("service/analytics/", views.analytics_view, name="analytics"),
]
