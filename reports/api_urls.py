from django.urls import path

from . import api, movement_api

urlpatterns = [
    path("customers/", api.CustomerListApi.as_view(), name="api-customers"),
    # before the customer's own path, which would read "erase-contact" as a customer id
    path(
        "customers/erase-contact/",
        api.CustomersContactEraseApi.as_view(),
        name="api-customers-erase-contact",
    ),
    path("customers/<str:customer_id>/", api.CustomerDetailApi.as_view(), name="api-customer"),
    path(
        "customers/<str:customer_id>/erase-contact/",
        api.CustomerContactEraseApi.as_view(),
        name="api-customer-erase-contact",
    ),
    path("movements/", movement_api.LatestMovementsApi.as_view(), name="api-movements"),
    path(
        "movements/<int:publication_id>/",
        movement_api.MovementsApi.as_view(),
        name="api-movements-detail",
    ),
]
