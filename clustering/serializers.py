"""Serializers of the runs, segments and predict API: explicit fields, results read-only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from common.api_currency import CURRENCY_HELP, CurrencyField

from .models import Candidate, Segment, SegmentAssignment, SegmentationRun
from .params import RUN_PARAMETERS, RunParameter
from .predicting import MAX_BATCH
from .report.data import CANDIDATE_FIELDS, SEGMENT_FIELDS
from .report.member_fit import ACTIVITY_BY_WORDS
from .report.members import MEMBER_VALUE_FIELDS

# ------------------------------------------------------------------------------ runs
RUN_FIELDS = [
    "id",
    "name",
    "status",
    "stage",
    "progress",
    "cancel_requested",
    "error",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
    "params",
    "reference_date",
    "lookback_days",
    "n_customers",
    "chosen_algorithm",
    "chosen_k",
    "chosen_setting",
    "is_published",
    "published_at",
    "published_by",
    "trigger",
    "publication_hold",
    "members_removed_at",  # set: its members are gone (never published; prune_run_members)
]


#: What judged it, in the API's words (members, customers).
ACTIVITY_BY_HELP = (
    "What judged that activity: days (since the last purchase, against the shop's rhythm) or "
    "p_alive (the purchase model, for a repeat buyer in a segment P(alive) named); null "
    "with no activity."
)
#: A member's own activity, in the API's words (members, customers).
MEMBER_ACTIVITY_HELP = (
    "The customer's own activity, judged as their segment's name was: by the shop's rhythm "
    "(days since the last purchase), or by P(alive) for customers who bought again where "
    "P(alive) named the segment's activity (its activity_evidence): active, cooling or "
    "lapsed (null when the run did not measure the rhythm)."
)


class RunSerializer(serializers.ModelSerializer):
    """A run with its progress; everything is read-only (runs change through services)."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    published_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    params = serializers.DictField(child=serializers.JSONField(), read_only=True)

    class Meta:
        model = SegmentationRun
        fields = RUN_FIELDS
        read_only_fields = RUN_FIELDS


def parameter_serializer_field(parameter: RunParameter) -> serializers.Field:
    """The API field for a run parameter: optional, typed, within its documented bounds."""
    common = {"required": False, "help_text": parameter.help}
    if parameter.default is None:
        common["allow_null"] = True
    bounds = {"min_value": parameter.minimum, "max_value": parameter.maximum}
    bounds = {k: v for k, v in bounds.items() if v is not None}
    if parameter.kind == "multiple":
        child = serializers.ChoiceField(choices=parameter.choices)
        return serializers.ListField(child=child, min_length=1, **common)
    if parameter.kind == "choice":
        return serializers.ChoiceField(choices=parameter.choices, **common)
    if parameter.kind == "date":
        return serializers.DateField(**common)
    if parameter.kind == "int":
        return serializers.IntegerField(**bounds, **common)
    if parameter.kind == "float":
        return serializers.FloatField(**bounds, **common)
    raise ValueError(f"{parameter.name}: no API field for kind {parameter.kind!r}")


class RunCreateSerializer(serializers.Serializer):
    """A new run: a name and the parameters a user may set (all optional), as declared in
    clustering.params.RUN_PARAMETERS.

    Types are checked here; clustering.params.params_from_input checks the values (ranges,
    known algorithms, k_min <= k_max, ...) and refuses parameters it does not know.
    """

    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields.update({p.name: parameter_serializer_field(p) for p in RUN_PARAMETERS})
        return fields


class CandidateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Candidate
        fields = list(CANDIDATE_FIELDS)  # the same columns as the report's JSON and CSV
        read_only_fields = fields


