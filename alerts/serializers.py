"""The API's view of alert rules and alerts."""

from __future__ import annotations

from rest_framework import serializers

from common.api_strict import StrictModelSerializer

from .models import Alert, AlertRule


class AlertRuleSerializer(StrictModelSerializer):
    description = serializers.CharField(read_only=True, help_text="The rule in words.")
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "kind",
            "threshold",
            "min_customers",
            "enabled",
            "recipients",
            "description",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "description", "created_by", "created_at", "updated_at"]


class AlertSerializer(serializers.ModelSerializer):
    acknowledged_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "message",
            "details",
            "rule",
            "publication",
            "run",
            "created_at",
            "mailed_to",
            "mail_error",
            "mail_attempts",
            "mail_next_attempt_at",
            "acknowledged_at",
            "acknowledged_by",
        ]
        read_only_fields = fields
