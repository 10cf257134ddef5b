"""Serializers of the customers API: a customer with their segment in the published run,
explicit fields, all read-only; and the bulk erasure's request and answer."""

from __future__ import annotations

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from clustering.models import SegmentAssignment
from clustering.report.member_fit import ACTIVITY_BY_WORDS
from clustering.serializers import (
    ACTIVITY_BY_HELP,
    MEMBER_ACTIVITY_HELP,
    SEGMENT_ID_HELP,
    SEGMENT_NUMBER_HELP,
)
from common.api_currency import CURRENCY_HELP, CurrencyField
from common.api_strict import StrictCharField
from customers.erasure import BULK_ERASURE_MAX
from customers.models import CODE_LENGTH, Customer

NOT_ESTIMATED = "null when the run did not estimate value ahead (runs made before it)."
P_ALIVE_HELP = (
    "Probability (0..1) the customer still buys here (BG/NBD, as of the run's date; 1 for a "
    "customer with no repeat purchase, whom the model counts active until they buy again)"
)
PURCHASES_HELP = "Expected purchases over the run's horizon"
VALUE_HELP = (
    "Expected spend over the run's horizon (margin and discount as the run's parameters say)"
)
NEXT_PURCHASE_HELP = (
    "Days after the run's date within which half of the customers with this history buy "
    "again, if still active (BG/NBD; read it with p_alive)"
)


PUBLISHED_OR_NOT = "the published run (also null when not in it)"


def value_field(what: str, run: str) -> serializers.FloatField:
    """One of a customer's value-ahead numbers in `run`, null when not estimated."""
    return serializers.FloatField(
        allow_null=True, read_only=True, help_text=f"{what} in {run}; {NOT_ESTIMATED}"
    )


@extend_schema_serializer(deprecate_fields=["segment_id"])
class CustomerSerializer(serializers.ModelSerializer):
    """A customer and their segment in the published run (null when not in it)."""

    customer_id = serializers.CharField(source="external_id", read_only=True)
    segment_number = serializers.IntegerField(
        source="published_segment_number",
        read_only=True,
        allow_null=True,
        help_text=SEGMENT_NUMBER_HELP,
    )
    segment_id = serializers.IntegerField(
        source="published_segment_number",
        read_only=True,
        allow_null=True,
        help_text=SEGMENT_ID_HELP,
    )
    segment_name = serializers.CharField(
        source="published_segment_name", read_only=True, allow_null=True
    )
    p_alive = value_field(P_ALIVE_HELP, PUBLISHED_OR_NOT)
    expected_purchases = value_field(PURCHASES_HELP, PUBLISHED_OR_NOT)
    expected_value = value_field(VALUE_HELP, PUBLISHED_OR_NOT)
    next_purchase_days = value_field(NEXT_PURCHASE_HELP, PUBLISHED_OR_NOT)
    currency = CurrencyField()

    class Meta:
        model = Customer
        fields = [
            "customer_id",
            "country",
            "first_purchase_at",
            "last_purchase_at",
            "last_seen_at",
            "segment_number",
            "segment_id",
            "segment_name",
            "p_alive",
            "expected_purchases",
            "expected_value",
            "next_purchase_days",
            "currency",
        ]
        read_only_fields = fields


@extend_schema_serializer(deprecate_fields=["segment_id"])
class CurrentSegmentSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    segment_number = serializers.IntegerField(help_text=SEGMENT_NUMBER_HELP)
    segment_id = serializers.IntegerField(help_text=SEGMENT_ID_HELP)
    segment_name = serializers.CharField()
    action = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField()
    rfm_segment = serializers.CharField(allow_blank=True)
    fit = serializers.CharField(
        allow_blank=True,
        help_text='The fit in words: "typical member", "clear member, next closest to X", '
        '"borderline: also close to X" (docs/decisions/member-fit-in-words.md).',
    )
    runner_up = serializers.CharField(
        allow_null=True, help_text="The segment the customer is next closest to (null: none)."
    )
    activity = serializers.CharField(allow_null=True, help_text=MEMBER_ACTIVITY_HELP)
    activity_by = serializers.ChoiceField(
        choices=list(ACTIVITY_BY_WORDS), allow_null=True, help_text=ACTIVITY_BY_HELP
    )
    activity_warning = serializers.CharField(
        allow_blank=True,
        help_text="A sentence when that activity contradicts the segment's name (a lapsed "
        "customer in a segment named for active ones), else empty.",
    )
    horizon_days = serializers.IntegerField(
        allow_null=True, help_text="The days ahead the expected values cover; " + NOT_ESTIMATED
    )
    p_alive = value_field(P_ALIVE_HELP, "the published run")
    expected_purchases = value_field(PURCHASES_HELP, "the published run")
    expected_value = value_field(VALUE_HELP, "the published run")
    next_purchase_days = value_field(NEXT_PURCHASE_HELP, "the published run")


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


