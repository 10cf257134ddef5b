"""REST API for customers with their segment in the published run, of the request's
workspace (the token's, or /w/<slug>/ for a browser session): another workspace's customer
is 404, and lists hold only this workspace's.

It joins customers and clustering, so it lives here, above both (the app layers in
pyproject.toml). Reading needs lookup_customers.
"""

from __future__ import annotations

from django import forms
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    QuerySet,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import SearchFilter
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from accounts.roles import PERSONAL_DATA_PERMISSION
from clustering.engine.value import ASSIGNED_VALUE_COLUMNS
from clustering.history import customer_history
from clustering.models import Segment, SegmentAssignment
from clustering.report.member_fit import assignment_fit
from clustering.selectors import customer_segment_history, run_published
from common.api_errors import ApiProblem, error_responses
from common.derived_cache import customers_version
from customers.api_lines import LinesRemovedSerializer, removed_counts
from customers.erasure import customer_contact_erase, customers_contact_erase
from customers.kept_out import kept_out_entry
from customers.line_removal import customer_remove
from customers.models import Customer, KeptOutCustomer
from customers.selectors import customer_ids_for_email

from .serializers import (
    BulkErasureRequestSerializer,
    BulkErasureSerializer,
    ContactSerializer,
    CustomerDetailSerializer,
    CustomerRemoveQuerySerializer,
    CustomerSerializer,
)

CanLookUpCustomers = capability_permission("lookup_customers")
CanSeePersonalData = capability_permission("view_personal_data")
CanImport = capability_permission("import_data")
DEFAULT_PERMISSIONS = list(api_settings.DEFAULT_PERMISSION_CLASSES)


def _published_run_id(workspace) -> int | None:
    run = run_published(workspace=workspace)
    return run.pk if run else None


#: A customer's value ahead over the run's horizon, as the run stored it (null: not estimated).
VALUE_AHEAD_FIELDS = ASSIGNED_VALUE_COLUMNS


def with_published_segment(customers: list[Customer], *, workspace, run_id: int | None) -> list:
    """The customers (one page of them) with their segment (number, name) in the published
    run and their value ahead in it (p_alive, expected_purchases, expected_value), read in
    one query for the page: as subqueries of the list, every customer skipped by the page's
    offset was looked up too (seconds deep into a million customers)."""
    found: dict[int, dict] = {}
    if run_id is not None and customers:
        found = {
            row["customer_id"]: row
            for row in SegmentAssignment.objects.in_workspace(workspace)
            .filter(run_id=run_id, customer_id__in=[c.pk for c in customers])
            .values("customer_id", "segment__number", "segment__name", *VALUE_AHEAD_FIELDS)
        }
    for customer in customers:
        row = found.get(customer.pk, {})
        customer.published_segment_number = row.get("segment__number")
        customer.published_segment_name = row.get("segment__name")
        for name in VALUE_AHEAD_FIELDS:
            setattr(customer, name, row.get(name))
    return customers


#: How long a workspace's customer count is kept (its key changes when customers come or go).
CUSTOMERS_COUNT_SECONDS = 24 * 60 * 60


