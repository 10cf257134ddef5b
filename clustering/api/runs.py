"""Segmentation runs: list and start, one run, cancel, publish, its candidates and its report.

Reading needs view_run_reports; starting and cancelling manage_runs; publishing publish_runs.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from clustering.engine.types import InvalidParameters
from clustering.models import SegmentationRun
from clustering.params import params_from_input
from clustering.report.data import run_report_data
from clustering.selectors import run_candidates, run_list
from clustering.serializers import (
    CandidateSerializer,
    RunCreateSerializer,
    RunReportSerializer,
    RunSerializer,
)
from clustering.services import RunError, run_cancel, run_create, run_publish, with_shop_k_max
from common.api_errors import ApiProblem, error_responses

from .base import DEFAULT_PERMISSIONS, CanManageRuns, CanPublishRuns, CanViewRunReports
from .examples import CANDIDATE_EXAMPLE, REPORT_EXAMPLE, RUN_EXAMPLE


def _run_or_404(workspace, pk: int) -> SegmentationRun:
    return get_object_or_404(run_list(workspace=workspace), pk=pk)


@extend_schema(tags=["runs"])
@extend_schema_view(
    get=extend_schema(
        summary="List runs",
        responses={200: RunSerializer(many=True), **error_responses(401, 403)},
    )
)
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
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return SegmentationRun.objects.none()
        return run_list(workspace=self.request.workspace)

    @extend_schema(
        summary="Start a run",
        description="Queues a segmentation run for the worker. Every parameter is optional "
        "(the engine's recommended defaults apply; a shop of fewer than 100 customers is "
        "tried with at most one segment per 10 customers when `k_max` is not given). "
        "Parameters the engine refuses answer 400 "
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
        raw, k_max_by_shop_size = with_shop_k_max(workspace=request.workspace, data=raw)
        try:
            params = params_from_input(raw)
            run = run_create(
                workspace=request.workspace,
                user=request.user,
                params=params,
                name=serializer.validated_data["name"],
                k_max_by_shop_size=k_max_by_shop_size,
            )
        except InvalidParameters as error:
            raise serializers.ValidationError({error.field: [error.message]}) from error
        response = Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{run.pk}/")
        return response


@extend_schema(tags=["runs"])
@extend_schema_view(
    get=extend_schema(
        summary="Get a run",
        responses={200: RunSerializer, **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Running", value=RUN_EXAMPLE, response_only=True)],
    )
)
class RunDetailApi(generics.RetrieveAPIView):
    """One run: status, stage and progress while it runs; the chosen model when done."""

    serializer_class = RunSerializer
    permission_classes = [*DEFAULT_PERMISSIONS, CanViewRunReports]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return SegmentationRun.objects.none()
        return run_list(workspace=self.request.workspace)


class _RunActionApi(APIView):
    throttle_scope = "runs"
    action = ""

    def perform(self, *, workspace, run_id: int, user) -> SegmentationRun:
        raise NotImplementedError

    def post(self, request, pk: int):
        workspace = request.workspace
        if not SegmentationRun.objects.in_workspace(workspace).filter(pk=pk).exists():
            raise ApiProblem("No run with this id.", status=404, code="not_found")
        try:
            self.perform(workspace=workspace, run_id=pk, user=request.user)
        except RunError as error:
            raise ApiProblem(str(error), status=409, code="run_state") from error
        return Response(RunSerializer(_run_or_404(workspace, pk)).data)


@extend_schema(tags=["runs"])
@extend_schema_view(
    post=extend_schema(
        summary="Cancel a run",
        request=None,
        responses={
            200: RunSerializer,
            **error_responses(401, 403, 404, 409, 429, d409="The run has already finished."),
        },
    )
)
class RunCancelApi(_RunActionApi):
    """Cancel a queued run at once, or ask a running run to stop at its next checkpoint."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanManageRuns]

    def perform(self, *, workspace, run_id, user):
        return run_cancel(workspace=workspace, run_id=run_id, user=user)


@extend_schema(tags=["runs"])
@extend_schema_view(
    post=extend_schema(
        summary="Publish a run",
        request=None,
        responses={
            200: RunSerializer,
            **error_responses(
                401, 403, 404, 409, 429, d409="Only a succeeded run can be published."
            ),
        },
    )
)
class RunPublishApi(_RunActionApi):
    """Make a succeeded run the published segmentation (the one the API and pages use)."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanPublishRuns]

    def perform(self, *, workspace, run_id, user):
        return run_publish(workspace=workspace, run_id=run_id, user=user)


@extend_schema(tags=["runs"])
class RunCandidatesApi(APIView):
    """Every (algorithm, k) the run fitted, with its validation scores."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewRunReports]

    @extend_schema(
        summary="Candidates of a run",
        responses={200: CandidateSerializer(many=True), **error_responses(401, 403, 404)},
        examples=[OpenApiExample("One candidate", value=[CANDIDATE_EXAMPLE], response_only=True)],
    )
    def get(self, request, pk: int):
        run = _run_or_404(request.workspace, pk)
        candidates = run_candidates(run, workspace=request.workspace)
        return Response(CandidateSerializer(candidates, many=True).data)


@extend_schema(tags=["runs"])
class RunReportApi(APIView):
    """Everything the run stored: parameters, data summary, preprocessing, choice, stability,
    PCA points, RFM comparison, candidates and segment profiles (the report page's data)."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewRunReports]

    @extend_schema(
        summary="Report data of a run",
        responses={200: RunReportSerializer, **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Report (abridged)", value=REPORT_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        # the whole run, report and all
        run = get_object_or_404(run_list(workspace=request.workspace).defer(None), pk=pk)
        return Response({**run_report_data(run), "currency": request.workspace.currency})
