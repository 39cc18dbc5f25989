from django.urls import include, path

from guanxi.framework.views import record_urls

from .records import ACCOUNT, CONTACT, RELATION

app_name = "customers"
urlpatterns = [
    path("companies/", include(record_urls(ACCOUNT))),
    path("contacts/", include(record_urls(CONTACT))),
    path("relations/", include(record_urls(RELATION))),
    path("", include("guanxi.customers.pool_urls")),
]
