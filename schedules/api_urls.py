from django.urls import path

from .api import ScheduleApi

urlpatterns = [path("schedule/", ScheduleApi.as_view(), name="api-schedule")]