def customers_count(workspace) -> int:
    """The workspace's number of customers, cached under a key that changes whenever
    customers are added or removed (docs/decisions/api-customer-count.md): the workspace's
    customers version (bumped when customers are deleted) and the highest customer id of
    any workspace (ids only grow, so any import that adds customers raises it). Read in that
    order, before the count, so a count is never stored under a key newer than itself."""
    version = customers_version(workspace.pk)
    with connection.cursor() as cursor:
        # The id high-water mark only (one index probe), not another workspace's data.
        cursor.execute(f"SELECT MAX(id) FROM {Customer._meta.db_table}")  # noqa: S608 - a model name
        (highest,) = cursor.fetchone()
    key = f"api:customers-count:{workspace.pk}:{version}:{highest}"
    count = cache.get(key)
    if count is None:
        count = Customer.objects.in_workspace(workspace).count()
        cache.set(key, count, CUSTOMERS_COUNT_SECONDS)
    return count


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 2**31 - 1})
class SegmentNumberFilter(filters.NumberFilter):
    """A segment's number is a whole number in the database's integer range (the decimal
    filter was documented as any number, so the schema promised values the form refused)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=0, max_value=2**31 - 1, **kwargs)


class CustomerFilter(filters.FilterSet):
    country = filters.CharFilter(field_name="country", lookup_expr="iexact")
    segment = SegmentNumberFilter(
        method="filter_segment", label="Segment number in the published run"
    )
    email = filters.CharFilter(
        method="filter_email",
        max_length=254,
        label="The customers with this e-mail, case aside (one person may be several "
        "customers), or whose id is its pseudonym (files that named customers by e-mail); "
        "only for those who see personal data (403 otherwise).",
    )

    class Meta:
        model = Customer
        fields = ["country", "segment", "email"]

    def filter_email(self, queryset, name, value):
        if not self.request.user.has_perm(PERSONAL_DATA_PERMISSION):
            raise PermissionDenied("Filtering by e-mail needs access to personal data.")
        ids = customer_ids_for_email(workspace=self.request.workspace, email=value)
        return queryset.filter(external_id__in=ids)

    def filter_segment(self, queryset, name, value):
        run_id = _published_run_id(self.request.workspace)
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
    "segment_number": 0,
    "segment_id": 0,
    "segment_name": "High-value loyal",
    "p_alive": 0.98,
    "expected_purchases": 7.4,
    "expected_value": 1190.35,
    "next_purchase_days": 8.5,
    "currency": "GBP",
}


@extend_schema(tags=["customers"])
@extend_schema_view(
    get=extend_schema(
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
)
class CustomerListApi(generics.ListAPIView):
    """Customers, with their segment in the published run. Filter by country or segment
    number; `search` finds customer ids starting with the text."""

    serializer_class = CustomerSerializer
    permission_classes = [*DEFAULT_PERMISSIONS, CanLookUpCustomers]
    filter_backends = [filters.DjangoFilterBackend, SearchFilter]
    filterset_class = CustomerFilter
    search_fields = ["^external_id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no workspace: an empty queryset, built without a manager.
            return QuerySet(Customer).none()
        return Customer.objects.in_workspace(self.request.workspace).order_by("external_id")

    def paginated_count(self, queryset) -> int | None:
        """All the workspace's customers: the cached count. One published segment's: its
        assignments, counted on the segment's index (counted as the list's join of customers
        and assignments, 2 s for a 441,871-member segment at 1M). Other filters: counted."""
        filtered = {*CustomerFilter.base_filters, "search"} & set(self.request.query_params)
        if not filtered:
            return customers_count(self.request.workspace)
        if filtered == {"segment"}:  # the filter has validated the number
            return _published_segment_size(
                self.request.workspace, int(self.request.query_params["segment"])
            )
        return None

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        workspace = request.workspace
        rows = with_published_segment(
            list(page or []), workspace=workspace, run_id=_published_run_id(workspace)
        )
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


def _published_segment_size(workspace, number: int) -> int:
    """How many customers segment ``number`` of the published run holds now (customers
    deleted since are gone with their assignments)."""
    run_id = _published_run_id(workspace)
    if run_id is None:
        return 0
    segment = Segment.objects.in_workspace(workspace).filter(run_id=run_id, number=number).first()
    if segment is None:
        return 0
    # the segment is the workspace's: its own index alone (joined with the workspace's runs,
    # PostgreSQL intersected the segment's rows with each run's: 1 s at 1M)
    return segment.assignments.count()


def customer_detail_data(customer: Customer, *, workspace, personal: bool = False) -> dict:
    """`personal`: with the customer's e-mail and name (roles that may see personal data)."""
    history = list(customer_segment_history(customer.pk, workspace=workspace))
    current = next((a for a in history if a.run.is_published), None)
    fit = assignment_fit(current, current.run) if current is not None else None
    return {
        "customer_id": customer.external_id,
        "country": customer.country,
        "first_purchase_at": customer.first_purchase_at,
        "last_purchase_at": customer.last_purchase_at,
        "last_seen_at": customer.last_seen_at,
        "currency": workspace.currency,  # of the amounts below
        "contact": contact_data(customer) if personal else None,
        "segment": None
        if current is None
        else {
            "run_id": current.run_id,
            "segment_number": current.segment.number,
            "segment_id": current.segment.number,  # deprecated: the same number
            "segment_name": current.segment.name,
            "action": current.segment.action,
            "confidence": current.confidence,
            "rfm_segment": current.rfm_segment,
            "fit": fit.words,
            "runner_up": fit.runner_up,
            "activity": fit.activity,
            "activity_by": fit.activity_by if fit.activity else None,
            "activity_warning": fit.warning,
            # the run's JSON fields are deferred: one query, for the current run only
            "horizon_days": (current.run.value_ahead or {}).get("horizon_days"),
            **{name: getattr(current, name) for name in VALUE_AHEAD_FIELDS},
        },
        "features": None
        if current is None
        else {name: getattr(current, name) for name in SegmentAssignment.FEATURE_FIELDS},
        "segment_history": [
            {
                "run_id": a.run_id,
                "run_name": a.run.display_name,
                "published_at": a.run.published_at,
                "is_published": a.run.is_published,
                "segment_number": a.segment.number,
                "segment_id": a.segment.number,
                "segment_name": a.segment.name,
                "confidence": a.confidence,
                **{name: getattr(a, name) for name in VALUE_AHEAD_FIELDS},
            }
            for a in history
        ],
        # every publication, "not in this run" included (clustering.history)
        "history": [
            {
                "publication_id": h.publication.pk,
                "published_at": h.published_at,
                "run_id": h.run.pk,
                "run_name": h.run.display_name,
                "is_current": h.is_current,
                "in_run": h.in_run,
                "segment_number": h.segment_number,
                "segment_id": h.segment_number,
                "segment_name": h.segment_name,
                "confidence": h.confidence,
            }
            for h in customer_history(workspace=workspace, customer=customer)
        ],
    }


