"""The workspace's schedule over the API: GET for who may read run reports, PUT for who
manages runs. The workspace is the token's (or /w/<slug>/ in a browser session)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from common.api_errors import error_responses

from .serializers import ScheduleSerializer
from .services import EDITABLE_FIELDS, schedule_get_or_default, schedule_save

CanManageRuns = capability_permission("manage_runs")
CanViewRunReports = capability_permission("view_run_reports")

SCHEDULE_EXAMPLE = {
    "enabled": True,
    "frequency": "weekly",
    "hour": 6,
    "minute": 30,
    "day_of_week": 1,
    "day_of_month": 1,
    "cron_expression": "",
    "min_stability": "stable",
    "same_segment_count": True,
    "max_member_loss": 0.3,
    "time_zone": "Europe/London",
    "describe": "every Monday at 06:30",
    "next_firing": "2024-03-04T06:30:00+00:00",
    "last_outcome": "Did not start a run: no new data since the published run.",
    "last_fired_at": "2024-02-26T06:30:00Z",
    "updated_by": "manager",
    "updated_at": "2024-02-20T10:00:00Z",
}


@extend_schema(tags=["schedule"])
class ScheduleApi(APIView):
    """GET: when the segmentation refreshes, its guards and what the last firing did.
    PUT: change it (every setting, as the page's form sends them)."""

    def get_permissions(self):
        needed = CanViewRunReports if self.request.method in SAFE_METHODS else CanManageRuns
        return [*super().get_permissions(), needed()]

    @extend_schema(
        summary="Get the schedule",
        responses={200: ScheduleSerializer, **error_responses(401, 403)},
        examples=[OpenApiExample("Weekly", value=SCHEDULE_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        schedule = schedule_get_or_default(workspace=request.workspace)
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(
        summary="Change the schedule",
        description="Sets when the published segmentation is re-run on new data and the "
        "guards a scheduled run must pass to publish itself. Hour and minute are in the "
        "workspace's time zone; `cron_expression` is read only with frequency `cron`. Bad "
        'values answer 400 naming the field, e.g. `{"cron_expression": ["...needs five '
        'fields..."]}`.',
        request=ScheduleSerializer,
        responses={200: ScheduleSerializer, **error_responses(400, 401, 403)},
        examples=[
            OpenApiExample(
                "Weekly on Mondays",
                value={k: SCHEDULE_EXAMPLE[k] for k in EDITABLE_FIELDS},
                request_only=True,
            )
        ],
    )
    def put(self, request):
        schedule = schedule_get_or_default(workspace=request.workspace)
        serializer = ScheduleSerializer(schedule, data=request.data)
        serializer.is_valid(raise_exception=True)
        values = {n: v for n, v in serializer.validated_data.items() if n in EDITABLE_FIELDS}
        saved = schedule_save(
            workspace=request.workspace, user=request.user, values=values, request=request
        )
        return Response(ScheduleSerializer(saved).data)
