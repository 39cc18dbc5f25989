from django.urls import path

from . import audit_views

urlpatterns = [
    path("audit/", audit_views.audit_log_view, name="audit_log"),
    path("audit/export/", audit_views.audit_export, name="audit_export"),
    path("history/<str:type_key>/<int:pk>/", audit_views.record_history, name="record_history"),
]
