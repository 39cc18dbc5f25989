"""Funnel, forecast and quota pages (namespace "sales")."""

from django.urls import path

from . import analytics_views as views

urlpatterns = [
    path("sales/funnel/", views.funnel_view, name="funnel"),
    path("sales/funnel/deals/", views.funnel_deals_view, name="funnel_deals"),
    path("sales/forecast/", views.forecast_view, name="forecast"),
    path("sales/quotas/", views.quota_list, name="quota_list"),
    path("sales/quotas/add/", views.quota_add, name="quota_add"),
    path("sales/quotas/team/", views.quota_bulk, name="quota_bulk"),
    path("sales/quotas/<int:pk>/edit/", views.quota_edit, name="quota_edit"),
    path("sales/quotas/<int:pk>/delete/", views.quota_delete, name="quota_delete"),
]
