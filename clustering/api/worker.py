"""The background worker's health: when it last executed a task, and asking it to check in."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clustering.selectors import worker_is_recent, worker_last_seen
from clustering.services import worker_ping_request
from common.api_errors import error_responses

from .base import CanManageRuns

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
            return [*super().get_permissions(), CanManageRuns()]
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

    @extend_schema(
        request=None,
        responses={202: None, **error_responses(503, d503="The task queue is unavailable.")},
    )
    def post(self, request):
        worker_ping_request()
        return Response(status=status.HTTP_202_ACCEPTED)
