"""REST API for customers (with their published segment) and transaction lines.

Customers and transactions are read with lookup_customers; storing transactions as JSON
needs import_data and goes through the file import's own normaliser and staging, so a line
sent here is checked, flagged (returns, fee lines) and de-duplicated exactly like a line of
an uploaded file.
"""

from __future__ import annotations

from django.db.models import CharField, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.filters import SearchFilter
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from clustering.models import SegmentAssignment
from clustering.selectors import customer_segment_history, run_published
from segmentation_site.api_errors import ApiProblem, error_responses

from .models import Customer, TransactionLine
from .selectors import customer_list, transaction_lines
from .serializers_customers import (
    CustomerDetailSerializer,
    CustomerSerializer,
    TransactionBulkErrorSerializer,
    TransactionBulkResultSerializer,
    TransactionBulkSerializer,
    TransactionLineInSerializer,
    TransactionLineSerializer,
)
from .services import RowsInvalid, transaction_lines_create

CanLookUpCustomers = capability_permission("lookup_customers")
CanImport = capability_permission("import_data")
DEFAULT_PERMISSIONS = list(api_settings.DEFAULT_PERMISSION_CLASSES)
MAX_ROW_ERRORS = 1000


# ------------------------------------------------------------------------------ customers
def _published_run_id() -> int | None:
    run = run_published()
    return run.pk if run else None


def customers_with_published_segment(run_id: int | None) -> QuerySet[Customer]:
    """Customers annotated with their segment (number, name) in the published run."""
    if run_id is None:
        return customer_list().annotate(
            published_segment_number=Value(None, output_field=IntegerField()),
            published_segment_name=Value(None, output_field=CharField()),
        )
    assignment = SegmentAssignment.objects.filter(run_id=run_id, customer_id=OuterRef("pk"))
    return customer_list().annotate(
        published_segment_number=Subquery(assignment.values("segment__number")[:1]),
        published_segment_name=Subquery(assignment.values("segment__name")[:1]),
    )


class CustomerFilter(filters.FilterSet):
    country = filters.CharFilter(field_name="country", lookup_expr="iexact")
    segment = filters.NumberFilter(
        method="filter_segment", label="Segment number in the published run"
    )

    class Meta:
        model = Customer
        fields = ["country", "segment"]

    def filter_segment(self, queryset, name, value):
        run_id = _published_run_id()
        if run_id is None:
            return queryset.none()
        return queryset.filter(
            segment_assignments__run_id=run_id, segment_assignments__segment__number=value
        )


CUSTOMER_EXAMPLE = {
    "customer_id": "17850",
    "country": "United Kingdom",
    "first_purchase_at": "2010-12-01T08:26:00Z",
    "last_purchase_at": "2010-12-02T15:27:00Z",
    "last_seen_at": "2011-02-10T14:38:00Z",
    "segment_id": 0,
    "segment_name": "High-value loyal",
}


