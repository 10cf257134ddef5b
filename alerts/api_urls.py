from django.urls import path

from . import api

urlpatterns = [
    path("alert-rules/", api.AlertRuleListCreateApi.as_view(), name="api-alert-rules"),
    path(
        "alert-rules/<int:rule_id>/",
        api.AlertRuleDetailApi.as_view(),
        name="api-alert-rule-detail",
    ),
    path("alerts/", api.AlertListApi.as_view(), name="api-alerts"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        api.AlertAcknowledgeApi.as_view(),
        name="api-alert-acknowledge",
    ),
    path(
        "alerts/<int:alert_id>/mail-again/",
        api.AlertMailAgainApi.as_view(),
        name="api-alert-mail-again",
    ),
]
