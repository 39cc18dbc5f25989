"""Service settings (administrators): /service/settings/ and the configuration pages it links to."""

from django.urls import path

from . import settings_views as views

urlpatterns = [
    path("service/settings/", views.service_settings, name="settings"),
    *views.categories.urls(),
    *views.rules.urls(),
    *views.sla_policies.urls(),
    *views.calendars.urls(),
    path("service/settings/calendars/<int:pk>/days/", views.calendar_days, name="calendar_days"),
    path("service/settings/calendars/<int:pk>/days/add/", views.calendar_day_edit, name="calendar_day_add"),
    path("service/settings/calendars/<int:pk>/days/paste/", views.calendar_days_paste, name="calendar_days_paste"),
    path("service/settings/calendars/<int:pk>/days/<int:day_pk>/", views.calendar_day_edit,
         name="calendar_day_edit"),
    path("service/settings/calendars/<int:pk>/days/<int:day_pk>/delete/", views.calendar_day_delete,
         name="calendar_day_delete"),
]
