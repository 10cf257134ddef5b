from django.urls import path

from . import api_customers as api

urlpatterns = [
    path("customers/", api.CustomerListApi.as_view(), name="api-customers"),
    path("customers/<str:customer_id>/", api.CustomerDetailApi.as_view(), name="api-customer"),
    path("transactions/", api.TransactionListCreateApi.as_view(), name="api-transactions"),
]