@extend_schema_serializer(deprecate_fields=["segment_id"])
class SegmentHistoryEntrySerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    run_name = serializers.CharField(help_text="The run's name, else one made from its date.")
    published_at = serializers.DateTimeField()
    is_published = serializers.BooleanField(help_text="True for the current segmentation.")
    segment_number = serializers.IntegerField(help_text=SEGMENT_NUMBER_HELP)
    segment_id = serializers.IntegerField(help_text=SEGMENT_ID_HELP)
    segment_name = serializers.CharField()
    confidence = serializers.FloatField()
    p_alive = value_field(P_ALIVE_HELP, "that run")
    expected_purchases = value_field(PURCHASES_HELP, "that run")
    expected_value = value_field(VALUE_HELP, "that run")
    next_purchase_days = value_field(NEXT_PURCHASE_HELP, "that run")


@extend_schema_serializer(deprecate_fields=["segment_id"])
class CustomerHistoryEntrySerializer(serializers.Serializer):
    publication_id = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    run_id = serializers.IntegerField()
    run_name = serializers.CharField(help_text="The run's name, else one made from its date.")
    is_current = serializers.BooleanField(help_text="The workspace's current publication.")
    in_run = serializers.BooleanField(
        help_text="False when the run left the customer out (no purchases in its window, or "
        "not yet a customer); the segment fields are then null."
    )
    segment_number = serializers.IntegerField(allow_null=True, help_text=SEGMENT_NUMBER_HELP)
    segment_id = serializers.IntegerField(allow_null=True, help_text=SEGMENT_ID_HELP)
    segment_name = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)


class ContactSerializer(serializers.Serializer):
    email = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    erased_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the e-mail and name were erased on the person's request (later "
        "imports do not bring them back); null if never.",
    )


class ListedName(StrictCharField):
    """A name in a list of erasure requests, taken as sent (blank, spaces or a NUL included):
    one that is no customer's is answered as not found, not refused."""

    def __init__(self, **kwargs):
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class BulkErasureRequestSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(
        child=ListedName(max_length=CODE_LENGTH),
        required=False,
        default=list,
        max_length=BULK_ERASURE_MAX,
        help_text="The shop's customer ids whose e-mail and name to erase.",
    )
    emails = serializers.ListField(
        child=ListedName(max_length=254),
        required=False,
        default=list,
        max_length=BULK_ERASURE_MAX,
        help_text="E-mails whose customers' e-mail and name to erase (case aside; every "
        "customer holding one).",
    )


class ErasedCustomerSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    had_contact = serializers.BooleanField(
        help_text="Whether the customer held an e-mail or a name (false: erased before, or "
        "never had one)."
    )


class BulkErasureSerializer(serializers.Serializer):
    erased = ErasedCustomerSerializer(many=True)
    customer_ids_not_found = serializers.ListField(
        child=serializers.CharField(), help_text="Ids no customer of this workspace has."
    )
    emails_not_found = serializers.ListField(
        child=serializers.CharField(), help_text="E-mails no customer holds (now)."
    )


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
    currency = serializers.CharField(help_text=CURRENCY_HELP)
    contact = ContactSerializer(
        allow_null=True,
        help_text="E-mail and name (empty when not imported); null unless the token's user "
        "may see personal data (managers and admins).",
    )
    segment = CurrentSegmentSerializer(
        allow_null=True, help_text="In the published run; null when the run did not include them."
    )
    features = CustomerFeatureValuesSerializer(allow_null=True)
    segment_history = SegmentHistoryEntrySerializer(
        many=True, help_text="The customer's segment in every run ever published, newest first."
    )
    history = CustomerHistoryEntrySerializer(
        many=True,
        help_text="The customer at every publication of the workspace, newest first, "
        "including those whose run did not include them.",
    )


class CustomerRemoveQuerySerializer(serializers.Serializer):
    keep_out = serializers.BooleanField(
        default=True,
        help_text="Keep the id out of later imports (their rows are skipped and counted) until "
        "a manager lets it back in; false: a file holding their lines brings the customer "
        "back.",
    )
