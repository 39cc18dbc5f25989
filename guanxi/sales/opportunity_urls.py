from django.urls import include, path

from guanxi.framework.views import record_urls

from . import opportunity_views as views
from .opportunity_records import OPPORTUNITY

urlpatterns = [
    path("opportunities/", include(record_urls(OPPORTUNITY))),
    path("opportunities/<int:pk>/<slug:command>/", views.opportunity_command, name="opportunity_command"),
    path("sales/board/", views.board, name="board_default"),
    path("sales/pipelines/<int:pk>/board/", views.board, name="board"),
    path("sales/pipelines/<int:pk>/board/stages/<int:stage_pk>/cards/", views.board_column, name="board_column"),
    path("sales/pipelines/<int:pk>/board/stages/<int:stage_pk>/new/", views.board_quick_create,
         name="board_quick_create"),
    path("sales/pipelines/<int:pk>/board/views/", views.board_view_save, name="board_view_save"),
    path("sales/settings/pipelines/", views.pipeline_list, name="pipeline_list"),
    path("sales/settings/pipelines/new/", views.pipeline_edit, name="pipeline_add"),
    path("sales/settings/pipelines/<int:pk>/", views.pipeline_edit, name="pipeline_edit"),
    path("sales/settings/pipelines/<int:pk>/stages/new/", views.stage_edit, name="stage_add"),
    path("sales/settings/pipelines/<int:pk>/stages/<int:stage_pk>/", views.stage_edit, name="stage_edit"),
    path("sales/settings/pipelines/<int:pk>/stages/<int:stage_pk>/delete/", views.stage_delete, name="stage_delete"),
    path("sales/settings/pipelines/<int:pk>/stages/<int:stage_pk>/<slug:direction>/", views.stage_move,
         name="stage_move"),
    path("sales/settings/lost-reasons/new/", views.lost_reason_edit, name="lost_reason_add"),
    path("sales/settings/lost-reasons/<int:pk>/", views.lost_reason_edit, name="lost_reason_edit"),
    path("sales/settings/lost-reasons/<int:pk>/delete/", views.lost_reason_delete, name="lost_reason_delete"),
]
