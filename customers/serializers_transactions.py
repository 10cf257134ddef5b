"""Serializers of the transactions API: explicit fields, all read-only except the bulk
transaction input."""

from __future__ import annotations

from rest_framework import serializers

from transaction_files.plausible import MAX_DESCRIPTION, MAX_TEXT

from .models import TransactionLine

#: Largest number of lines one bulk request may carry (about 1 MB of JSON).
MAX_BULK_LINES = 5000


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
    """One line to store. Types are checked here; the file import's own rules (the plausible
    dates and number ranges of transaction_files.plausible, a unit price or an amount,
    returns and fee lines) are applied after."""

    customer_id = serializers.CharField(
        max_length=MAX_TEXT,
        help_text="The shop's customer id; an e-mail address is stored as its pseudonym "
        "(e- and 16 letters and digits, the same for the same address in this workspace).",
    )
    invoice = serializers.CharField(
        max_length=MAX_TEXT,
        help_text="The order's number, as the shop writes it; its letters mean nothing here.",
    )
    timestamp = serializers.DateTimeField(
        help_text="ISO 8601; without an offset it is read in the workspace's time zone. Not before "
        "the earliest year accepted (IMPORT_EARLIEST_YEAR), nor more than IMPORT_FUTURE_DAYS "
        "after the request."
    )
    quantity = serializers.FloatField(
        help_text="Negative on returns (a line whose quantity or amount is negative is a "
        "return); within ± IMPORT_MAX_QUANTITY."
    )
    unit_price = serializers.FloatField(required=False, allow_null=True)
    amount = serializers.FloatField(
        required=False, allow_null=True, help_text="Line total; quantity x unit_price if absent."
    )
    product_code = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, default=""
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_DESCRIPTION, default=""
    )
    country = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, default=""
    )


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
    lines_skipped = serializers.IntegerField(
        help_text="Lines left out by the shop's rules, not stored and not errors: a customer "
        "id that stands for no customer (a guest or walk-in sale), or a customer the shop "
        "removed and keeps out. The import's counts_by_reason says which."
    )
