"""Customer pool (公海) pages, in the "customers" namespace."""

from django.urls import path

from . import pool_views as views

urlpatterns = [
    path("pools/", views.pool_list, name="pool_list"),
    path("pools/add/", views.pool_add, name="pool_add"),
    path("pools/<int:pk>/", views.pool_detail, name="pool_detail"),
    path("pools/<int:pk>/edit/", views.pool_edit, name="pool_edit"),
    path("pools/claim/<str:record_type>/<int:pk>/", views.pool_claim, name="pool_claim"),
    path("pools/return/<str:record_type>/<int:pk>/", views.pool_return, name="pool_return"),
    path("pools/put/<str:record_type>/<int:pk>/", views.pool_put, name="pool_put"),
]
