from django.urls import path

from . import views

app_name = "clustering"
urlpatterns = [
    path("worker/ping/", views.worker_ping, name="worker-ping"),
]
