from django.urls import include, path

app_name = "service"
# Each module holds one area's pages; the ticket CRUD pages come from framework.views.record_urls.
urlpatterns = [
    path("", include("guanxi.service.ticket_urls")),
    path("", include("guanxi.service.settings_urls")),
    path("", include("guanxi.service.analytics_urls")),
]
