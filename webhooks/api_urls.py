from django.urls import path

from . import api

urlpatterns = [
    path("webhooks/", api.EndpointListCreateApi.as_view(), name="api-webhooks"),
    path(
        "webhooks/<int:endpoint_id>/",
        api.EndpointDetailApi.as_view(),
        name="api-webhook-detail",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        api.EndpointDeliveriesApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/deliveries/<int:delivery_id>/redeliver/",
        api.DeliveryRedeliverApi.as_view(),
        name="api-webhook-redeliver",
    ),
]