class RunReportSerializer(serializers.Serializer):
    """clustering.report.data.run_report_data(run): every stored result of a run (OpenAPI)."""

    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    # A plain string here: the enum is documented once, on Run (one name per choice set).
    status = serializers.CharField(help_text="queued, running, succeeded, failed or cancelled.")
    status_display = serializers.CharField()
    stage = serializers.CharField(allow_blank=True)
    progress = serializers.FloatField()
    error = serializers.CharField(allow_blank=True)
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()
    worker_hostname = serializers.CharField(allow_blank=True)
    params = serializers.DictField(child=serializers.JSONField())
    reference_date = serializers.DateField(allow_null=True)
    lookback_days = serializers.IntegerField(allow_null=True)
    data_fingerprint = serializers.CharField(allow_blank=True)
    data_summary = serializers.DictField(child=serializers.JSONField())
    library_versions = serializers.DictField(child=serializers.JSONField())
    n_customers = serializers.IntegerField(allow_null=True)
    excluded = serializers.DictField(child=serializers.JSONField())
    flagged = serializers.DictField(child=serializers.JSONField())
    preprocessing = serializers.ListField(child=serializers.JSONField())
    chosen_algorithm = serializers.CharField(allow_blank=True)
    chosen_k = serializers.IntegerField(allow_null=True)
    chosen_setting = serializers.CharField(allow_blank=True)
    justification = serializers.CharField(allow_blank=True)
    elbow = serializers.DictField(child=serializers.JSONField())
    stability = serializers.DictField(
        child=serializers.JSONField(),
        help_text="mean_adjusted_rand, scores, resample_size; verdict (stable, moderate, "
        "unstable, or empty when not measured) and its words; checked: mean ARI of the "
        "leading candidates (algorithm:setting) measured before choosing.",
    )
    surrogate_agreement = serializers.FloatField(allow_null=True)
    timings = serializers.DictField(child=serializers.JSONField())
    pca = serializers.DictField(child=serializers.JSONField())
    rfm_comparison = serializers.DictField(
        child=serializers.JSONField(),
        help_text="adjusted_rand, the crosstab (rows, columns, values) and edges: per axis "
        "(recency_days, frequency, monetary_total) one {score, low, high, customers} per "
        "score that occurs ({} on runs stored before).",
    )
    activity_rhythm = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The shop's rhythm behind the activity axis: active_days (bought within "
        "them: active), lapsed_days (beyond them: lapsed; between: cooling), "
        "repeat_customers, basis; evidence (recency or p_alive) and evidence_basis; "
        "p_alive_active, the P(alive) from which a repeat buyer is active where P(alive) "
        "named activity (null otherwise, and absent on runs stored before it was kept). {} on "
        "runs stored before the rhythm was measured.",
    )
    notes = serializers.ListField(child=serializers.JSONField())
    is_published = serializers.BooleanField()
    published_at = serializers.DateTimeField(allow_null=True)
    members_removed_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the run's members were removed (never published; kept a while only).",
    )
    published_by = serializers.CharField(allow_null=True)
    candidates = serializers.ListField(child=serializers.DictField(child=serializers.JSONField()))
    segments = serializers.ListField(child=serializers.DictField(child=serializers.JSONField()))
    currency = serializers.CharField(
        help_text="ISO 4217 code of every amount in the report (segments' spend, value ahead)."
    )


# ------------------------------------------------------------------------------ segments
class NameCheckSerializer(serializers.Serializer):
    """One condition of a segment's name, the segment's value and whether it holds."""

    condition = serializers.CharField(help_text='e.g. "at least 90% of members active".')
    observed = serializers.CharField(allow_blank=True, help_text='e.g. "96% active".')
    holds = serializers.BooleanField()


NOT_ESTIMATED = "null when the run did not estimate value ahead (runs made before it)."
#: A segment's value ahead over the run's horizon (SegmentationRun.value_ahead.horizon_days).
SEGMENT_VALUE_FIELDS = ("expected_value", "share_expected_value", "value_per_customer",
                        "median_p_alive")  # fmt: skip


class SegmentSerializer(serializers.ModelSerializer):
    """A segment's profile, business name and recommended action, what the name rests on:
    value, engagement and activity (empty on runs stored before they were measured), and
    its value ahead over the run's horizon (null when not estimated)."""

    medians = serializers.DictField(child=serializers.FloatField(allow_null=True))
    means = serializers.DictField(child=serializers.FloatField(allow_null=True))
    lift = serializers.DictField(child=serializers.JSONField())
    distinguishing = serializers.ListField(child=serializers.JSONField())
    activity_shares = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Share of the members active, cooling and lapsed.",
    )
    conditions = NameCheckSerializer(many=True, help_text="The name's conditions, checked.")
    expected_value = serializers.FloatField(
        allow_null=True,
        help_text="What the members are expected to spend over the run's horizon (margin "
        "and discount as the run's parameters say); " + NOT_ESTIMATED,
    )
    share_expected_value = serializers.FloatField(
        allow_null=True,
        help_text="The segment's share (0..1) of all customers' expected value; " + NOT_ESTIMATED,
    )
    value_per_customer = serializers.FloatField(
        allow_null=True, help_text="Expected value per member; " + NOT_ESTIMATED
    )
    median_p_alive = serializers.FloatField(
        allow_null=True,
        help_text="The median probability (0..1) of still being customers (BG/NBD) of the "
        "members who bought again (runs whose value_ahead.median_p_alive_of is absent: of every "
        "member); null when none did, or " + NOT_ESTIMATED,
    )
    currency = CurrencyField()

    class Meta:
        model = Segment
        # the same fields as the report's JSON, the value ahead and the amounts' currency
        fields = list(dict.fromkeys([*SEGMENT_FIELDS, *SEGMENT_VALUE_FIELDS, "currency"]))
        read_only_fields = fields


class PublishedSegmentsSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    run_name = serializers.CharField(help_text="The run's name, else one made from its date.")
    published_at = serializers.DateTimeField()
    horizon_days = serializers.IntegerField(
        allow_null=True,
        help_text="The days ahead the segments' and members' expected values cover; "
        + NOT_ESTIMATED,
    )
    currency = CurrencyField()
    segments = SegmentSerializer(many=True)


FEATURE_FIELDS = list(SegmentAssignment.FEATURE_FIELDS)
MEMBER_FIELDS = [
    "customer_id",
    "country",
    "confidence",
    "rfm_segment",
    *FEATURE_FIELDS,
    *MEMBER_VALUE_FIELDS,
]
P_ALIVE_HELP = (
    "Probability (0..1) the customer still buys here (BG/NBD, as of the run's date; 1 for a "
    "customer with no repeat purchase, whom the model counts active until they buy again); "
)
PURCHASES_HELP = "Expected purchases over the run's horizon; "
VALUE_AHEAD_HELP = (
    "Expected spend over the run's horizon (margin and discount as the run's parameters say); "
)
NEXT_PURCHASE_HELP = (
    "Days after the run's date within which half of the customers with this history buy "
    "again, if still active (BG/NBD; read it with p_alive); "
)


class MemberContactSerializer(serializers.Serializer):
    email = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)


class SegmentMemberSerializer(serializers.ModelSerializer):
    """A customer in a segment, with the features the run judged them on."""

    customer_id = serializers.CharField(source="customer.external_id", read_only=True)
    country = serializers.CharField(source="customer.country", read_only=True)
    p_alive = serializers.FloatField(
        allow_null=True, read_only=True, help_text=P_ALIVE_HELP + NOT_ESTIMATED
    )
    expected_purchases = serializers.FloatField(
        allow_null=True, read_only=True, help_text=PURCHASES_HELP + NOT_ESTIMATED
    )
    expected_value = serializers.FloatField(
        allow_null=True, read_only=True, help_text=VALUE_AHEAD_HELP + NOT_ESTIMATED
    )
    next_purchase_days = serializers.FloatField(
        allow_null=True, read_only=True, help_text=NEXT_PURCHASE_HELP + NOT_ESTIMATED
    )
    currency = CurrencyField()
    fit = serializers.SerializerMethodField(
        help_text='The fit in words: "typical member", "clear member, next closest to X", '
        '"borderline: also close to X" (docs/decisions/member-fit-in-words.md).'
    )
    runner_up = serializers.SerializerMethodField(
        help_text="The segment the customer is next closest to (null: none, or a run made "
        "before runner-ups were stored)."
    )
    activity = serializers.SerializerMethodField(help_text=MEMBER_ACTIVITY_HELP)
    activity_by = serializers.SerializerMethodField(help_text=ACTIVITY_BY_HELP)
    activity_warning = serializers.SerializerMethodField(
        help_text="A sentence when that activity contradicts the segment's name, else empty."
    )
    contact = serializers.SerializerMethodField(
        help_text="E-mail and name as imported; null unless the caller may see personal data."
    )

    class Meta:
        model = SegmentAssignment
        fields = [
            *MEMBER_FIELDS,
            "currency",
            "fit",
            "runner_up",
            "activity",
            "activity_by",
            "activity_warning",
            "contact",
        ]
        read_only_fields = fields

    def _fit(self, member: SegmentAssignment):
        """The member's fit, computed once per member from the run the view put in the
        context (segment names, algorithm, rhythm: read once per page, not per member)."""
        from .report.member_fit import member_fit

        cache = self.context.setdefault("fits", {})
        if member.pk not in cache:
            run = self.context["run"]
            cache[member.pk] = member_fit(
                confidence=member.confidence,
                runner_up_number=member.runner_up_number,
                recency_days=member.recency_days,
                algorithm=run.chosen_algorithm,
                segment_names=self.context["segment_names"],
                segment_activity=self.context["segment_activity"],
                rhythm=run.activity_rhythm,
                p_alive=member.p_alive,
                evidence=self.context["segment_evidence"],
            )
        return cache[member.pk]

    @extend_schema_field(serializers.CharField())
    def get_fit(self, member: SegmentAssignment) -> str:
        return self._fit(member).words

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_runner_up(self, member: SegmentAssignment) -> str | None:
        return self._fit(member).runner_up

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_activity(self, member: SegmentAssignment) -> str | None:
        return self._fit(member).activity

    @extend_schema_field(serializers.ChoiceField(choices=list(ACTIVITY_BY_WORDS), allow_null=True))
    def get_activity_by(self, member: SegmentAssignment) -> str | None:
        fit = self._fit(member)
        return fit.activity_by if fit.activity else None

    @extend_schema_field(serializers.CharField())
    def get_activity_warning(self, member: SegmentAssignment) -> str:
        return self._fit(member).warning

    @extend_schema_field(MemberContactSerializer(allow_null=True))
    def get_contact(self, member: SegmentAssignment) -> dict | None:
        if not self.context.get("personal"):
            return None
        return {"email": member.customer.email, "name": member.customer.name}


