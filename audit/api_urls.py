from django.urls import path

from . import api

urlpatterns = [
    path("audit/", api.AuditEntryListApi.as_view(), name="api-audit-list"),
]
