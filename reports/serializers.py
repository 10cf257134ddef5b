"""Serializers of the customers API: a customer with their segment in the published run,
explicit fields, all read-only."""

from __future__ import annotations

from rest_framework import serializers

from clustering.models import SegmentAssignment
from customers.models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    """A customer and their segment in the published run (null when not in it)."""

    customer_id = serializers.CharField(source="external_id", read_only=True)
    segment_id = serializers.IntegerField(
        source="published_segment_number", read_only=True, allow_null=True
    )
    segment_name = serializers.CharField(
        source="published_segment_name", read_only=True, allow_null=True
    )

    class Meta:
        model = Customer
        fields = [
            "customer_id",
            "country",
            "first_purchase_at",
            "last_purchase_at",
            "last_seen_at",
            "segment_id",
            "segment_name",
        ]
        read_only_fields = fields


class CurrentSegmentSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    segment_id = serializers.IntegerField(help_text="The segment's number within the run.")
    segment_name = serializers.CharField()
    action = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField()
    rfm_segment = serializers.CharField(allow_blank=True)


class CustomerFeatureValuesSerializer(serializers.Serializer):
    """The features the published run judged the customer on (null where not computed)."""

    recency_days = serializers.FloatField(allow_null=True)
    frequency = serializers.FloatField(allow_null=True)
    monetary_total = serializers.FloatField(allow_null=True)
    tenure_days = serializers.FloatField(allow_null=True)
    avg_basket_value = serializers.FloatField(allow_null=True)
    distinct_products = serializers.FloatField(allow_null=True)
    return_rate = serializers.FloatField(allow_null=True)
    mean_days_between_purchases = serializers.FloatField(allow_null=True)


assert set(CustomerFeatureValuesSerializer().fields) == set(SegmentAssignment.FEATURE_FIELDS)


class SegmentHistoryEntrySerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    run_name = serializers.CharField(allow_blank=True)
    published_at = serializers.DateTimeField()
    is_published = serializers.BooleanField(help_text="True for the current segmentation.")
    segment_id = serializers.IntegerField()
    segment_name = serializers.CharField()
    confidence = serializers.FloatField()


class CustomerDetailSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    country = serializers.CharField(allow_blank=True)
    first_purchase_at = serializers.DateTimeField(
        allow_null=True, help_text="Earliest purchase (not returns or fees); null if none."
    )
    last_purchase_at = serializers.DateTimeField(
        allow_null=True, help_text="Latest purchase (not returns or fees); null if none."
    )
    last_seen_at = serializers.DateTimeField(
        allow_null=True, help_text="Latest transaction line of any kind."
    )
    segment = CurrentSegmentSerializer(
        allow_null=True, help_text="In the published run; null when the run did not include them."
    )
    features = CustomerFeatureValuesSerializer(allow_null=True)
    segment_history = SegmentHistoryEntrySerializer(
        many=True, help_text="The customer's segment in every run ever published, newest first."
    )
