"""The administrators' Jobs page: queued, running, failed and recent jobs, and retrying a failed one."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.tasks import TaskResultStatus
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from . import jobs
from .decorators import admin_required
from .scheduler import periodic_jobs


@admin_required
def jobs_page(request):
    overview = jobs.jobs_overview()
    sections = [
        (TaskResultStatus.FAILED, pgettext("background job status", "Failed"), "failed"),
        (TaskResultStatus.RUNNING, pgettext("background job status", "Running"), "running"),
        (TaskResultStatus.READY, pgettext("background job status", "Queued"), "queued"),
        (TaskResultStatus.SUCCESSFUL, pgettext("background job status", "Recent successes"), "successful"),
    ]
    return render(request, "core/jobs.html", {
        "overview": overview,
        "sections": [{"status": s, "title": t, "key": k, "jobs": overview.lists[s], "count": overview.counts[s]}
                     for s, t, k in sections],
        "periodic": periodic_jobs(),
        "claim_timeout": settings.TASKS_CLAIM_TIMEOUT,
    })


@admin_required
@require_POST
def job_retry(request, job_id):
    try:
        result = jobs.job_retry(actor=request.user, job_id=job_id)
    except jobs.JobNotRetryable:
        raise Http404
    messages.success(request, _("The job was queued again (new job %(id)s).") % {"id": result.id})
    return redirect("jobs")
