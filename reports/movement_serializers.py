"""Serializers of the movements API: read-only, explicit fields."""

from __future__ import annotations

from rest_framework import serializers


class PublicationRefSerializer(serializers.Serializer):
    publication_id = serializers.IntegerField()
    run_id = serializers.IntegerField()
    run_name = serializers.CharField(help_text="The run's name, else one made from its date.")
    published_at = serializers.DateTimeField()
    reference_date = serializers.DateField(
        allow_null=True, help_text="The day the run measured recency as of."
    )


class SegmentRefSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="The segment's number within its run.")
    name = serializers.CharField()
    valuable = serializers.BooleanField(
        help_text="Its share of revenue exceeds its share of customers."
    )
    lapsed = serializers.BooleanField(help_text="Most of its customers are cooling or lapsed.")


class FlowSerializer(serializers.Serializer):
    source = SegmentRefSerializer(
        allow_null=True,
        help_text="The segment in the earlier run; null: customers new to the later run.",
    )
    target = SegmentRefSerializer(
        allow_null=True,
        help_text="The segment in the later run; null: customers no longer present.",
    )
    customers = serializers.IntegerField()
    revenue = serializers.FloatField(
        help_text="Their net spend in the earlier run's period (new customers: the later "
        "run's), in the workspace's currency."
    )
    moved = serializers.BooleanField(
        help_text="False when the later segment continues the earlier one (they stayed)."
    )
    sentence = serializers.CharField(help_text="The flow in words.")
    members_url = serializers.CharField(help_text="The page listing these customers.")
    members_csv_url = serializers.CharField(help_text="The same customers as CSV.")


class SegmentMatchSerializer(serializers.Serializer):
    later_segment = serializers.IntegerField()
    continues = serializers.IntegerField(
        allow_null=True,
        help_text="The earlier segment it continues (matched by shared customers); null: new.",
    )


class MovementsSerializer(serializers.Serializer):
    earlier = PublicationRefSerializer(
        allow_null=True, help_text="The publication before; null for the first one."
    )
    later = PublicationRefSerializer()
    currency = serializers.CharField(help_text="ISO code of the amounts.")
    in_both = serializers.IntegerField(
        allow_null=True, help_text="Customers in both runs; null for the first publication."
    )
    new = serializers.IntegerField(allow_null=True, help_text="Customers new to the later run.")
    gone = serializers.IntegerField(
        allow_null=True, help_text="Customers of the earlier run not in the later one."
    )
    flows = FlowSerializer(many=True, help_text="Largest first.")
    matches = SegmentMatchSerializer(many=True)