# ------------------------------------------------------------------------------ predict
#: Bounds far outside any real customer, so a unit mistake (cents, milliseconds) is refused.
MAX_DAYS = 36_500  # a hundred years
MAX_COUNT = 10_000_000
MAX_MONEY = 1e11
#: The longest customer id a prediction request may send (the shop's id, as imported).
CUSTOMER_ID_MAX_LENGTH = 64


class CustomerFeaturesSerializer(serializers.Serializer):
    """A customer's raw features, as the segmentation computes them (see README/engine)."""

    recency_days = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_DAYS, help_text="Days since last purchase."
    )
    frequency = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_COUNT, help_text="Distinct purchase invoices."
    )
    monetary_total = serializers.FloatField(
        required=False,
        min_value=-MAX_MONEY,
        max_value=MAX_MONEY,
        help_text="Net spend (purchases minus returns).",
    )
    tenure_days = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_DAYS, help_text="Days since first purchase."
    )
    avg_basket_value = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_MONEY, help_text="Gross spend per invoice."
    )
    distinct_products = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_COUNT, help_text="Distinct products bought."
    )
    return_rate = serializers.FloatField(
        required=False, min_value=0, max_value=1, help_text="Returned share of gross spend."
    )
    mean_days_between_purchases = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_DAYS,
        help_text="Null for a customer with a single purchase day (imputed as in training).",
    )
    country = serializers.CharField(required=False, max_length=64, allow_blank=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Not a customer feature."] for name in unknown}
                )
        values = super().to_internal_value(data)
        required = self.context.get("required_features", ())
        missing = {
            name: ["This feature is required by the published segmentation."]
            for name in required
            if name not in values
            or (values[name] is None and name != "mean_days_between_purchases")
        }
        if missing:
            raise serializers.ValidationError(missing)
        recency, tenure = values.get("recency_days"), values.get("tenure_days")
        if recency is not None and tenure is not None and recency > tenure:
            raise serializers.ValidationError(
                {
                    "recency_days": [
                        "The last purchase cannot be older than the first: "
                        "recency_days must not exceed tenure_days."
                    ]
                }
            )
        return values


class PredictItemSerializer(serializers.Serializer):
    """One customer: a known customer id, or raw features (exactly one of the two)."""

    customer_id = serializers.CharField(required=False, max_length=CUSTOMER_ID_MAX_LENGTH)
    features = CustomerFeaturesSerializer(required=False)

    def validate(self, attrs):
        if ("customer_id" in attrs) == ("features" in attrs):
            raise serializers.ValidationError("Give exactly one of customer_id and features.")
        return attrs


class PredictRequestSerializer(PredictItemSerializer):
    """customer_id, features, or customers: a batch of up to 1,000 of either."""

    customers = serializers.ListField(
        child=PredictItemSerializer(), required=False, min_length=1, max_length=MAX_BATCH
    )

    def validate(self, attrs):
        given = [k for k in ("customer_id", "features", "customers") if k in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                "Give exactly one of customer_id, features and customers."
            )
        return attrs


