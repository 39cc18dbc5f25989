from django.urls import include, path

app_name = "sales"
# Each module holds one area's pages; the record-type CRUD pages come from framework.views.record_urls.
urlpatterns = [
    path("", include("guanxi.sales.lead_urls")),
    path("", include("guanxi.sales.opportunity_urls")),
    path("", include("guanxi.sales.analytics_urls")),
    path("", include("guanxi.sales.settings_urls")),
]
