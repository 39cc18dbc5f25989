"""Task pages beyond the generic record views (included under tasks/ in the activities namespace)."""

from django.urls import path

from . import task_views

urlpatterns = [
    path("mine/", task_views.my_tasks, name="task_mine"),
    path("team/", task_views.team_tasks, name="task_team"),
    path("<int:pk>/complete/", task_views.task_complete_view, name="task_complete"),
    path("<int:pk>/reopen/", task_views.task_reopen_view, name="task_reopen"),
    path("card/<str:kind>/<int:pk>/", task_views.task_card, name="task_card"),
]
