"""GET /api/v1/audit/: the workspace's audit log for its admins' tokens (read-only: the
view answers GET only, so no method changes an entry)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.settings import api_settings

from common.api_errors import ApiProblem

from .forms import AuditFilterForm
from .models import AuditEntry
from .permissions import CanViewAuditLog
from .selectors import audit_entries


class AuditTargetSerializer(serializers.Serializer):
    type = serializers.CharField(
        source="target_type", help_text="app_label.model, e.g. clustering.segmentationrun"
    )
    id = serializers.CharField(source="target_id")
    name = serializers.CharField(
        source="target_repr", help_text="Its name when the action was done."
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_name",
        help_text='Who acted: a username, "the schedule", "the command line" or "the system".',
    )
    target = AuditTargetSerializer(
        source="*", help_text="What the action was about (empty strings: nothing)."
    )

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "action", "target", "address", "details"]


DEFAULT_PERMISSIONS: list = list(api_settings.DEFAULT_PERMISSION_CLASSES)
_FILTERS = [
    OpenApiParameter("action", str, enum=AuditEntry.Action.values, description="Only this action."),
    OpenApiParameter("actor", str, description='Only this actor (a username, "the schedule" ...).'),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="From this day (included)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="To this day (included)."),
]


@extend_schema(tags=["audit"], parameters=_FILTERS)
class AuditEntryListApi(generics.ListAPIView):
    """The workspace's audit log, newest first: who did what, to what, from which address.
    Admins' tokens only; entries are never changed or deleted."""

    serializer_class = AuditEntrySerializer
    permission_classes = [*DEFAULT_PERMISSIONS, CanViewAuditLog]

    def get_queryset(self):
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
            raise ApiProblem(
                "The filters cannot be used: "
                + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in fields.items()),
                status=400,
                code="invalid_filter",
                fields=fields,
            )
        return audit_entries(workspace=self.request.workspace, **form.filters())
