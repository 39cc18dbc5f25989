from django.urls import path

from . import org_views as views

urlpatterns = [
    path("settings/users/", views.user_list, name="org_user_list"),
    path("settings/users/add/", views.user_add, name="org_user_add"),
    path("settings/users/<int:pk>/", views.user_edit, name="org_user_edit"),
    path("settings/roles/", views.role_list, name="org_role_list"),
    path("settings/roles/add/", views.role_add, name="org_role_add"),
    path("settings/roles/<int:pk>/", views.role_edit, name="org_role_edit"),
    path("settings/roles/<int:pk>/delete/", views.role_delete, name="org_role_delete"),
    path("settings/departments/", views.department_list, name="org_department_list"),
    path("settings/departments/add/", views.department_edit, name="org_department_add"),
    path("settings/departments/<int:pk>/", views.department_edit, name="org_department_edit"),
    path("settings/departments/<int:pk>/delete/", views.department_delete, name="org_department_delete"),
    path("settings/teams/", views.team_list, name="org_team_list"),
    path("settings/teams/add/", views.team_edit, name="org_team_add"),
    path("settings/teams/<int:pk>/", views.team_edit, name="org_team_edit"),
    path("settings/teams/<int:pk>/delete/", views.team_delete, name="org_team_delete"),
    path("settings/access/explain/", views.access_explain, name="org_access_explain"),
    path("share/<str:type_key>/<int:pk>/", views.share_panel, name="share_panel"),
    path("share/<str:type_key>/<int:pk>/<int:share_pk>/remove/", views.share_remove, name="share_remove"),
]
