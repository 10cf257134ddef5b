from django.urls import path

from . import api

urlpatterns = [
    path("customers/", api.CustomerListApi.as_view(), name="api-customers"),
    path("customers/<str:customer_id>/", api.CustomerDetailApi.as_view(), name="api-customer"),
]
