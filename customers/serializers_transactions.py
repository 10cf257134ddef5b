"""Serializers of the customers and transactions API: explicit fields, all read-only except the
bulk transaction input."""

from __future__ import annotations

from rest_framework import serializers

from clustering.models import SegmentAssignment
from transaction_files.normalise import MAX_TEXT

from .models import Customer, TransactionLine

#: Largest number of lines one bulk request may carry (about 1 MB of JSON).
MAX_BULK_LINES = 5000
MIN_YEAR, MAX_YEAR = 1900, 2200


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


class TransactionLineSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(
        source="line_hash",
        read_only=True,
        help_text="The line's identity: a hash of its content, so the same line imported "
        "again, from any file, has the same id (and is stored once).",
    )
    customer_id = serializers.CharField(source="customer.external_id", read_only=True)
    import_id = serializers.IntegerField(source="import_record_id", read_only=True)

    class Meta:
        model = TransactionLine
        fields = [
            "id",
            "customer_id",
            "invoice",
            "product_code",
            "description",
            "quantity",
            "unit_price",
            "amount",
            "timestamp",
            "country",
            "is_return",
            "is_non_product",
            "import_id",
        ]
        read_only_fields = fields


class TransactionLineInSerializer(serializers.Serializer):
    """One line to store. Types are checked here; the file import's own rules (number ranges,
    text lengths, a unit price or an amount, returns and fee lines) are applied after."""

    customer_id = serializers.CharField(max_length=MAX_TEXT)
    invoice = serializers.CharField(
        max_length=MAX_TEXT, help_text="Invoices starting with C are returns."
    )
    timestamp = serializers.DateTimeField(
        help_text="ISO 8601; without an offset it is read in the site's time zone."
    )
    quantity = serializers.FloatField(help_text="Negative on returns.")
    unit_price = serializers.FloatField(required=False, allow_null=True)
    amount = serializers.FloatField(
        required=False, allow_null=True, help_text="Line total; quantity x unit_price if absent."
    )
    product_code = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, default=""
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default=""
    )
    country = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, default=""
    )

    def validate_timestamp(self, value):
        # pandas' nanosecond timestamps end in 2262; no real sale is outside these years.
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise serializers.ValidationError(f"Must be between {MIN_YEAR} and {MAX_YEAR}.")
        return value


class TransactionBulkSerializer(serializers.Serializer):
    """The request: lines, all stored or none; every bad line is reported at once."""

    lines = TransactionLineInSerializer(many=True, min_length=1, max_length=MAX_BULK_LINES)


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the line in `lines` (from 0).")
    field = serializers.CharField()
    message = serializers.CharField()


class TransactionBulkErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.JSONField())
    rows = RowErrorSerializer(
        many=True,
        required=False,
        help_text="Every bad line (code invalid_rows); nothing was stored.",
    )


class TransactionBulkResultSerializer(serializers.Serializer):
    import_id = serializers.IntegerField(help_text="The import record the lines belong to.")
    lines_received = serializers.IntegerField()
    lines_imported = serializers.IntegerField()
    lines_duplicate = serializers.IntegerField(
        help_text="Lines already stored (same content), or repeated in the request."
    )
    customers_created = serializers.IntegerField()
