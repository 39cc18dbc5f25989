from django.urls import path

from . import calendar_views as views

app_name = "calendar"
urlpatterns = [
    path("calendar/", views.calendar_page, name="page"),
    path("calendar/events/", views.calendar_events, name="events"),
    path("calendar/events/<str:kind>/<str:pk>/move/", views.calendar_move, name="move"),
    path("calendar/feed/token/", views.feed_token_create, name="feed_token_create"),
    path("calendar/feed/token/<int:pk>/revoke/", views.feed_token_revoke, name="feed_token_revoke"),
    path("calendar/feed/<str:token>.ics", views.feed, name="feed"),
]
