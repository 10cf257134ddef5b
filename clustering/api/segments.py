"""The published segmentation: its segments, one segment, and a segment's members (paged, or
the whole list as CSV). Reading needs view_segments; the CSV also export_segment_members."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import PERSONAL_DATA_PERMISSION
from audit.log import record_members_exported
from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.report.ad_audience import ad_audience_response, addresses
from clustering.report.audience import (
    ACTIVITIES,
    DUE_WITHIN_MAX,
    AudienceRefused,
    audience_from,
    narrow,
)
from clustering.report.member_export import (
    MEMBER_EXPORT_FIELDS,
    FieldsRefused,
    member_export_fields,
    member_export_header,
    member_export_rows,
)
from clustering.selectors import run_published, run_segments, segment_members
from clustering.serializers import (
    PublishedSegmentsSerializer,
    SegmentMemberSerializer,
    SegmentSerializer,
)
from common.api_errors import ApiProblem, error_responses
from common.api_pagination import StrictPageSizeMixin
from common.csv_export import csv_response

from .base import (
    DEFAULT_PERMISSIONS,
    CanExportMembers,
    CanViewPersonalData,
    CanViewSegments,
    no_published_run,
)
from .examples import MEMBER_EXAMPLE, SEGMENT_EXAMPLE


def _published_run_or_404(workspace) -> SegmentationRun:
    run = run_published(workspace=workspace)
    if run is None:
        raise no_published_run()
    return run


def _published_segment_or_404(workspace, number: int) -> Segment:
    run = _published_run_or_404(workspace)
    segment = run_segments(run, workspace=workspace).filter(number=number).first()
    if segment is None:
        raise ApiProblem(
            f"The published segmentation has no segment {number}.", status=404, code="not_found"
        )
    segment.run = run  # read already: the members' filters use its rhythm
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
                    "horizon_days": 90,
                    "segments": [SEGMENT_EXAMPLE],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        run = _published_run_or_404(request.workspace)
        return Response(
            PublishedSegmentsSerializer(
                {
                    "run_id": run.pk,
                    "run_name": run.display_name,
                    "published_at": run.published_at,
                    "horizon_days": (run.value_ahead or {}).get("horizon_days"),
                    "segments": run_segments(run, workspace=request.workspace),
                },
                context={"request": request},
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
        return Response(
            SegmentSerializer(
                _published_segment_or_404(request.workspace, number), context={"request": request}
            ).data
        )


#: The audience filters of the members list and its CSV (clustering.report.audience).
AUDIENCE_PARAMETERS = [
    OpenApiParameter(
        "activity",
        str,
        enum=list(ACTIVITIES),
        description="Only members of this activity, as the members' `activity` says it: "
        "their own as of the run, by the shop's rhythm (the run report's active and lapsed "
        "days), or by P(alive) for members who bought again where P(alive) named the "
        "segment's activity (the segment's `activity_evidence`). 400 when the run did not "
        "measure the rhythm.",
    ),
    OpenApiParameter(
        "due_within",
        {"type": "integer", "minimum": 1, "maximum": DUE_WITHIN_MAX},
        description=f"Only members whose next order is due within this many days (1 to "
        f"{DUE_WITHIN_MAX}) of the run's date, as their `next_purchase_days` says: the wait "
        "within which half of the customers with their history buy again, if still a "
        "customer. 400 when the run did not estimate value ahead.",
    ),
    OpenApiParameter("country", str, description="Only members whose country is this one."),
]


def _audience_members(request, segment: Segment):
    """The segment's members the query's audience filters keep (400 naming a bad one)."""
    try:
        audience = audience_from(request.query_params, run=segment.run)
    except AudienceRefused as refused:
        raise ApiProblem(
            str(refused),
            status=400,
            code="invalid_filter",
            fields={refused.field: [str(refused)]},
        ) from refused
    members = narrow(
        segment_members(segment, workspace=request.workspace), audience, segment=segment
    )
    return audience, members


class MemberCursorPagination(StrictPageSizeMixin, CursorPagination):
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000
    # read from the run's (run, customer) key; by id PostgreSQL walked the primary key through
    # every older run's rows first (2.2 s at 1M with ten runs stored)
    ordering = ("customer_id",)


@extend_schema(tags=["segments"])
@extend_schema_view(
    get=extend_schema(
        summary="Members of a published segment",
        parameters=AUDIENCE_PARAMETERS,
        responses={
            200: SegmentMemberSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
        examples=[
            OpenApiExample(
                "A page of members",
                value={"next": None, "previous": None, "results": [MEMBER_EXAMPLE]},
                response_only=True,
            )
        ],
    )
)
class SegmentMembersApi(generics.ListAPIView):
    """The customers in a segment of the published run, cursor-paginated (stable while
    paging: a published run never changes)."""

    serializer_class = SegmentMemberSerializer
    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments]
    pagination_class = MemberCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database
            return SegmentAssignment.objects.none()
        return _audience_members(self.request, self._segment())[1]

    def _segment(self):
        if not hasattr(self, "_published_segment"):
            self._published_segment = _published_segment_or_404(
                self.request.workspace, self.kwargs["number"]
            )
        return self._published_segment

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        segment = self._segment()
        run = segment.run
        context.update(
            run=run,
            segment_names=dict(run.segments.values_list("number", "name")),
            segment_activity=segment.activity,
            segment_evidence=segment.activity_evidence,
            personal=self.request.user.has_perm(PERSONAL_DATA_PERMISSION),
        )
        return context


@extend_schema(tags=["segments"])
class SegmentMembersCsvApi(APIView):
    """The whole member list of a published segment as CSV (streamed; spreadsheet-safe)."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments, CanExportMembers]

    @extend_schema(
        summary="Members of a published segment as CSV",
        operation_id="segments_members_csv",
        parameters=[
            *AUDIENCE_PARAMETERS,
            OpenApiParameter(
                "fields",
                {"type": "array", "items": {"type": "string", "enum": list(MEMBER_EXPORT_FIELDS)}},
                style="form",
                explode=False,
                description="The columns to give, by key, comma-separated, in that order. The "
                "header line then holds the keys, which stay the same whatever the "
                "workspace's currency or the run's horizon, and columns added later do not "
                "shift a reader that asked for its own. email and name need a user who may "
                "see personal data (400 otherwise, as for an unknown key).",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="A CSV file a marketing tool can import, with a header line: "
                + ", ".join(member_export_header(currency="GBP", personal=True, horizon_days=90))
                + ". Amounts are rounded, in the workspace's currency (named in the headers); "
                "E-mail and Name appear only for tokens whose user may see personal data "
                "(managers and admins).",
            ),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request, number: int):
        segment = _published_segment_or_404(request.workspace, number)
        audience, members = _audience_members(request, segment)
        kept = ("activity_rhythm", "value_ahead")  # what the export reads of the run's report
        run = (
            SegmentationRun.objects.in_workspace(request.workspace)
            .defer(*SegmentationRun.report_data_fields(keep=kept))
            .get(pk=segment.run_id)
        )
        personal = request.user.has_perm(PERSONAL_DATA_PERMISSION)
        try:
            fields = member_export_fields(request.query_params.getlist("fields"), personal=personal)
        except FieldsRefused as refused:
            raise ApiProblem(
                str(refused), status=400, code="invalid_filter", fields={"fields": [str(refused)]}
            ) from refused
        header = member_export_header(
            currency=request.workspace.currency,
            personal=personal,
            horizon_days=(run.value_ahead or {}).get("horizon_days"),
            fields=fields,
        )
        filename = (
            f"run-{segment.run_id}-segment-{segment.number}-members{audience.file_suffix()}.csv"
        )
        record_members_exported(
            request=request,
            target=segment,
            what=audience.export_words(),
            rows=members.count(),
            personal=personal,
        )
        return csv_response(
            filename,
            header,
            member_export_rows(members, run=run, personal=personal, fields=fields),
        )


@extend_schema(tags=["segments"])
class SegmentAdAudienceCsvApi(APIView):
    """A published segment's members as an ad platform's customer list (hashed e-mails)."""

    permission_classes = [
        *DEFAULT_PERMISSIONS,
        CanViewSegments,
        CanExportMembers,
        CanViewPersonalData,
    ]

    @extend_schema(
        summary="Members of a published segment as an ad platform's customer list",
        operation_id="segments_ad_audience_csv",
        parameters=AUDIENCE_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="One column, Email: each member's e-mail address trimmed, "
                "lower-cased and hashed with SHA-256 (64 hexadecimal digits), as Google Ads "
                "Customer Match and Meta custom audiences take it. Members without an "
                "address are left out; an address two members share is one row. Only for "
                "tokens whose user may see personal data (managers and admins).",
            ),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request, number: int):
        segment = _published_segment_or_404(request.workspace, number)
        audience, members = _audience_members(request, segment)
        stem = f"run-{segment.run_id}-segment-{segment.number}-ad-audience"
        return ad_audience_response(
            request,
            emails=addresses(members, through="customer"),
            target=segment,
            what=audience.export_words(),
            filename=f"{stem}{audience.file_suffix()}.csv",
        )
