"""A segment's member list keeps its order for every sort after the queries were reshaped
for big segments (nulls last both ways for the value ahead, ties by customer), and the
customer id prefix search finds exactly the matching members."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.report.members import MEMBER_SORTS, MEMBER_VALUE_FIELDS, segment_members_page
from customers.models import Customer

pytestmark = pytest.mark.django_db

IDS = ["007", "10", "100", "1000", "11", "2", "20", "3", "300", "31", "4", "5"]


@pytest.fixture
def segment(shop):
    user = get_user_model().objects.create_user("sorts-user")
    run = SegmentationRun.objects.create(
        workspace=shop, name="r", status="succeeded", created_by=user, params={}
    )
    segment = Segment.objects.create(
        run=run, number=0, name="S", size=len(IDS), share_customers=1, share_revenue=1
    )
    other = Segment.objects.create(
        run=run, number=1, name="T", size=1, share_customers=0, share_revenue=0
    )
    for i, external_id in enumerate(IDS):
        customer = Customer.objects.create(workspace=shop, external_id=external_id)
        tie = float(i % 3)  # ties across customers, for every column
        SegmentAssignment.objects.create(
            run=run,
            customer=customer,
            segment=segment,
            confidence=tie / 3,
            recency_days=tie,
            frequency=tie + 1,
            monetary_total=tie * 10,
            avg_basket_value=tie * 2,
            p_alive=None if i % 4 == 0 else tie / 2,
            expected_purchases=None if i % 5 == 0 else tie,
            expected_value=tie * 7,
        )
    SegmentAssignment.objects.create(
        run=run,
        customer=Customer.objects.create(workspace=shop, external_id="1-other-segment"),
        segment=other,
        confidence=1,
    )
    return Segment.objects.in_workspace(shop).select_related("run").get(pk=segment.pk)


def _expected(segment, field: str, descending: bool) -> list[str]:
    rows = list(
        segment.assignments.values("customer_id", "customer__external_id", field.split("__")[0])
    )
    key = "customer__external_id" if field == "customer__external_id" else field
    present = sorted(
        (r for r in rows if r[key] is not None),
        key=lambda r: r["customer_id"],
    )
    present.sort(key=lambda r: r[key], reverse=descending)  # stable: ties stay by customer
    missing = sorted((r for r in rows if r[key] is None), key=lambda r: r["customer_id"])
    return [r["customer__external_id"] for r in present + missing]


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("sort", list(MEMBER_SORTS))
def test_each_sort_keeps_its_order(segment, sort, descending):
    field = MEMBER_SORTS[sort][1]
    if field not in MEMBER_VALUE_FIELDS and field != "customer__external_id":
        assert all(getattr(a, field) is not None for a in segment.assignments.all())
    page = segment_members_page(segment, sort=sort, descending=descending)
    got = [row["customer__external_id"] for row in page.object_list]
    assert got == _expected(segment, field, descending)


def test_prefix_search_finds_exactly_the_matching_members(segment):
    for prefix, expected in [("1", {"10", "100", "1000", "11"}), ("30", {"300"}), ("9", set())]:
        page = segment_members_page(segment, search=prefix)
        assert {row["customer__external_id"] for row in page.object_list} == expected
        assert page.paginator.count == len(expected)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="opclasses are PostgreSQL's")
def test_prefix_index_exists_with_its_opclass():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Customer._meta.db_table)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'customer_id_prefix'")
        (definition,) = cursor.fetchone()
    assert constraints["customer_id_prefix"]["columns"] == ["workspace_id", "external_id"]
    assert "varchar_pattern_ops" in definition


@pytest.mark.parametrize("sort", ["recency", "p_alive", "expected_purchases", "customer"])
def test_pages_follow_one_another_and_the_sort_reads_the_assignments_alone(
    segment, sort, monkeypatch
):
    """Page by page the members come in the sort's order, none twice; the query that sorts
    reads the assignments alone and stops at the page (LIMIT), so the database never joins
    a whole segment to its customers to sort it."""
    from django.test.utils import CaptureQueriesContext

    import clustering.report.members as members

    monkeypatch.setattr(members, "MEMBERS_PER_PAGE", 5)
    field = MEMBER_SORTS[sort][1]
    for descending in (True, False):
        got, sorting = [], []
        for number in (1, 2, 3):
            with CaptureQueriesContext(connection) as queries:
                page = segment_members_page(segment, sort=sort, descending=descending, page=number)
                got += [row["customer__external_id"] for row in page.object_list]
            sorting += [q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"]]
        assert got == _expected(segment, field, descending)
        assert sorting and all("LIMIT" in sql for sql in sorting)
        if sort != "customer":
            assert not any("customers_customer" in sql for sql in sorting)
