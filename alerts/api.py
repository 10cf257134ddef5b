"""Alert rules (every member reads them, managers change them) and the alerts raised
(every member reads and acknowledges them)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from common.api_errors import ApiProblem, error_responses

from .models import Alert, AlertRule
from .selectors import alert_list, open_alerts, rule_list
from .serializers import AlertRuleSerializer, AlertSerializer
from .services import (
    AlertError,
    alert_acknowledge,
    alert_mail_again,
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
)

CanViewSegments = capability_permission("view_segments")
CanManageRuns = capability_permission("manage_runs")

RULE_EXAMPLE = {
    "id": 3,
    "kind": "segment_size_change",
    "threshold": 20.0,
    "min_customers": None,
    "enabled": True,
    "recipients": "anna@shop.example",
    "description": "A segment grows or shrinks by more than 20%",
    "created_by": "manager",
    "created_at": "2026-11-02T09:00:00Z",
    "updated_at": "2026-11-02T09:00:00Z",
}
ALERT_EXAMPLE = {
    "id": 41,
    "kind": "segment_size_change",
    "message": "Loyal customers shrank by 24% (1,058 → 804 customers) in the run published "
    "on 1 Dec 2026",
    "details": {"segment": 2, "continues": 1, "before": 1058, "after": 804},
    "rule": 3,
    "publication": 17,
    "run": 88,
    "created_at": "2026-12-01T08:00:03Z",
    "mailed_to": "anna@shop.example",
    "mail_error": "",
    "mail_attempts": 1,
    "mail_next_attempt_at": None,
    "acknowledged_at": None,
    "acknowledged_by": None,
}


def _invalid(error: DjangoValidationError) -> serializers.ValidationError:
    """The model's own checks (AlertRule.clean) in the API's error format, by field."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


class _RulePermissions:
    def get_permissions(self):
        needed = CanViewSegments if self.request.method in SAFE_METHODS else CanManageRuns
        return [*super().get_permissions(), needed()]