VALUE_HELP = "The segment's value: top, high, mid or low (empty on older runs)."
ENGAGEMENT_HELP = "The segment's engagement: frequent, repeat or one-time (empty on older runs)."
ACTIVITY_HELP = (
    "The segment's activity: active, cooling, lapsed, slipping, inactive or mixed "
    "(empty on older runs)."
)
WHY_HELP = "The numbers behind the segment's name, in a sentence (empty on older runs)."
SEGMENT_NUMBER_HELP = "The segment's number within the run, as in the segments URLs."
SEGMENT_ID_HELP = "Deprecated: use segment_number (the same number; removed in the next release)."
#: Raw features hold a history when they give recency, orders and tenure.
PREDICT_NOT_ESTIMATED = (
    "stored values for a known customer_id; for raw features, the run's value models applied "
    "to recency_days, frequency and tenure_days (null for raw features without all three, with "
    "frequency 0, and when the run did not estimate value ahead)."
)


@extend_schema_serializer(deprecate_fields=["segment_id"])
class PredictionSerializer(serializers.Serializer):
    run_id = serializers.IntegerField(help_text="The published run that assigned the segment.")
    customer_id = serializers.CharField(allow_null=True)
    segment_number = serializers.IntegerField(help_text=SEGMENT_NUMBER_HELP)
    segment_id = serializers.IntegerField(help_text=SEGMENT_ID_HELP)
    segment_name = serializers.CharField()
    action = serializers.CharField(allow_blank=True)
    value = serializers.CharField(allow_blank=True, help_text=VALUE_HELP)
    engagement = serializers.CharField(allow_blank=True, help_text=ENGAGEMENT_HELP)
    activity = serializers.CharField(allow_blank=True, help_text=ACTIVITY_HELP)
    why = serializers.CharField(allow_blank=True, help_text=WHY_HELP)
    confidence = serializers.FloatField(min_value=0, max_value=1)
    source = serializers.ChoiceField(
        choices=["stored", "predicted"],
        help_text="stored: the run's own assignment of a known customer; "
        "predicted: the run's predictor applied to the features sent.",
    )
    p_alive = serializers.FloatField(
        allow_null=True, min_value=0, max_value=1, help_text=P_ALIVE_HELP + PREDICT_NOT_ESTIMATED
    )
    expected_purchases = serializers.FloatField(
        allow_null=True, help_text=PURCHASES_HELP + PREDICT_NOT_ESTIMATED
    )
    expected_value = serializers.FloatField(
        allow_null=True, help_text=VALUE_AHEAD_HELP + PREDICT_NOT_ESTIMATED
    )
    next_purchase_days = serializers.FloatField(
        allow_null=True, help_text=NEXT_PURCHASE_HELP + PREDICT_NOT_ESTIMATED
    )
    currency = serializers.CharField(help_text=CURRENCY_HELP)


@extend_schema_serializer(deprecate_fields=["segment_id"])
class BatchPredictionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the request's customers list.")
    customer_id = serializers.CharField(allow_null=True)
    segment_number = serializers.IntegerField(allow_null=True, help_text=SEGMENT_NUMBER_HELP)
    segment_id = serializers.IntegerField(allow_null=True, help_text=SEGMENT_ID_HELP)
    segment_name = serializers.CharField(allow_null=True)
    action = serializers.CharField(allow_null=True, allow_blank=True)
    value = serializers.CharField(allow_null=True, allow_blank=True, help_text=VALUE_HELP)
    engagement = serializers.CharField(allow_null=True, allow_blank=True, help_text=ENGAGEMENT_HELP)
    activity = serializers.CharField(allow_null=True, allow_blank=True, help_text=ACTIVITY_HELP)
    why = serializers.CharField(allow_null=True, allow_blank=True, help_text=WHY_HELP)
    confidence = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    source = serializers.ChoiceField(choices=["stored", "predicted"], allow_null=True)
    p_alive = serializers.FloatField(
        allow_null=True, min_value=0, max_value=1, help_text=P_ALIVE_HELP + PREDICT_NOT_ESTIMATED
    )
    expected_purchases = serializers.FloatField(
        allow_null=True, help_text=PURCHASES_HELP + PREDICT_NOT_ESTIMATED
    )
    expected_value = serializers.FloatField(
        allow_null=True, help_text=VALUE_AHEAD_HELP + PREDICT_NOT_ESTIMATED
    )
    next_purchase_days = serializers.FloatField(
        allow_null=True, help_text=NEXT_PURCHASE_HELP + PREDICT_NOT_ESTIMATED
    )
    currency = serializers.CharField(help_text=CURRENCY_HELP)
    error = serializers.CharField(
        allow_null=True, help_text="Why this customer has no segment (the others still do)."
    )


class BatchPredictResponseSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    currency = serializers.CharField(help_text=CURRENCY_HELP)
    results = BatchPredictionSerializer(many=True)