@extend_schema(tags=["customers"])
class CustomerDetailApi(APIView):
    """One customer by their id: current segment and the features the published run judged
    them on, and their segment in every run ever published."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanLookUpCustomers]

    @extend_schema(
        summary="Get a customer",
        responses={
            200: CustomerDetailSerializer,
            **error_responses(
                401,
                403,
                404,
                d404="No such customer; code customer_removed for one removed and kept out "
                "of imports, customer_kept_out for one kept out before any line of theirs "
                "was stored (the detail says when).",
            ),
        },
        examples=[
            OpenApiExample(
                "Customer",
                value={
                    "customer_id": "17850",
                    "country": "United Kingdom",
                    "first_purchase_at": "2010-12-01T08:26:00Z",
                    "last_purchase_at": "2010-12-02T15:27:00Z",
                    "last_seen_at": "2011-02-10T14:38:00Z",
                    "currency": "GBP",
                    "contact": {"email": "ann@example.com", "name": "Ann Smith", "erased_at": None},
                    "segment": {
                        "run_id": 12,
                        "segment_number": 0,
                        "segment_id": 0,
                        "segment_name": "High-value loyal",
                        "action": "Reward and retain.",
                        "confidence": 0.72,
                        "rfm_segment": "Champions",
                        "fit": "borderline: also close to At risk",
                        "runner_up": "At risk",
                        "activity": "lapsed",
                        "activity_by": "days",
                        "activity_warning": "Last bought 373 days before the run's date: "
                        "lapsed by this shop's rhythm (more than 180 days), yet the segment "
                        "is named for active customers.",
                        "horizon_days": 90,
                        "p_alive": 0.98,
                        "expected_purchases": 7.4,
                        "expected_value": 1190.35,
                        "next_purchase_days": 8.5,
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
                            "segment_number": 0,
                            "segment_id": 0,
                            "segment_name": "High-value loyal",
                            "confidence": 0.72,
                            "p_alive": 0.98,
                            "expected_purchases": 7.4,
                            "expected_value": 1190.35,
                            "next_purchase_days": 8.5,
                        }
                    ],
                    "history": [
                        {
                            "publication_id": 7,
                            "published_at": "2024-03-02T10:00:00Z",
                            "run_id": 12,
                            "run_name": "Spring review",
                            "is_current": True,
                            "in_run": True,
                            "segment_number": 0,
                            "segment_id": 0,
                            "segment_name": "High-value loyal",
                            "confidence": 0.72,
                        },
                        {
                            "publication_id": 6,
                            "published_at": "2024-02-01T10:00:00Z",
                            "run_id": 9,
                            "run_name": "Segmentation as of 1 Feb 2024",
                            "is_current": False,
                            "in_run": False,
                            "segment_number": None,
                            "segment_id": None,
                            "segment_name": None,
                            "confidence": None,
                        },
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, customer_id: str):
        workspace = request.workspace
        customer = Customer.objects.in_workspace(workspace).filter(external_id=customer_id).first()
        if customer is None:
            raise _not_found(workspace, customer_id)
        personal = request.user.has_perm(PERSONAL_DATA_PERMISSION)
        data = customer_detail_data(customer, workspace=workspace, personal=personal)
        return Response(CustomerDetailSerializer(data).data)

    def get_permissions(self):
        if self.request.method == "DELETE":  # removing data is for those who import it
            return [permission() for permission in (*DEFAULT_PERMISSIONS, CanImport)]
        return super().get_permissions()

    @extend_schema(
        summary="Remove a customer",
        description="Removes the customer with every transaction line of theirs and their "
        "places in earlier runs (a test account, a placeholder id stored before imports "
        "skipped such ids, a person who asked to be forgotten), and keeps the id out of later "
        "imports unless `keep_out` is false. Each import that had stored some of the lines "
        "notes how many went, by whom and when; the audit log records it.",
        request=None,
        parameters=[CustomerRemoveQuerySerializer],
        responses={200: LinesRemovedSerializer, **error_responses(400, 401, 403, 404)},
    )
    def delete(self, request, customer_id: str):
        workspace = request.workspace
        query = CustomerRemoveQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = get_object_or_404(
            Customer.objects.in_workspace(workspace), external_id=customer_id
        )
        try:
            removed = customer_remove(
                workspace=workspace,
                customer_pk=customer.pk,
                user=request.user,
                keep_out=query.validated_data["keep_out"],
                request=request,
            )
        except Customer.DoesNotExist as exc:  # removed meanwhile by another request
            raise Http404 from exc
        return Response(LinesRemovedSerializer(removed_counts(removed)).data)


def _not_found(workspace, customer_id: str) -> Exception:
    """404 for an unknown id; code customer_removed, saying when, for a customer removed and
    kept out of imports (a system asking after them learns they are gone for good), and
    customer_kept_out for one listed before any line was stored."""
    kept = kept_out_entry(workspace=workspace, searched=customer_id)
    if kept is None:
        return Http404()
    when = kept.removed_at.date().isoformat()
    if kept.source == KeptOutCustomer.Source.LISTED:
        return ApiProblem(
            f"Customer {customer_id} is kept out of imports since {when}; no line of theirs "
            "was stored.",
            status=404,
            code="customer_kept_out",
        )
    return ApiProblem(
        f"Customer {customer_id} was removed on {when} and is kept out of imports.",
        status=404,
        code="customer_removed",
    )


def contact_data(customer: Customer) -> dict:
    return {
        "email": customer.email,
        "name": customer.name,
        "erased_at": customer.contact_erased_at,
    }


class CustomerContactEraseApi(APIView):
    """Erase a customer's e-mail and name on the person's request (those who may see personal
    data): the customer and purchases stay; later imports do not bring them back; audited."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanSeePersonalData]

    @extend_schema(
        summary="Erase a customer's contact details",
        request=None,
        responses={200: ContactSerializer, **error_responses(401, 403, 404)},
        examples=[
            OpenApiExample(
                "Erased",
                value={"email": "", "name": "", "erased_at": "2024-03-02T10:00:00Z"},
                response_only=True,
            )
        ],
    )
    def post(self, request, customer_id: str):
        workspace = request.workspace
        customer = get_object_or_404(
            Customer.objects.in_workspace(workspace), external_id=customer_id
        )
        erased = customer_contact_erase(
            workspace=workspace, customer_pk=customer.pk, user=request.user, request=request
        )
        return Response(ContactSerializer(contact_data(erased)).data)


