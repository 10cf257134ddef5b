"""A run's assignment rows written by binary COPY on PostgreSQL (clustering/runs/results.py)
are the rows bulk_create writes: the same customers, segments, fit, runner-up, RFM cell,
features and value ahead, nulls included."""

from __future__ import annotations

import pytest
from django.db import connection

from clustering.models import SegmentAssignment
from clustering.runs import results
from customers.importing import pgcopy
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines
from tests.conftest import require

PARAMS = {"algorithms": ["kmeans"], "k_min": 3, "k_max": 4, "seed": 5}
FIELDS = [
    "customer__external_id",
    "segment__number",
    "confidence",
    "runner_up_number",
    "rfm_segment",
    "rfm_cell",
    *SegmentAssignment.FEATURE_FIELDS,
    *results.VALUE_FIELDS,
]


class _NotPostgres:
    vendor = "sqlite"  # only the vendor is read: bulk_create's path


def _rows(run) -> list[tuple]:
    return list(run.assignments.order_by("customer__external_id").values_list(*FIELDS))


@pytest.mark.django_db
def test_copy_writes_the_rows_bulk_create_writes(shop, make_user, monkeypatch):
    require(connection.vendor == "postgresql", "PostgreSQL")
    monkeypatch.setattr(pgcopy, "CHUNK_ROWS", 37)  # several chunks, the last one short
    manager = make_user("manager", workspace=shop)
    load_transactions(synthetic_lines(300, seed=9), workspace=shop)
    copied = executed_run(shop, manager, PARAMS, name="copied")
    monkeypatch.setattr(results, "connection", _NotPostgres())
    created = executed_run(shop, manager, PARAMS, name="created")
    rows = _rows(copied)
    assert len(rows) == copied.n_customers > 250
    assert rows == _rows(created)
    # nullable columns held numbers and nulls both, so both were encoded
    between = [r[FIELDS.index("mean_days_between_purchases")] for r in rows]
    assert None in between and any(v is not None for v in between)
    assert all(r[FIELDS.index("runner_up_number")] is not None for r in rows)
    assert all(r[FIELDS.index("p_alive")] is not None for r in rows)
