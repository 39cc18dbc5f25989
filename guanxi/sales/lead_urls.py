"""Lead pages: the generic record pages under leads/, the lead commands, the rule settings and the public form."""

from django.urls import include, path

from guanxi.framework.views import record_urls

from . import lead_views, web_form
from .lead_records import LEAD

urlpatterns = [
    path("leads/", include(record_urls(LEAD))),
    path("leads/<int:pk>/convert/", lead_views.lead_convert, name="lead_convert"),
    path("leads/<int:pk>/disqualify/", lead_views.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/requalify/", lead_views.lead_requalify, name="lead_requalify"),
    path("leads/<int:pk>/status/", lead_views.lead_status, name="lead_status"),
    path("sales/settings/scoring/", lead_views.scoring_rules, name="scoring_rules"),
    path("sales/settings/scoring/new/", lead_views.scoring_rule_edit, name="scoring_rule_add"),
    path("sales/settings/scoring/<int:pk>/", lead_views.scoring_rule_edit, name="scoring_rule_edit"),
    path("sales/settings/scoring/<int:pk>/delete/", lead_views.scoring_rule_delete, name="scoring_rule_delete"),
    path("sales/settings/assignment/", lead_views.assignment_rules, name="assignment_rules"),
    path("sales/settings/assignment/new/", lead_views.assignment_rule_edit, name="assignment_rule_add"),
    path("sales/settings/assignment/<int:pk>/", lead_views.assignment_rule_edit, name="assignment_rule_edit"),
    path("sales/settings/assignment/<int:pk>/delete/", lead_views.assignment_rule_delete,
         name="assignment_rule_delete"),
    path("sales/settings/web-form/", lead_views.web_form_embed, name="web_form_embed"),
    path("forms/lead/", web_form.web_form, name="web_form"),
    path("forms/lead/embed.js", web_form.web_form_js, name="web_form_js"),
]
