from django.db.models import Count, Q
from django.shortcuts import render

from guanxi.core.decorators import admin_required
from guanxi.customers.models import Pool

from .models import AssignmentRule, LostReason, Pipeline, Quota, ScoringRule


@admin_required
def sales_settings(request):
    pipelines = Pipeline.objects.annotate(n_stages=Count("stages")).order_by("position", "id")
    counts = {
        "scoring": ScoringRule.objects.filter(is_active=True).count(),
        "assignment": AssignmentRule.objects.filter(is_active=True).count(),
        "lost_reasons": LostReason.objects.filter(is_active=True).count(),
        "quotas": Quota.objects.count(),
        "pools": Pool.objects.filter(Q(is_active=True)).count(),
    }
    return render(request, "sales/settings.html", {"pipelines": pipelines, "counts": counts})