@extend_schema(tags=["customers"])
class CustomersContactEraseApi(APIView):
    """Erase the e-mail and name of many customers at once, named by id or by e-mail (the
    erasure requests another system collected), all or none; each is audited as on the
    page. Names that match no customer are listed in the answer, not refused."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanSeePersonalData]

    @extend_schema(
        summary="Erase many customers' contact details",
        operation_id="customers_bulk_erase_contact",
        request=BulkErasureRequestSerializer,
        responses={200: BulkErasureSerializer, **error_responses(400, 401, 403)},
        examples=[
            OpenApiExample(
                "Erasure requests",
                value={"customer_ids": ["17850", "99999"], "emails": ["ann@example.com"]},
                request_only=True,
            ),
            OpenApiExample(
                "Erased",
                value={
                    "erased": [
                        {"customer_id": "12347", "had_contact": True},
                        {"customer_id": "17850", "had_contact": True},
                    ],
                    "customer_ids_not_found": ["99999"],
                    "emails_not_found": [],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        asked = BulkErasureRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        done = customers_contact_erase(
            workspace=request.workspace,
            customer_ids=asked.validated_data["customer_ids"],
            emails=asked.validated_data["emails"],
            user=request.user,
            request=request,
        )
        answer = {
            "erased": [{"customer_id": i, "had_contact": had} for i, had in done.erased],
            "customer_ids_not_found": done.ids_not_found,
            "emails_not_found": done.emails_not_found,
        }
        return Response(BulkErasureSerializer(answer).data)