@extend_schema(tags=["customers"])
class CustomerListApi(generics.ListAPIView):
    """Customers, with their segment in the published run. Filter by country or segment
    number; `search` finds customer ids starting with the text."""

    serializer_class = CustomerSerializer
    permission_classes = [*DEFAULT_PERMISSIONS, CanLookUpCustomers]
    filter_backends = [filters.DjangoFilterBackend, SearchFilter]
    filterset_class = CustomerFilter
    search_fields = ["^external_id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database
            return Customer.objects.none()
        return customers_with_published_segment(_published_run_id()).order_by("external_id")

    @extend_schema(
        summary="List customers",
        responses={200: CustomerSerializer(many=True), **error_responses(400, 401, 403)},
        examples=[
            OpenApiExample(
                "A page of customers",
                value={"count": 1, "next": None, "previous": None, "results": [CUSTOMER_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def customer_detail_data(customer: Customer) -> dict:
    history = list(customer_segment_history(customer.pk))
    current = next((a for a in history if a.run.is_published), None)
    return {
        "customer_id": customer.external_id,
        "country": customer.country,
        "first_purchase_at": customer.first_purchase_at,
        "last_purchase_at": customer.last_purchase_at,
        "last_seen_at": customer.last_seen_at,
        "segment": None
        if current is None
        else {
            "run_id": current.run_id,
            "segment_id": current.segment.number,
            "segment_name": current.segment.name,
            "action": current.segment.action,
            "confidence": current.confidence,
            "rfm_segment": current.rfm_segment,
        },
        "features": None
        if current is None
        else {name: getattr(current, name) for name in SegmentAssignment.FEATURE_FIELDS},
        "segment_history": [
            {
                "run_id": a.run_id,
                "run_name": a.run.name,
                "published_at": a.run.published_at,
                "is_published": a.run.is_published,
                "segment_id": a.segment.number,
                "segment_name": a.segment.name,
                "confidence": a.confidence,
            }
            for a in history
        ],
    }


@extend_schema(tags=["customers"])
class CustomerDetailApi(APIView):
    """One customer by their id: current segment and the features the published run judged
    them on, and their segment in every run ever published."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanLookUpCustomers]

    @extend_schema(
        summary="Get a customer",
        responses={200: CustomerDetailSerializer, **error_responses(401, 403, 404)},
        examples=[
            OpenApiExample(
                "Customer",
                value={
                    "customer_id": "17850",
                    "country": "United Kingdom",
                    "first_purchase_at": "2010-12-01T08:26:00Z",
                    "last_purchase_at": "2010-12-02T15:27:00Z",
                    "last_seen_at": "2011-02-10T14:38:00Z",
                    "segment": {
                        "run_id": 12,
                        "segment_id": 0,
                        "segment_name": "High-value loyal",
                        "action": "Reward and retain.",
                        "confidence": 0.72,
                        "rfm_segment": "Champions",
                    },
                    "features": {
                        "recency_days": 2.0,
                        "frequency": 34.0,
                        "monetary_total": 5391.2,
                        "tenure_days": 373.0,
                        "avg_basket_value": 158.6,
                        "distinct_products": 21.0,
                        "return_rate": 0.02,
                        "mean_days_between_purchases": 11.3,
                    },
                    "segment_history": [
                        {
                            "run_id": 12,
                            "run_name": "Spring review",
                            "published_at": "2024-03-02T10:00:00Z",
                            "is_published": True,
                            "segment_id": 0,
                            "segment_name": "High-value loyal",
                            "confidence": 0.72,
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, customer_id: str):
        customer = get_object_or_404(customer_list(), external_id=customer_id)
        return Response(CustomerDetailSerializer(customer_detail_data(customer)).data)


# ------------------------------------------------------------------------------ transactions
def _row_errors(errors: dict[int, dict]) -> list[dict]:
    """DRF's {index: {field: [messages]}} as rows of (index, field, message)."""
    rows = []
    for index, line_errors in sorted(errors.items()):
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


class TransactionCursorPagination(CursorPagination):
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000
    # The line table's key order, backwards: each page is a range of its one index (a
    # customer's lines newest first). Newest first over all lines would sort the whole
    # table for every page (0.2-0.35 s for Online Retail).
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
        return transaction_lines().select_related("customer")

    @extend_schema(
        summary="List transaction lines",
        responses={200: TransactionLineSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Store transaction lines",
        description="Lines are checked like the rows of an uploaded file (the same rules and "
        "messages); if any line is bad, nothing is stored and every bad line is listed in "
        "`rows` (index, field, message). Lines already stored (same content) are not stored "
        "twice. Customers are created as needed.",
        request=TransactionBulkSerializer,
        responses={
            201: TransactionBulkResultSerializer,
            400: OpenApiResponse(
                response=TransactionBulkErrorSerializer,
                description="Bad lines (code invalid_rows, listed in rows) or a bad request.",
            ),
            **error_responses(401, 403, 429),
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
        serializer = TransactionBulkSerializer(data=request.data)
        indices, type_errors = None, []
        if serializer.is_valid():
            lines = serializer.validated_data["lines"]
        else:
            errors = serializer.errors.get("lines")
            if not (
                isinstance(errors, dict) and errors and all(isinstance(i, int) for i in errors)
            ):
                serializer.is_valid(raise_exception=True)
            # Some lines have the wrong types: check the others too, so every bad line is
            # reported in one answer.
            type_errors = _row_errors(errors)
            lines, indices = [], []
            for index, raw in enumerate(request.data["lines"]):
                if index not in errors:
                    line = TransactionLineInSerializer(data=raw)
                    line.is_valid(raise_exception=True)
                    lines.append(line.validated_data)
                    indices.append(index)
        try:
            result = transaction_lines_create(
                lines=lines, user=request.user, indices=indices, earlier_errors=type_errors
            )
        except RowsInvalid as invalid:
            raise _invalid_rows(invalid.rows, invalid.total) from invalid
        moved = result.moved
        return Response(
            TransactionBulkResultSerializer(
                {
                    "import_id": result.import_record.pk,
                    "lines_received": result.received,
                    "lines_imported": moved.inserted,
                    "lines_duplicate": moved.not_stored,
                    "customers_created": moved.customers_created,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
