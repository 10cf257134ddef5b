from django.urls import path

from . import api

urlpatterns = [
    path("system/worker/", api.WorkerStatusApi.as_view(), name="api-worker"),
]
