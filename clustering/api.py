"""REST API for segmentation runs, the published segments and real-time segment assignment.

Thin views: serializers check input, clustering.services writes, clustering.selectors and
clustering.predicting read. Permissions follow the roles (accounts/roles.py):

    runs: read view_run_reports, create/cancel manage_runs, publish publish_runs
    segments and members: view_segments; members as CSV: export_segment_members
    predict: view_segments, and allowed to read-only tokens (see PredictApi)
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from reports.exports import csv_response
from segmentation_site.api_errors import ApiProblem, error_responses

from .engine.types import InvalidParameters
from .models import Segment, SegmentAssignment, SegmentationRun
from .params import params_from_input
from .predicting import (
    NoPublishedRun,
    PredictorUnavailable,
    predict_features,
    published_model,
    stored_predictions,
)
from .selectors import (
    run_candidates,
    run_list,
    run_published,
    run_segments,
    segment_members,
    worker_is_recent,
    worker_last_seen,
)
from .serializers import (
    MEMBER_FIELDS,
    BatchPredictResponseSerializer,
    CandidateSerializer,
    PredictionSerializer,
    PredictRequestSerializer,
    PublishedSegmentsSerializer,
    RunCreateSerializer,
    RunReportSerializer,
    RunSerializer,
    SegmentMemberSerializer,
    SegmentSerializer,
)
from .services import RunError, run_cancel, run_create, run_publish, worker_ping_request

CanViewSegments = capability_permission("view_segments")
CanExportMembers = capability_permission("export_segment_members")
CanManageRuns = capability_permission("manage_runs")
CanPublishRuns = capability_permission("publish_runs")
CanViewRunReports = capability_permission("view_run_reports")
DEFAULT_PERMISSIONS = list(api_settings.DEFAULT_PERMISSION_CLASSES)

NO_PUBLISHED_RUN = "No segmentation is published yet: a manager must publish a run first."


def _no_published_run() -> ApiProblem:
    return ApiProblem(NO_PUBLISHED_RUN, status=404, code="no_published_run")


# ------------------------------------------------------------------------------ worker
WorkerStatusSerializer = inline_serializer(
    "WorkerStatus",
    {
        "hostname": serializers.CharField(allow_null=True),
        "last_seen": serializers.DateTimeField(allow_null=True),
        "recent": serializers.BooleanField(),
    },
)


class WorkerStatusApi(APIView):
    """Whether a background worker has executed a task recently (GET), or ask it to (POST)."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [*super().get_permissions(), capability_permission("manage_runs")()]
        return super().get_permissions()

    @extend_schema(responses=WorkerStatusSerializer)
    def get(self, request):
        beat = worker_last_seen()
        return Response(
            {
                "hostname": beat.hostname if beat else None,
                "last_seen": beat.seen_at if beat else None,
                "recent": worker_is_recent(beat),
            }
        )

    @extend_schema(request=None, responses={202: None})
    def post(self, request):
        worker_ping_request()
        return Response(status=status.HTTP_202_ACCEPTED)


# ------------------------------------------------------------------------------ runs
RUN_EXAMPLE = {
    "id": 12,
    "name": "Spring review",
    "status": "running",
    "stage": "fitting kmeans",
    "progress": 42.0,
    "cancel_requested": False,
    "error": "",
    "created_by": "manager",
    "created_at": "2024-03-01T09:00:00Z",
    "started_at": "2024-03-01T09:00:02Z",
    "finished_at": None,
    "params": {"algorithms": ["kmeans"], "k_min": 2, "k_max": 6},
    "reference_date": None,
    "lookback_days": None,
    "n_customers": None,
    "chosen_algorithm": "",
    "chosen_k": None,
    "chosen_setting": "",
    "is_published": False,
    "published_at": None,
    "published_by": None,
}


def _run_or_404(pk: int) -> SegmentationRun:
    return get_object_or_404(run_list(), pk=pk)


