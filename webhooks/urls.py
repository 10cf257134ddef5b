from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list_view, name="endpoint-list"),
    path("<int:endpoint_id>/", views.endpoint_detail, name="endpoint-detail"),
    path("<int:endpoint_id>/test/", views.endpoint_test, name="endpoint-test"),
    path("<int:endpoint_id>/enable/", views.endpoint_enable, name="endpoint-enable"),
    path("<int:endpoint_id>/events/", views.endpoint_events, name="endpoint-events"),
    path("<int:endpoint_id>/edit/", views.endpoint_edit_view, name="endpoint-edit"),
    path("<int:endpoint_id>/rotate/", views.endpoint_rotate, name="endpoint-rotate"),
    path("<int:endpoint_id>/delete/", views.endpoint_delete_view, name="endpoint-delete"),
    path(
        "deliveries/<int:delivery_id>/redeliver/",
        views.delivery_redeliver_view,
        name="delivery-redeliver",
    ),
]