@extend_schema(tags=["alerts"])
class AlertRuleListCreateApi(_RulePermissions, generics.ListAPIView):
    """GET: the workspace's alert rules. POST: add one (managers)."""

    serializer_class = AlertRuleSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return AlertRule.objects.none()
        return rule_list(workspace=self.request.workspace)

    @extend_schema(
        summary="List alert rules",
        responses={200: AlertRuleSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add an alert rule",
        description="`threshold` (percent, above 0 and at most 1000) is required for "
        "`segment_size_change`, and (above 0, at most 100) for `expected_value_drop`; "
        "`min_customers` for `valuable_to_lapsed`; the other kinds' settings are dropped. "
        "`recipients`: e-mail addresses separated by commas, empty for the workspace's "
        "managers. A setting that is missing or wrong answers 400 naming it "
        'in `fields`, e.g. `{"recipients": ["\'anna@\' is not an e-mail address; ..."]}`.',
        request=AlertRuleSerializer,
        responses={201: AlertRuleSerializer, **error_responses(400, 401, 403)},
        examples=[
            OpenApiExample(
                "Lapsing customers",
                value={"kind": "valuable_to_lapsed", "min_customers": 100},
                request_only=True,
            ),
            OpenApiExample("Rule", value=RULE_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request):
        serializer = AlertRuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rule = alert_rule_create(
                workspace=request.workspace,
                user=request.user,
                request=request,
                **serializer.validated_data,
            )
        except DjangoValidationError as error:
            raise _invalid(error) from error
        return Response(AlertRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["alerts"])
class AlertRuleDetailApi(_RulePermissions, generics.RetrieveAPIView):
    """One alert rule: read it; change or delete it (managers)."""

    serializer_class = AlertRuleSerializer
    lookup_url_kwarg = "rule_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return AlertRule.objects.none()
        return rule_list(workspace=self.request.workspace)

    @extend_schema(
        summary="Get an alert rule",
        responses={200: AlertRuleSerializer, **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Rule", value=RULE_EXAMPLE, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def _update(self, request, *, partial: bool) -> Response:
        rule = self.get_object()
        serializer = AlertRuleSerializer(rule, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            rule = alert_rule_update(
                workspace=request.workspace,
                rule_id=rule.pk,
                user=request.user,
                request=request,
                **serializer.validated_data,
            )
        except DjangoValidationError as error:
            raise _invalid(error) from error
        return Response(AlertRuleSerializer(rule).data)

    @extend_schema(
        summary="Replace an alert rule",
        request=AlertRuleSerializer,
        responses={200: AlertRuleSerializer, **error_responses(400, 401, 403, 404)},
    )
    def put(self, request, rule_id: int):
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change an alert rule",
        description='Send only what changes, e.g. `{"enabled": false}` to disable it.',
        request=AlertRuleSerializer,
        responses={200: AlertRuleSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, rule_id: int):
        return self._update(request, partial=True)

    @extend_schema(
        summary="Delete an alert rule",
        description="The alerts it raised stay, without their rule.",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request, rule_id: int):
        rule = self.get_object()
        alert_rule_delete(
            workspace=request.workspace, rule_id=rule.pk, user=request.user, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["alerts"])
class AlertListApi(generics.ListAPIView):
    """The alerts raised in the workspace, newest first."""

    serializer_class = AlertSerializer

    def get_permissions(self):
        return [*super().get_permissions(), CanViewSegments()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return Alert.objects.none()
        workspace = self.request.workspace
        only_open = self.request.query_params.get("open")
        if only_open not in (None, "true", "false", "1", "0"):
            # A misspelt filter answering every alert would read as "nothing is open".
            raise ApiProblem(
                "open: must be true or false.",
                status=400,
                code="invalid_filter",
                fields={"open": ["Must be true or false."]},
            )
        if only_open in ("1", "true"):
            return open_alerts(workspace=workspace)
        return alert_list(workspace=workspace)

    @extend_schema(
        summary="List alerts",
        parameters=[
            OpenApiParameter(
                "open",
                OpenApiTypes.BOOL,
                description="true: only the alerts no member has acknowledged yet.",
            )
        ],
        responses={200: AlertSerializer(many=True), **error_responses(400, 401, 403)},
        examples=[OpenApiExample("Open alert", value=[ALERT_EXAMPLE], response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["alerts"])
class AlertAcknowledgeApi(APIView):
    """Mark an alert acknowledged by the caller (once: again changes nothing)."""

    def get_permissions(self):
        return [*super().get_permissions(), CanViewSegments()]

    @extend_schema(
        summary="Acknowledge an alert",
        request=None,
        responses={200: AlertSerializer, **error_responses(401, 403, 404)},
    )
    def post(self, request, alert_id: int):
        alert = get_object_or_404(alert_list(workspace=request.workspace), pk=alert_id)
        alert = alert_acknowledge(workspace=request.workspace, alert_id=alert.pk, user=request.user)
        return Response(AlertSerializer(alert).data)


@extend_schema(tags=["alerts"])
class AlertMailAgainApi(APIView):
    """Queue again, now, an alert's e-mail the mail server refused (managers), as the alerts
    page's "Send again"; the alert's mail fields then say how it went."""

    def get_permissions(self):
        return [*super().get_permissions(), CanManageRuns()]

    @extend_schema(
        summary="Send an alert's refused e-mail again",
        description="202 once queued (`mail_error` empty until the worker has tried); 409 "
        "(code `nothing_to_send`) when the e-mail was sent or not refused, or its rule was "
        "deleted.",
        request=None,
        responses={202: AlertSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request, alert_id: int):
        alert = get_object_or_404(alert_list(workspace=request.workspace), pk=alert_id)
        try:
            alert = alert_mail_again(workspace=request.workspace, alert_id=alert.pk)
        except AlertError as error:
            raise ApiProblem(str(error), status=409, code="nothing_to_send") from error
        return Response(AlertSerializer(alert).data, status=status.HTTP_202_ACCEPTED)
