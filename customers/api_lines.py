"""REST API for removing stored lines: undo an import (its lines go, the record stays, marked
undone) or remove one line by its id. Managers only (the import_data capability)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from common.api_errors import ApiProblem, error_responses

from .line_removal import (
    LinesNotRemovable,
    LinesRemoved,
    import_record_undo,
    transaction_line_remove,
)
from .models import ImportRecord, TransactionLine
from .selectors import import_record_get

CanImport = capability_permission("import_data")


class LinesRemovedSerializer(serializers.Serializer):
    lines_removed = serializers.IntegerField(help_text="Transaction lines deleted.")
    customers_updated = serializers.IntegerField(
        help_text="Customers who keep other lines; their first/last dates and country were "
        "recomputed from those."
    )
    customers_deleted = serializers.IntegerField(help_text="Customers left with no lines.")


class ImportUndoneSerializer(LinesRemovedSerializer):
    import_id = serializers.IntegerField()
    status = serializers.CharField()
    undone_by = serializers.CharField(allow_null=True)
    undone_at = serializers.DateTimeField()


def removed_counts(removed: LinesRemoved) -> dict:
    return {
        "lines_removed": removed.lines,
        "customers_updated": removed.customers_updated,
        "customers_deleted": removed.customers_deleted,
    }


@extend_schema(tags=["imports"])
class ImportUndoApi(APIView):
    permission_classes = [*APIView.permission_classes, CanImport]

    @extend_schema(
        summary="Undo an import",
        description="Removes the lines this import stored (lines it found already stored "
        "belong to the earlier import and stay), recomputes the affected customers' dates "
        "and deletes customers left with no lines. The import stays, with status `undone`, "
        "who undid it and when. Runs started later do not see the lines; a run in progress "
        "reads the data as it was when it started.",
        request=None,
        responses={
            200: ImportUndoneSerializer,
            **error_responses(
                401, 403, 404, 409, d409="The import is already undone, or did not succeed."
            ),
        },
        examples=[
            OpenApiExample(
                "Undone",
                value={
                    "import_id": 41,
                    "status": "undone",
                    "undone_by": "manager",
                    "undone_at": "2026-12-02T10:30:00Z",
                    "lines_removed": 1200,
                    "customers_updated": 80,
                    "customers_deleted": 12,
                },
                response_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        workspace = request.workspace
        try:
            removed = import_record_undo(
                workspace=workspace, import_record_id=pk, user=request.user
            )
        except ImportRecord.DoesNotExist as exc:
            raise Http404 from exc
        except LinesNotRemovable as exc:
            raise ApiProblem(str(exc), status=409, code="conflict") from exc
        record = import_record_get(workspace=workspace, pk=pk)
        body = {
            "import_id": record.pk,
            "status": record.status,
            "undone_by": record.undone_by.get_username() if record.undone_by else None,
            "undone_at": record.undone_at,
            **removed_counts(removed),
        }
        return Response(ImportUndoneSerializer(body).data)


@extend_schema(tags=["transactions"])
class TransactionLineDetailApi(APIView):
    permission_classes = [*APIView.permission_classes, CanImport]

    @extend_schema(
        summary="Remove a transaction line",
        description="Removes one line by its id (the `id` the transactions list gives). Its "
        "customer's dates are recomputed from the lines left, or the customer is deleted "
        "when none is left; the import that stored the line notes who removed it and when. "
        "Uploading the same file again stores the line again, unless it is rejected then.",
        request=None,
        responses={200: LinesRemovedSerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, line_id) -> Response:
        try:
            removed = transaction_line_remove(
                workspace=request.workspace, line_id=line_id, user=request.user
            )
        except TransactionLine.DoesNotExist as exc:
            raise Http404 from exc
        return Response(LinesRemovedSerializer(removed_counts(removed)).data)
