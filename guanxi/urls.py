from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from .api import api

admin.site.site_header = "Guanxi"
# The Django admin is a superuser tool; everyone else works in the product UI.
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("guanxi.customers.urls")),
    path("", include("guanxi.activities.urls")),
    path("", include("guanxi.sales.urls")),
    path("", include("guanxi.service.urls")),
    path("", include("guanxi.service.public_urls")),
    path("", include("guanxi.integrations.urls")),
    path("", include("guanxi.activities.calendar_urls")),
    path("", include("guanxi.core.urls")),
    path("", include("guanxi.core.notification_urls")),
    path("", include("guanxi.core.audit_urls")),
    path("", include("guanxi.core.org_urls")),
    path("", include("guanxi.core.job_urls")),
]
