from django.urls import path

from . import jobs_views

urlpatterns = [
    path("settings/jobs/", jobs_views.jobs_page, name="jobs"),
    path("settings/jobs/<str:job_id>/retry/", jobs_views.job_retry, name="job_retry"),
]
