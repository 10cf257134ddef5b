"""REST API for transaction lines: read them (lookup_customers), or store lines sent as JSON
(import_data). Stored lines go through the file import's own normaliser and staging, so a
line sent here is checked, flagged (returns, fee lines) and de-duplicated exactly like a line
of an uploaded file.
"""

from __future__ import annotations

import zoneinfo

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.permissions import capability_permission
from common.api_errors import ApiProblem, error_responses
from common.api_pagination import StrictPageSizeMixin

from .json_lines import KeptOutMeanwhile, RowsInvalid, transaction_lines_create
from .models import TransactionLine
from .selectors import transaction_lines
from .serializers_transactions import (
    TransactionBulkErrorSerializer,
    TransactionBulkResultSerializer,
    TransactionBulkSerializer,
    TransactionLineInSerializer,
    TransactionLineSerializer,
)

CanLookUpCustomers = capability_permission("lookup_customers")
CanImport = capability_permission("import_data")
MAX_ROW_ERRORS = 1000


def _row_errors(errors: dict[int, dict | list]) -> list[dict]:
    """DRF's {index: {field: [messages]}} as rows of (index, field, message); a line that is
    not an object at all (null: DRF gives a bare list) is named as a whole."""
    rows = []
    for index, line_errors in sorted(errors.items()):
        if not isinstance(line_errors, dict):
            line_errors = {"non_field_errors": line_errors}
        for field, messages in line_errors.items():
            for message in messages if isinstance(messages, list) else [messages]:
                rows.append({"index": index, "field": field, "message": str(message)})
    return rows


def _invalid_rows(rows: list[dict], total: int) -> ApiProblem:
    bad_lines = len({r["index"] for r in rows})
    detail = f"{bad_lines} of {total} lines are not valid; nothing was stored."
    if len(rows) > MAX_ROW_ERRORS:
        detail += f" The first {MAX_ROW_ERRORS} of {len(rows)} errors are listed."
    return ApiProblem(
        detail,
        status=400,
        code="invalid_rows",
        extra={"rows": sorted(rows, key=lambda r: r["index"])[:MAX_ROW_ERRORS]},
    )


class TransactionFilter(filters.FilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", label="Customer id (exact)")

    class Meta:
        model = TransactionLine
        fields = ["customer"]


class TransactionCursorPagination(StrictPageSizeMixin, CursorPagination):
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000
    # The line table's key order, backwards: each page is a range of its one index (a
    # customer's lines newest first), not a sort of the whole table (docs/performance.md).
    ordering = ("-customer_id", "-timestamp", "-line_hash")


LINE_IN_EXAMPLE = {
    "customer_id": "17850",
    "invoice": "536365",
    "timestamp": "2011-12-01T08:26:00Z",
    "quantity": 6,
    "unit_price": 2.55,
    "product_code": "85123A",
    "description": "WHITE HANGING HEART T-LIGHT HOLDER",
    "country": "United Kingdom",
}


@extend_schema(tags=["transactions"])
@extend_schema_view(
    get=extend_schema(
        summary="List transaction lines",
        responses={200: TransactionLineSerializer(many=True), **error_responses(401, 403)},
    )
)
class TransactionListCreateApi(generics.ListAPIView):
    """GET: transaction lines, cursor-paginated: by customer, each customer's newest first;
    filter by customer.
    POST: store up to 5,000 lines sent as JSON, all or none."""

    serializer_class = TransactionLineSerializer
    pagination_class = TransactionCursorPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = TransactionFilter
    throttle_scope = "imports"

    def get_permissions(self):
        needed = CanLookUpCustomers if self.request.method in SAFE_METHODS else CanImport
        return [*super().get_permissions(), needed()]

    def get_throttles(self):
        return [] if self.request.method in SAFE_METHODS else super().get_throttles()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no workspace
            return TransactionLine.objects.none()
        return transaction_lines(workspace=self.request.workspace).select_related("customer")

    @extend_schema(
        summary="Store transaction lines",
        description="Lines are checked like the rows of an uploaded file (the same rules and "
        "messages); if any line is bad, nothing is stored and every bad line is listed in "
        "`rows` (index, field, message). Lines already stored (same content) are not stored "
        "twice. Customers are created as needed. Lines whose customer id stands for no customer "
        "(a guest sale), or whose customer the shop removed and keeps out, are counted in "
        "`lines_skipped`, not stored.",
        request=TransactionBulkSerializer,
        responses={
            201: TransactionBulkResultSerializer,
            400: OpenApiResponse(
                response=TransactionBulkErrorSerializer,
                description="Bad lines (code invalid_rows, listed in rows) or a bad request.",
            ),
            **error_responses(
                401,
                403,
                409,
                429,
                d409="A customer of the lines was removed and kept out while they were "
                "stored: nothing was stored; send them again.",
            ),
        },
        examples=[
            OpenApiExample("Two lines", value={"lines": [LINE_IN_EXAMPLE]}, request_only=True),
            OpenApiExample(
                "Stored",
                value={
                    "import_id": 41,
                    "lines_received": 1,
                    "lines_imported": 1,
                    "lines_duplicate": 0,
                    "customers_created": 1,
                    "lines_skipped": 0,
                },
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Bad lines",
                value={
                    "status": 400,
                    "code": "invalid_rows",
                    "detail": "1 of 2 lines are not valid; nothing was stored.",
                    "fields": {},
                    "rows": [{"index": 1, "field": "quantity", "message": "Number out of range."}],
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request):
        # A time without an offset is the workspace's local time, as in its files.
        with timezone.override(zoneinfo.ZoneInfo(request.workspace.time_zone)):
            return self._store(request)

    def _store(self, request):
        serializer = TransactionBulkSerializer(data=request.data)
        indices, type_errors = None, []
        if serializer.is_valid():
            lines = serializer.validated_data["lines"]
        else:
            errors = serializer.errors.get("lines")
            raw_lines = request.data.get("lines") if isinstance(request.data, dict) else None
            if not (
                isinstance(errors, dict)
                and errors
                and all(isinstance(i, int) for i in errors)
                and isinstance(raw_lines, list)
            ):
                # Not a list of lines at all: the standard 400 with DRF's field errors.
                serializer.is_valid(raise_exception=True)
            # Some lines have the wrong types or are not objects: check the others too, so
            # every bad line is reported in one answer.
            type_errors = _row_errors(errors)
            lines, indices = [], []
            for index, raw in enumerate(raw_lines):
                if index not in errors:
                    line = TransactionLineInSerializer(data=raw)
                    line.is_valid(raise_exception=True)
                    lines.append(line.validated_data)
                    indices.append(index)
        try:
            result = transaction_lines_create(
                workspace=request.workspace,
                lines=lines,
                user=request.user,
                indices=indices,
                earlier_errors=type_errors,
            )
        except RowsInvalid as invalid:
            raise _invalid_rows(invalid.rows, invalid.total) from invalid
        except KeptOutMeanwhile as raced:
            raise ApiProblem(str(raced), status=409, code="conflict") from raced
        moved = result.moved
        return Response(
            TransactionBulkResultSerializer(
                {
                    "import_id": result.import_record.pk,
                    "lines_received": result.received,
                    "lines_imported": moved.inserted,
                    "lines_duplicate": moved.not_stored,
                    "customers_created": moved.customers_created,
                    "lines_skipped": result.skipped,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
