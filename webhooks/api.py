"""Webhook endpoints over the API: list and register, one endpoint (with its secret),
changing what it receives or whether it is enabled, deleting it, its deliveries with each
attempt, and sending a delivery again. Managers only (manage_runs), as on the pages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from clustering.signals import AlertKind
from common.api_errors import ApiProblem, error_responses
from common.api_strict import StrictBooleanField, StrictCharField

from .addresses import AddressRefused, FormatRefused
from .models import SUBSCRIBABLE, Delivery, DeliveryAttempt, Endpoint, Format
from .selectors import delivery_list, endpoint_get, endpoint_list
from .services import (
    WebhookError,
    delivery_redeliver,
    endpoint_create,
    endpoint_delete,
    endpoint_edit,
    endpoint_set_enabled,
    endpoint_set_events,
)

CanManageWebhooks = capability_permission("manage_runs")

ENDPOINT_EXAMPLE = {
    "id": 3,
    "url": "https://hooks.example.com/segments",
    "description": "CRM sync",
    "enabled": True,
    "events": ["segmentation.published", "alert.raised"],
    "alert_kinds": [],
    "format": "json",
    "created_at": "2024-03-02T10:00:00Z",
    "created_by": "maria",
    "secret": "whsec_5q1Hk2m0n-QbW8sYc3XkQv7yE1rT9uLpZ0aB4cD6eF8",
}
DELIVERY_EXAMPLE = {
    "id": 41,
    "endpoint": 3,
    "event": "segmentation.published",
    "publication": 12,
    "idempotency_key": "6f1c2a9e-3b7d-4f0e-9a51-2d8c7e4b1a90",
    "status": "succeeded",
    "attempts": 2,
    "next_attempt_at": None,
    "created_at": "2024-03-02T10:00:01Z",
    "delivered_at": "2024-03-02T10:00:33Z",
    "attempt_log": [
        {
            "at": "2024-03-02T10:00:33Z",
            "status_code": 200,
            "error": "",
            "duration_ms": 84,
            "response_excerpt": "ok",
        },
        {
            "at": "2024-03-02T10:00:02Z",
            "status_code": 503,
            "error": "",
            "duration_ms": 120,
            "response_excerpt": "busy",
        },
    ],
}


class EndpointSerializer(serializers.ModelSerializer):
    created_by: serializers.Field = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "enabled",
            "events",
            "alert_kinds",
            "format",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields


class EndpointDetailSerializer(EndpointSerializer):
    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


def _events_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE),
        allow_empty=False,
        max_length=len(SUBSCRIBABLE),
        required=False,
        help_text="What the endpoint receives (default: every event).",
    )


def _alert_kinds_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=AlertKind.choices),
        max_length=len(AlertKind.choices),
        required=False,
        help_text="Of alerts, the kinds the endpoint receives (default, or [], every kind, "
        "those added later too); only with alert.raised among its events.",
    )


class EndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    enabled = StrictBooleanField(required=False, default=True)
    events = _events_field()
    alert_kinds = _alert_kinds_field()
    format = serializers.ChoiceField(choices=Format.choices, required=False, default=Format.JSON)


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    enabled = StrictBooleanField(required=False)
    events = _events_field()
    alert_kinds = _alert_kinds_field()
    format = serializers.ChoiceField(choices=Format.choices, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                "Send url, description, format, enabled, events or alert_kinds."
            )
        return attrs


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["at", "status_code", "error", "duration_ms", "response_excerpt"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "event",
            "publication",
            "idempotency_key",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "attempt_log",
        ]
        read_only_fields = fields


def _endpoint_or_404(workspace, endpoint_id: int) -> Endpoint:
    endpoint = endpoint_get(workspace=workspace, endpoint_id=endpoint_id)
    if endpoint is None:
        raise ApiProblem("No webhook endpoint with this id.", status=404, code="not_found")
    return endpoint


class _WebhookApi:
    """Manager only; schema generation sees no workspace."""

    def get_permissions(self):
        return [*super().get_permissions(), CanManageWebhooks()]


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    get=extend_schema(
        summary="List webhook endpoints",
        responses={200: EndpointSerializer(many=True), **error_responses(401, 403)},
    )
)
class EndpointListCreateApi(_WebhookApi, generics.ListAPIView):
    """GET: the workspace's webhook endpoints. POST: register one."""

    serializer_class = EndpointSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return Endpoint.objects.none()
        return endpoint_list(workspace=self.request.workspace).select_related("created_by")

    @extend_schema(
        summary="Register a webhook endpoint",
        description="The address must be http(s) and resolve only to public internet "
        "addresses; otherwise 400 with the reason in `fields.url`. The answer carries the "
        "signing secret (docs/webhooks.md says how to check a signature).",
        request=EndpointCreateSerializer,
        responses={201: EndpointDetailSerializer, **error_responses(400, 401, 403)},
        examples=[
            OpenApiExample(
                "Register",
                value={"url": "https://hooks.example.com/segments", "description": "CRM sync"},
                request_only=True,
            ),
            OpenApiExample(
                "Registered", value=ENDPOINT_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request):
        serializer = EndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = endpoint_create(
                workspace=request.workspace,
                user=request.user,
                request=request,
                **serializer.validated_data,
            )
        except AddressRefused as error:
            field = "format" if isinstance(error, FormatRefused) else "url"
            raise serializers.ValidationError({field: [str(error)]}) from error
        except ValidationError as error:
            raise serializers.ValidationError({"alert_kinds": error.messages}) from error
        return Response(EndpointDetailSerializer(endpoint).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["webhooks"])
class EndpointDetailApi(_WebhookApi, APIView):
    """One webhook endpoint, with its signing secret; PATCH changes its address,
    description, what it receives or whether it is enabled; DELETE removes it and its log."""

    @extend_schema(
        summary="Get a webhook endpoint",
        responses={200: EndpointDetailSerializer, **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    )
    def get(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request.workspace, endpoint_id)
        return Response(EndpointDetailSerializer(endpoint).data)

    @extend_schema(
        summary="Change a webhook endpoint: its address, description, events, or whether it "
        "is enabled",
        description="Send what changes; the rest stays, and all of it changes or nothing "
        "does. A new `url` is checked as at registration, and enabling checks the address "
        "again (400 in `fields.url` when it points inside the network). The secret and the "
        "delivery log stay; deliveries not yet sent go to the new address.",
        request=EndpointUpdateSerializer,
        responses={200: EndpointDetailSerializer, **error_responses(400, 401, 403, 404)},
        examples=[
            OpenApiExample("Alerts only", value={"events": ["alert.raised"]}, request_only=True)
        ],
    )
    def patch(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request.workspace, endpoint_id)
        serializer = EndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        mine = {"workspace": request.workspace, "endpoint_id": endpoint.pk, "user": request.user}
        try:
            with transaction.atomic():  # both changes or neither
                if changes.keys() & {"url", "description", "format"}:
                    endpoint = endpoint_edit(
                        **mine,
                        url=changes.get("url"),
                        description=changes.get("description"),
                        format=changes.get("format"),
                        request=request,
                    )
                if changes.keys() & {"events", "alert_kinds"}:
                    endpoint = endpoint_set_events(
                        **mine,
                        events=changes.get("events"),
                        alert_kinds=changes.get("alert_kinds"),
                        request=request,
                    )
                if "enabled" in changes:
                    endpoint = endpoint_set_enabled(
                        **mine, enabled=changes["enabled"], request=request
                    )
        except AddressRefused as error:
            field = "format" if isinstance(error, FormatRefused) else "url"
            raise serializers.ValidationError({field: [str(error)]}) from error
        except ValidationError as error:
            raise serializers.ValidationError({"alert_kinds": error.messages}) from error
        return Response(EndpointDetailSerializer(endpoint).data)

    @extend_schema(
        summary="Delete a webhook endpoint",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request.workspace, endpoint_id)
        endpoint_delete(
            workspace=request.workspace, endpoint_id=endpoint.pk, user=request.user, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["webhooks"])
class EndpointDeliveriesApi(_WebhookApi, generics.ListAPIView):
    """The endpoint's deliveries, newest first, each with its attempts."""

    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Deliveries of a webhook endpoint",
        responses={200: DeliverySerializer(many=True), **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Deliveries", value=[DELIVERY_EXAMPLE], response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return Delivery.objects.none()
        endpoint = _endpoint_or_404(self.request.workspace, self.kwargs["endpoint_id"])
        return delivery_list(workspace=self.request.workspace, endpoint=endpoint)


@extend_schema(tags=["webhooks"])
class DeliveryRedeliverApi(_WebhookApi, APIView):
    """Send a delivery again: the same body and idempotency key, a fresh round of retries."""

    @extend_schema(
        summary="Send a delivery again",
        request=None,
        responses={
            202: DeliverySerializer,
            **error_responses(401, 403, 404, 409, d409="The delivery is being sent right now."),
        },
    )
    def post(self, request, delivery_id: int):
        workspace = request.workspace
        if not Delivery.objects.in_workspace(workspace).filter(pk=delivery_id).exists():
            raise ApiProblem("No webhook delivery with this id.", status=404, code="not_found")
        try:
            delivery_redeliver(workspace=workspace, delivery_id=delivery_id, user=request.user)
        except WebhookError as error:
            raise ApiProblem(str(error), status=409, code="delivery_state") from error
        delivery = delivery_list(workspace=workspace).get(pk=delivery_id)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