@extend_schema(tags=["runs"])
class RunListCreateApi(generics.ListAPIView):
    """GET: segmentation runs, newest first, with progress. POST: start a run."""

    serializer_class = RunSerializer
    throttle_scope = "runs"

    def get_permissions(self):
        needed = CanManageRuns if self.request.method not in SAFE_METHODS else CanViewRunReports
        return [*super().get_permissions(), needed()]

    def get_throttles(self):
        # Polling the list must not use up the allowance for starting runs.
        return [] if self.request.method in SAFE_METHODS else super().get_throttles()

    def get_queryset(self):
        return run_list()

    @extend_schema(
        summary="List runs",
        responses={200: RunSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start a run",
        description="Queues a segmentation run for the worker. Every parameter is optional "
        "(the engine's recommended defaults apply). Parameters the engine refuses answer 400 "
        'with the parameter in `fields`, e.g. `{"k_max": ["must be an integer >= k_min"]}`; '
        "`data` is the field when there are no transactions or too few customers.",
        request=RunCreateSerializer,
        responses={201: RunSerializer, **error_responses(400, 401, 403, 429)},
        examples=[
            OpenApiExample(
                "Fast run",
                value={"name": "Spring review", "algorithms": ["kmeans", "gmm"], "k_max": 6},
                request_only=True,
            ),
            OpenApiExample(
                "Queued run", value=RUN_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request):
        serializer = RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The engine's own parser sees the parameters as sent: it owns their rules.
        raw = {k: v for k, v in request.data.items() if k != "name"}
        try:
            params = params_from_input(raw)
            run = run_create(
                user=request.user, params=params, name=serializer.validated_data["name"]
            )
        except InvalidParameters as error:
            raise serializers.ValidationError({error.field: [error.message]}) from error
        response = Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{run.pk}/")
        return response


@extend_schema(tags=["runs"])
class RunDetailApi(generics.RetrieveAPIView):
    """One run: status, stage and progress while it runs; the chosen model when done."""

    serializer_class = RunSerializer
    permission_classes = [*DEFAULT_PERMISSIONS, CanViewRunReports]

    def get_queryset(self):
        return run_list()

    @extend_schema(
        summary="Get a run",
        responses={200: RunSerializer, **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Running", value=RUN_EXAMPLE, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class _RunActionApi(APIView):
    throttle_scope = "runs"
    action = ""

    def perform(self, *, run_id: int, user) -> SegmentationRun:
        raise NotImplementedError

    def post(self, request, pk: int):
        if not SegmentationRun.objects.filter(pk=pk).exists():
            raise ApiProblem("No run with this id.", status=404, code="not_found")
        try:
            self.perform(run_id=pk, user=request.user)
        except RunError as error:
            raise ApiProblem(str(error), status=409, code="run_state") from error
        return Response(RunSerializer(_run_or_404(pk)).data)


@extend_schema(tags=["runs"])
class RunCancelApi(_RunActionApi):
    """Cancel a queued run at once, or ask a running run to stop at its next checkpoint."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanManageRuns]

    def perform(self, *, run_id, user):
        return run_cancel(run_id=run_id, user=user)

    @extend_schema(
        summary="Cancel a run",
        request=None,
        responses={
            200: RunSerializer,
            **error_responses(401, 403, 404, 409, 429, d409="The run has already finished."),
        },
    )
    def post(self, request, pk: int):
        return super().post(request, pk)


@extend_schema(tags=["runs"])
class RunPublishApi(_RunActionApi):
    """Make a succeeded run the published segmentation (the one the API and pages use)."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanPublishRuns]

    def perform(self, *, run_id, user):
        return run_publish(run_id=run_id, user=user)

    @extend_schema(
        summary="Publish a run",
        request=None,
        responses={
            200: RunSerializer,
            **error_responses(
                401, 403, 404, 409, 429, d409="Only a succeeded run can be published."
            ),
        },
    )
    def post(self, request, pk: int):
        return super().post(request, pk)


@extend_schema(tags=["runs"])
class RunCandidatesApi(APIView):
    """Every (algorithm, k) the run fitted, with its validation scores."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewRunReports]

    @extend_schema(
        summary="Candidates of a run",
        responses={200: CandidateSerializer(many=True), **error_responses(401, 403, 404)},
        examples=[
            OpenApiExample(
                "One candidate",
                value=[
                    {
                        "algorithm": "kmeans",
                        "k": 4,
                        "setting": "k=4",
                        "n_clusters": 4,
                        "silhouette": 0.41,
                        "davies_bouldin": 0.88,
                        "calinski_harabasz": 912.3,
                        "inertia": 1804.2,
                        "bic": None,
                        "noise_share": 0.0,
                        "min_segment_share": 0.08,
                        "eligible": True,
                        "reason": "",
                        "fit_seconds": 0.05,
                        "fitted_on": 300,
                        "silhouette_sampled": False,
                        "consensus_rank": 1.0,
                        "is_chosen": True,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request, pk: int):
        run = _run_or_404(pk)
        return Response(CandidateSerializer(run_candidates(run), many=True).data)


@extend_schema(tags=["runs"])
class RunReportApi(APIView):
    """Everything the run stored: parameters, data summary, preprocessing, choice, stability,
    PCA points, RFM comparison, candidates and segment profiles (the report page's data)."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewRunReports]

    @extend_schema(
        summary="Report data of a run",
        responses={200: RunReportSerializer, **error_responses(401, 403, 404)},
        examples=[
            OpenApiExample(
                "Report (abridged)",
                value={
                    **{k: v for k, v in RUN_EXAMPLE.items() if k != "cancel_requested"},
                    "status": "succeeded",
                    "status_display": "Succeeded",
                    "attempts": 1,
                    "worker_hostname": "worker@host",
                    "data_fingerprint": "3f2a...",
                    "data_summary": {"customers": 4338},
                    "library_versions": {"scikit-learn": "1.6.1"},
                    "excluded": {},
                    "flagged": {},
                    "preprocessing": [],
                    "justification": "k=4 wins on three of four votes.",
                    "elbow": {},
                    "stability": {
                        "mean_adjusted_rand": 0.78,
                        "stable": False,
                        "verdict": "moderate",
                        "words": "moderately stable, review",
                        "checked": {"kmeans:n_clusters=4": 0.78, "gmm:n_components=4": 0.64},
                    },
                    "surrogate_agreement": None,
                    "timings": {"read data": 0.4},
                    "pca": {"explained_variance_ratio": [0.52, 0.21], "points": []},
                    "rfm_comparison": {
                        "adjusted_rand": 0.31,
                        "edges": {
                            "frequency": [
                                {"score": 1, "low": 1.0, "high": 1.0, "customers": 1493},
                                {"score": 5, "low": 8.0, "high": 209.0, "customers": 868},
                            ]
                        },
                    },
                    "activity_rhythm": {
                        "active_days": 113.0,
                        "lapsed_days": 226.0,
                        "repeat_customers": 2845,
                        "basis": "4 in 5 repeat customers buy again within 113 days.",
                    },
                    "notes": [],
                    "candidates": [],
                    "segments": [],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, pk: int):
        from reports.report_data import run_report_data

        return Response(run_report_data(_run_or_404(pk)))


# ------------------------------------------------------------------------------ segments
SEGMENT_EXAMPLE = {
    "number": 0,
    "name": "High-value loyal",
    "size": 412,
    "share_customers": 0.095,
    "share_revenue": 0.61,
    "medians": {"recency_days": 9.0, "frequency": 14.0, "monetary_total": 5120.4},
    "means": {"recency_days": 14.2, "frequency": 18.9, "monetary_total": 8931.0},
    "lift": {"monetary_total": 6.4},
    "distinguishing": ["frequency", "monetary_total"],
    "rule": "frequency >= 9 and recency_days <= 30",
    "rule_accuracy": 0.94,
    "rule_precision": 0.9,
    "rule_recall": 0.88,
    "action": "Reward and retain: early access, loyalty perks; no discounts needed.",
    "rationale": "Buy often, recently, and spend the most.",
    "top_country": "United Kingdom",
    "value": "top",
    "engagement": "frequent",
    "activity": "active",
    "activity_shares": {"active": 0.96, "cooling": 0.03, "lapsed": 0.01},
    "why": "bought 9 days ago (median), 14 orders, 5,120 spent: top 15% on spend, active",
    "conditions": [
        {"condition": "median spend in the top 15%", "observed": "top 9%", "holds": True},
        {"condition": "at least 90% of members active", "observed": "96% active", "holds": True},
    ],
}


def _published_run_or_404() -> SegmentationRun:
    run = run_published()
    if run is None:
        raise _no_published_run()
    return run


def _published_segment_or_404(number: int) -> Segment:
    run = _published_run_or_404()
    segment = run_segments(run).filter(number=number).first()
    if segment is None:
        raise ApiProblem(
            f"The published segmentation has no segment {number}.", status=404, code="not_found"
        )
    return segment


@extend_schema(tags=["segments"])
class PublishedSegmentsApi(APIView):
    """The segments of the published run: profiles, names and recommended actions."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments]

    @extend_schema(
        summary="Published segments",
        operation_id="segments_list",
        responses={
            200: PublishedSegmentsSerializer,
            **error_responses(401, 403, 404, d404="No run is published yet."),
        },
        examples=[
            OpenApiExample(
                "Published segments",
                value={
                    "run_id": 12,
                    "run_name": "Spring review",
                    "published_at": "2024-03-02T10:00:00Z",
                    "segments": [SEGMENT_EXAMPLE],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        run = _published_run_or_404()
        return Response(
            PublishedSegmentsSerializer(
                {
                    "run_id": run.pk,
                    "run_name": run.name,
                    "published_at": run.published_at,
                    "segments": run_segments(run),
                }
            ).data
        )


@extend_schema(tags=["segments"])
class SegmentDetailApi(APIView):
    """One segment of the published run, by its number."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments]

    @extend_schema(
        summary="A published segment",
        responses={200: SegmentSerializer, **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Segment", value=SEGMENT_EXAMPLE, response_only=True)],
    )
    def get(self, request, number: int):
        return Response(SegmentSerializer(_published_segment_or_404(number)).data)


class MemberCursorPagination(CursorPagination):
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000
    ordering = ("id",)


MEMBER_EXAMPLE = {
    "customer_id": "17850",
    "country": "United Kingdom",
    "confidence": 0.72,
    "rfm_segment": "Champions",
    "recency_days": 2.0,
    "frequency": 34.0,
    "monetary_total": 5391.2,
    "tenure_days": 373.0,
    "avg_basket_value": 158.6,
    "distinct_products": 21.0,
    "return_rate": 0.02,
    "mean_days_between_purchases": 11.3,
}


@extend_schema(tags=["segments"])
class SegmentMembersApi(generics.ListAPIView):
    """The customers in a segment of the published run, cursor-paginated (stable while
    paging: a published run never changes)."""

    serializer_class = SegmentMemberSerializer
    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments]
    pagination_class = MemberCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database
            return SegmentAssignment.objects.none()
        return segment_members(_published_segment_or_404(self.kwargs["number"]))

    @extend_schema(
        summary="Members of a published segment",
        responses={200: SegmentMemberSerializer(many=True), **error_responses(401, 403, 404)},
        examples=[
            OpenApiExample(
                "A page of members",
                value={"next": None, "previous": None, "results": [MEMBER_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["segments"])
class SegmentMembersCsvApi(APIView):
    """The whole member list of a published segment as CSV (streamed; spreadsheet-safe)."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments, CanExportMembers]

    @extend_schema(
        summary="Members of a published segment as CSV",
        operation_id="segments_members_csv",
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="A CSV file with a header line: " + ", ".join(MEMBER_FIELDS),
            ),
            **error_responses(401, 403, 404),
        },
    )
    def get(self, request, number: int):
        segment = _published_segment_or_404(number)
        rows = (
            segment_members(segment)
            .order_by("id")
            .values_list(
                "customer__external_id",
                "customer__country",
                *MEMBER_FIELDS[2:],
            )
        )
        filename = f"run-{segment.run_id}-segment-{segment.number}-members.csv"
        return csv_response(filename, MEMBER_FIELDS, rows.iterator(chunk_size=2000))


# ------------------------------------------------------------------------------ predict
PREDICT_EXAMPLES = [
    OpenApiExample(
        "Known customer",
        value={"customer_id": "17850"},
        request_only=True,
    ),
    OpenApiExample(
        "Raw features",
        value={
            "features": {
                "recency_days": 12,
                "frequency": 5,
                "monetary_total": 1200.5,
                "tenure_days": 300,
                "avg_basket_value": 240.1,
            }
        },
        request_only=True,
    ),
    OpenApiExample(
        "Batch",
        value={
            "customers": [
                {"customer_id": "17850"},
                {
                    "features": {
                        "recency_days": 200,
                        "frequency": 1,
                        "monetary_total": 80,
                        "tenure_days": 200,
                        "avg_basket_value": 80,
                    }
                },
            ]
        },
        request_only=True,
    ),
    OpenApiExample(
        "Stored segment",
        value={
            "run_id": 12,
            "customer_id": "17850",
            "segment_id": 0,
            "segment_name": "High-value loyal",
            "action": "Reward and retain: early access, loyalty perks; no discounts needed.",
            "value": "top",
            "engagement": "frequent",
            "activity": "active",
            "why": "bought 9 days ago (median), 14 orders, 5,120 spent: top 15% on spend, active",
            "confidence": 0.72,
            "source": "stored",
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "Batch results",
        value={
            "run_id": 12,
            "results": [
                {
                    "index": 0,
                    "customer_id": "17850",
                    "segment_id": 0,
                    "segment_name": "High-value loyal",
                    "action": "Reward and retain.",
                    "confidence": 0.72,
                    "source": "stored",
                    "error": None,
                },
                {
                    "index": 1,
                    "customer_id": "99999",
                    "segment_id": None,
                    "segment_name": None,
                    "action": None,
                    "confidence": None,
                    "source": None,
                    "error": "customer not in the published segmentation; send features instead",
                },
            ],
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "Feature out of range",
        value={
            "status": 400,
            "code": "invalid",
            "detail": "Some fields are not valid; see fields.",
            "fields": {
                "features": {"recency_days": ["Ensure this value is greater than or equal to 0."]}
            },
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Unknown customer",
        value={
            "status": 404,
            "code": "customer_not_in_segmentation",
            "detail": "customer not in the published segmentation; send features instead",
            "fields": {},
        },
        response_only=True,
        status_codes=["404"],
    ),
]
NOT_IN_SEGMENTATION = "customer not in the published segmentation; send features instead"


def _prediction(run_id: int, customer_id: str | None, p) -> dict:
    return {
        "run_id": run_id,
        "customer_id": customer_id,
        "segment_id": p.segment.number,
        "segment_name": p.segment.name,
        "action": p.segment.action,
        "value": p.segment.value,
        "engagement": p.segment.engagement,
        "activity": p.segment.activity,
        "why": p.segment.why,
        "confidence": p.confidence,
        "source": p.source,
    }


def _plain_customer_id_request(data) -> dict | None:
    """{"customer_id": ...} when the body is exactly a known-customer request that
    PredictRequestSerializer would accept unchanged (a trimmed, non-empty ASCII string within
    the length limit), else None and the serializer decides, with its error messages.

    The real-time path's most common request; building the nested serializer costs about a
    millisecond of field deep-copies, a large share of the request.
    """
    if not isinstance(data, dict) or len(data) != 1:
        return None
    value = data.get("customer_id")
    max_length = PredictRequestSerializer._declared_fields["customer_id"].max_length
    if (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and value == value.strip()
    ):
        return {"customer_id": value}
    return None


@extend_schema(tags=["predict"])
class PredictApi(APIView):
    """Which segment is this customer in? Real-time assignment with the published run.

    A known customer id answers the run's stored assignment (`source: stored`); raw features
    go through the run's predictor (`source: predicted`), loaded once per process and
    reloaded when another run is published.
    """

    # Predicting is a read: it changes nothing, it is only a POST because a batch of features
    # does not fit in a URL. So, unlike every other endpoint, read-only tokens may use it:
    # ReadOnlyTokenPermission (default) is deliberately left out here.
    permission_classes = [IsAuthenticated, CanViewSegments]
    throttle_scope = "predict"

    @extend_schema(
        summary="Assign customers to segments",
        description="Send exactly one of `customer_id` (a known customer), `features` (a "
        "customer's raw features; every feature the published run uses is required, "
        "`mean_days_between_purchases` may be null) or `customers` (a batch of up to 1,000 "
        "of either). A batch answers `results` in request order; a customer the published "
        "run does not know gets `error` instead of a segment, the others are still assigned.",
        request=PredictRequestSerializer,
        responses={
            200: OpenApiResponse(
                response=PolymorphicProxySerializer(
                    component_name="PredictResponse",
                    serializers=[PredictionSerializer, BatchPredictResponseSerializer],
                    resource_type_field_name=None,
                ),
                description="A Prediction for customer_id or features; a "
                "BatchPredictResponse (run_id and results in request order) for customers.",
            ),
            **error_responses(
                400,
                401,
                403,
                404,
                429,
                503,
                d404="No published run (code no_published_run), or a customer id the "
                "published run does not know (code customer_not_in_segmentation).",
                d503="The published run's predictor file cannot be read on this server.",
            ),
        },
        examples=PREDICT_EXAMPLES,
    )
    def post(self, request):
        try:
            model = published_model()
        except NoPublishedRun as error:
            raise _no_published_run() from error
        except PredictorUnavailable as error:
            raise ApiProblem(
                "The published run's predictor cannot be loaded on this server; "
                "ask an administrator to check the predictor file or publish the run again.",
                status=503,
                code="predictor_unavailable",
            ) from error
        data = _plain_customer_id_request(request.data)
        if data is None:
            serializer = PredictRequestSerializer(
                data=request.data, context={"required_features": model.features}
            )
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        if "customers" in data:
            return Response(self._batch(model, data["customers"]))
        if "customer_id" in data:
            customer_id = data["customer_id"]
            stored = stored_predictions(model, [customer_id]).get(customer_id)
            if stored is None:
                raise ApiProblem(
                    NOT_IN_SEGMENTATION, status=404, code="customer_not_in_segmentation"
                )
            return Response(_prediction(model.run_id, customer_id, stored))
        (predicted,) = predict_features(model, [data["features"]])
        return Response(_prediction(model.run_id, None, predicted))

    @staticmethod
    def _batch(model, items: list[dict]) -> dict:
        ids = [item["customer_id"] for item in items if "customer_id" in item]
        stored = stored_predictions(model, ids) if ids else {}
        with_features = [i for i, item in enumerate(items) if "features" in item]
        predicted = dict(
            zip(
                with_features,
                predict_features(model, [items[i]["features"] for i in with_features]),
                strict=True,
            )
        )
        results = []
        for index, item in enumerate(items):
            customer_id = item.get("customer_id")
            p = predicted.get(index) if customer_id is None else stored.get(customer_id)
            if p is None:
                results.append(
                    {
                        "index": index,
                        "customer_id": customer_id,
                        "segment_id": None,
                        "segment_name": None,
                        "action": None,
                        **dict.fromkeys(("value", "engagement", "activity", "why")),
                        "confidence": None,
                        "source": None,
                        "error": NOT_IN_SEGMENTATION,
                    }
                )
                continue
            row = _prediction(model.run_id, customer_id, p)
            del row["run_id"]
            results.append({"index": index, **row, "error": None})
        return {"run_id": model.run_id, "results": results}
