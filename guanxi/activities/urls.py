from django.urls import include, path

from guanxi.framework.views import record_urls

from .records import INTERACTION, TASK

app_name = "activities"
urlpatterns = [
    path("", include("guanxi.activities.timeline_urls")),
    path("interactions/", include(record_urls(INTERACTION))),
    path("tasks/", include("guanxi.activities.task_urls")),
    path("tasks/", include(record_urls(TASK))),
]
