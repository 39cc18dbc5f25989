"""Routes of the unified timeline, the quick-log form and the follow-up summary (in the activities namespace)."""

from django.urls import path

from . import timeline_views

urlpatterns = [
    path("timeline/<str:type_key>/<int:pk>/", timeline_views.timeline_items, name="timeline"),
    path("interactions/log/<str:type_key>/<int:pk>/", timeline_views.interaction_quick_log,
         name="interaction_quick_log"),
    path("follow-up/<str:type_key>/<int:pk>/", timeline_views.follow_up_summary, name="follow_up"),
]
