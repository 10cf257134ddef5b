"""Two runs' movements counted by the database (one statement: a LEFT JOIN and the new
customers, GROUP BY both segments) are those that reading both runs' assignments into
pandas gave: the same flows in the same order, counts, matches and kept shares, on a
randomized workspace with new and gone customers and revenue missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clustering.engine.movements import flow_table, match_segments
from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.movements import _ref, _sentence, compare_runs
from customers.models import Customer

NAMES = ["Champions", "Loyal", "At risk", "Lost", "New spenders", "Bargain hunters"]


def _run(workspace, user, rng, customers, *, name: str, k: int, shift: int, cents: bool = True):
    """A succeeded run with k segments (the last without members) over `customers`, each
    put in a segment mostly following its id (so that segments continue one another), a
    tenth without revenue; revenue in cents, or else in quarters (exact in binary: their
    sums are the same in any order)."""
    run = SegmentationRun.objects.create(
        workspace=workspace, name=name, params={}, status="succeeded", created_by=user
    )
    segments = [
        Segment.objects.create(
            run=run,
            number=n,
            name=NAMES[(n + shift) % len(NAMES)],
            size=0,
            share_customers=float(rng.random()),
            share_revenue=float(rng.random()),
            activity_shares={"cooling": float(rng.random()), "lapsed": 0.1} if n % 2 else {},
            activity=["active", "lapsed"][n % 2],
        )
        for n in range(k)
    ]
    assignments = []
    for customer in customers:
        number = (customer.pk + shift) % (k - 1)
        if rng.random() < 0.3:
            number = int(rng.integers(0, k - 1))
        revenue = float(rng.normal(300, 200))
        revenue = round(revenue, 2) if cents else round(revenue * 4) / 4
        if rng.random() < 0.1:
            revenue = None
        assignments.append(
            SegmentAssignment(
                run=run,
                customer=customer,
                segment=segments[number],
                confidence=1.0,
                monetary_total=revenue,
            )
        )
    SegmentAssignment.objects.bulk_create(assignments)
    return run


def _old_movements(workspace, earlier_run, later_run) -> dict:
    """The computation before the database counted: both runs' assignments in pandas."""

    def assignments(run):
        rows = (
            SegmentAssignment.objects.in_workspace(workspace)
            .filter(run=run)
            .values_list("customer_id", "segment__number", "monetary_total")
        )
        table = pd.DataFrame(list(rows), columns=["customer", "segment", "revenue"]).set_index(
            "customer"
        )
        table["revenue"] = pd.to_numeric(table["revenue"]).fillna(0.0)
        refs = {s.number: _ref(s) for s in Segment.objects.in_workspace(workspace).filter(run=run)}
        return table, refs

    before, before_refs = assignments(earlier_run)
    after, after_refs = assignments(later_run)
    matching = match_segments(
        before["segment"],
        after["segment"],
        {n: r.name for n, r in before_refs.items()},
        {n: r.name for n, r in after_refs.items()},
    )
    flows = []
    for row in flow_table(before, after).itertuples(index=False):
        source = None if pd.isna(row.source) else before_refs[int(row.source)]
        target = None if pd.isna(row.target) else after_refs[int(row.target)]
        moved = (
            source is None or target is None or matching.continues[target.number] != (source.number)
        )
        sentence = _sentence(
            source, target, moved, int(row.customers), row.revenue, workspace.currency
        )
        flows.append((source, target, int(row.customers), moved, float(row.revenue), sentence))
    in_both = int(before.index.isin(after.index).sum())
    return {
        "flows": flows,
        "in_both": in_both,
        "new": len(after) - in_both,
        "gone": len(before) - in_both,
        "matches": matching.continues,
        "kept": matching.kept,
    }


@pytest.mark.parametrize(("seed", "cents"), [(1, False), (2, False), (3, True), (4, True)])
def test_the_database_s_crosstab_gives_the_movements_pandas_gave(shop, other_shop, seed, cents):
    rng = np.random.default_rng(seed)
    Customer.objects.bulk_create(
        Customer(workspace=shop, external_id=f"C{i:04d}", country="UK") for i in range(400)
    )
    customers = list(Customer.objects.in_workspace(shop).order_by("pk"))
    user = _user(shop)
    earlier_members = [c for c in customers if rng.random() < 0.9]
    later_members = [c for c in customers if rng.random() < 0.9]  # some new, some gone
    earlier = _run(shop, user, rng, earlier_members, name="before", k=5, shift=0, cents=cents)
    later = _run(shop, user, rng, later_members, name="after", k=6, shift=seed, cents=cents)
    # another workspace's run of the same shape counts for nothing here
    Customer.objects.bulk_create(
        Customer(workspace=other_shop, external_id=f"C{i:04d}", country="UK") for i in range(50)
    )
    _run(
        other_shop,
        _user(other_shop),
        rng,
        list(Customer.objects.in_workspace(other_shop)),
        name="elsewhere",
        k=3,
        shift=0,
    )

    expected = _old_movements(shop, earlier, later)
    movements = compare_runs(workspace=shop, earlier_run=earlier, later_run=later)

    assert (movements.in_both, movements.new, movements.gone) == (
        expected["in_both"],
        expected["new"],
        expected["gone"],
    )
    assert movements.new > 0 and movements.gone > 0
    assert movements.matches == expected["matches"]
    assert any(n is not None for n in movements.matches.values())
    assert movements.kept == expected["kept"]
    got = [
        (f.source, f.target, f.customers, f.moved, f.revenue, f.sentence) for f in movements.flows
    ]
    if not cents:
        assert got == expected["flows"]
    else:
        # the same sums of floats added in another order: equal but for their last bits
        # (which could round a sentence's whole currency units differently at exactly .5)
        assert [g[:4] for g in got] == [e[:4] for e in expected["flows"]]
        assert [g[4] for g in got] == pytest.approx([e[4] for e in expected["flows"]], rel=1e-12)


def test_the_crosstab_is_one_query_over_the_assignments(shop):
    rng = np.random.default_rng(0)
    Customer.objects.bulk_create(
        Customer(workspace=shop, external_id=f"C{i:04d}", country="UK") for i in range(30)
    )
    customers = list(Customer.objects.in_workspace(shop))
    user = _user(shop)
    earlier = _run(shop, user, rng, customers[:25], name="before", k=3, shift=0)
    later = _run(shop, user, rng, customers[5:], name="after", k=3, shift=1)

    with CaptureQueriesContext(connection) as queries:
        movements = compare_runs(workspace=shop, earlier_run=earlier, later_run=later)

    reading = [q["sql"] for q in queries.captured_queries if "segmentassignment" in q["sql"]]
    # one statement joins the runs in the database; no FULL OUTER JOIN, which SQLite before
    # 3.39 (the embedded default on an older Python) lacks
    assert len(reading) == 1 and "LEFT JOIN" in reading[0] and "NOT EXISTS" in reading[0]
    assert "FULL OUTER JOIN" not in reading[0]
    assert (movements.in_both, movements.new, movements.gone) == (20, 5, 5)


def _user(workspace):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username=f"runner-{workspace.slug}")
