"""Movements between two publications of a workspace, read from the database."""

from __future__ import annotations

import pytest

from clustering.models import Publication
from clustering.movements import flow_customers, movements_between
from clustering.services import run_publish
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

PARAMS = {"algorithms": ["kmeans"], "k_min": 3, "k_max": 3, "seed": 7}


@pytest.fixture
def two_publications(shop, make_user):
    manager = make_user("manager", workspace=shop)
    lines = synthetic_lines(150, seed=4)
    last = sorted(set(lines["customer_id"]))[-10:]
    first_lines = lines[~lines["customer_id"].isin(last)]
    load_transactions(first_lines, workspace=shop, name="first.csv")
    first = executed_run(shop, manager, PARAMS, name="before")
    run_publish(workspace=shop, run_id=first.pk, user=manager)
    load_transactions(lines[lines["customer_id"].isin(last)], workspace=shop, name="more.csv")
    second = executed_run(shop, manager, {**PARAMS, "seed": 11}, name="after")
    run_publish(workspace=shop, run_id=second.pk, user=manager)
    return first, second


def test_a_first_publication_has_no_movements(shop, two_publications):
    first_publication = Publication.objects.in_workspace(shop).order_by("published_at")[0]
    assert movements_between(workspace=shop, later=first_publication) is None


def test_flows_add_up_and_name_their_segments(shop, two_publications):
    first, second = two_publications
    latest = Publication.objects.in_workspace(shop).first()
    movements = movements_between(workspace=shop, later=latest)
    assert movements.earlier_run.pk == first.pk and movements.later_run.pk == second.pk
    assert (movements.in_both, movements.new, movements.gone) == (first.n_customers, 10, 0)
    in_both = [f for f in movements.flows if f.source and f.target]
    assert sum(f.customers for f in in_both) == movements.in_both
    new = [f for f in movements.flows if f.source is None]
    assert sum(f.customers for f in new) == 10
    names_before = set(first.segments.values_list("name", flat=True))
    names_after = set(second.segments.values_list("name", flat=True))
    for flow in in_both:
        assert flow.source.name in names_before and flow.target.name in names_after
        assert flow.sentence.startswith(f"{flow.customers:,} customer")
        assert shop.currency in flow.sentence
        assert ("stayed" in flow.sentence) == (not flow.moved)
    sizes = [f.customers for f in movements.flows]
    assert sizes == sorted(sizes, reverse=True)
    # each flow's customers are exactly those it counts
    for flow in movements.flows:
        customers = flow_customers(
            workspace=shop,
            earlier_run=first,
            later_run=second,
            source=flow.source.number if flow.source else None,
            target=flow.target.number if flow.target else None,
        )
        assert customers.count() == flow.customers


def test_movements_of_another_workspace_are_not_found(shop, other_shop, two_publications):
    latest = Publication.objects.in_workspace(shop).first()
    with pytest.raises(Publication.DoesNotExist):
        movements_between(workspace=other_shop, later=latest)


def test_movements_are_read_once_then_cached_until_customers_are_deleted(
    shop, two_publications, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from customers.line_removal import import_record_undo
    from customers.models import Customer, ImportRecord

    latest = Publication.objects.in_workspace(shop).select_related("run").first()
    first = movements_between(workspace=shop, later=latest)
    with django_assert_num_queries(1):  # the earlier publication; no assignments
        again = movements_between(workspace=shop, later=latest)
    assert again.flows == first.flows and again.later is latest
    # an undone import deletes the 10 customers it brought: the movements see it at once
    more = ImportRecord.objects.in_workspace(shop).get(file_name="more.csv")
    manager = latest.published_by
    with django_capture_on_commit_callbacks(execute=True):
        removed = import_record_undo(workspace=shop, import_record_id=more.pk, user=manager)
    assert removed.customers_deleted == 10
    assert Customer.objects.in_workspace(shop).count() == first.in_both
    after = movements_between(workspace=shop, later=latest)
    assert (after.in_both, after.new, after.gone) == (first.in_both, 0, 0)


def test_transitions_count_each_earlier_customer_once_by_segment_names(shop, two_publications):
    from collections import Counter

    from clustering.models import SegmentAssignment
    from clustering.selectors import run_transitions

    first, second = two_publications
    assignments = SegmentAssignment.objects.in_workspace(shop)
    later = dict(assignments.filter(run=second).values_list("customer_id", "segment__name"))
    expected = Counter(
        (name, later.get(customer))
        for customer, name in assignments.filter(run=first).values_list(
            "customer_id", "segment__name"
        )
    )
    transitions = run_transitions(first, second, workspace=shop)
    assert {(t["from"], t["to"]): t["customers"] for t in transitions} == dict(expected)
    counts = [t["customers"] for t in transitions]
    assert counts == sorted(counts, reverse=True) and sum(counts) == first.n_customers


def test_the_dashboard_s_top_moves_are_read_again_once_customers_are_deleted(
    shop, two_publications, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.line_removal import import_record_undo
    from customers.models import ImportRecord
    from reports.movement_views import top_moves

    _, second = two_publications
    second.refresh_from_db()

    def reads_assignments() -> bool:
        with CaptureQueriesContext(connection) as queries:
            top_moves(workspace=shop, run=second)
        return any("segmentassignment" in q["sql"] for q in queries.captured_queries)

    assert reads_assignments()  # the first view computes them
    assert not reads_assignments()  # then they are cached
    more = ImportRecord.objects.in_workspace(shop).get(file_name="more.csv")
    with django_capture_on_commit_callbacks(execute=True):
        import_record_undo(workspace=shop, import_record_id=more.pk, user=None)
    assert reads_assignments()  # customers deleted: not from the cache
