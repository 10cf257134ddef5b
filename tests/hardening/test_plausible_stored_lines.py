"""A run never fails on lines stored before the plausibility rules existed (issue 23, item 1).

The import now refuses a line dated 9999 or 1677 or worth 9e13, but a shop may hold such
lines from before. They are written here straight through the ORM (bypassing the import);
the run reads around them, says in its notes how many it left out and whose they are, and
reads exactly what it would read without them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from clustering.aggregation import customer_aggregates, read_span
from customers.models import Customer, ImportRecord, TransactionLine
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db

# (customer, wall-clock time, quantity, unit price): each outside the default bounds
BAD = [
    ("first", datetime(9999, 12, 31, 23, 59, 59), "1", "2.5"),  # too late
    ("first", datetime(2262, 4, 11, 23, 47, 16), "1", "2.5"),  # too late
    ("second", datetime(1677, 9, 22, 0, 12, 43), "1", "2.5"),  # too early
    ("second", datetime(1, 1, 2, 0, 0, 0), "1", "2.5"),  # too early
    ("third", datetime(2011, 6, 1, 10, 0, 0), "10000", "9000000000"),  # 9e13 in revenue
    ("only-bad", datetime(2011, 6, 2, 10, 0, 0), "2000000", "1"),  # quantity beyond
]
PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}


def _store_bad_lines(shop) -> list[str]:
    """The BAD lines written as an old import would have stored them; `first`, `second`
    and `third` are customers with good lines too. Returns the customers' shop ids."""
    record = ImportRecord.objects.create(
        workspace=shop,
        file_name="before-the-rules.csv",
        sha256=hashlib.sha256(b"before-the-rules").hexdigest(),
        status=ImportRecord.Status.SUCCEEDED,
        rows_read=len(BAD),
        rows_imported=len(BAD),
    )
    existing = list(
        Customer.objects.in_workspace(shop).order_by("external_id").values_list("pk", "external_id")
    )
    ids = {"first": existing[0], "second": existing[1], "third": existing[2]}
    only_bad = Customer.objects.create(workspace=shop, external_id="only-bad", country="UK")
    ids["only-bad"] = (only_bad.pk, only_bad.external_id)
    zone = timezone.get_current_timezone()
    for i, (who, when, quantity, price) in enumerate(BAD):
        TransactionLine.objects.create(
            workspace=shop,
            customer_id=ids[who][0],
            invoice=f"OLD{i}",
            product_code="E1",
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            amount=Decimal(quantity) * Decimal(price),
            timestamp=timezone.make_aware(when, zone),
            country="UK",
            import_record=record,
            line_hash=hashlib.md5(f"old:{i}".encode()).hexdigest(),  # noqa: S324 - a row key
        )
    return sorted(external_id for _, external_id in ids.values())


def _remove_bad_lines() -> None:
    TransactionLine.unscoped.filter(import_record__file_name="before-the-rules.csv").delete()


def test_the_aggregates_leave_out_stored_implausible_lines(shop):
    load_transactions(synthetic_lines(120, seed=11), name="plausible.csv")
    clean_span = read_span(shop)
    clean = customer_aggregates(workspace=shop, holdout_share=0.2)
    named = _store_bad_lines(shop)

    with_bad = customer_aggregates(workspace=shop, holdout_share=0.2)

    assert (read_span(shop).first, read_span(shop).last) == (clean_span.first, clean_span.last)
    pd.testing.assert_frame_equal(with_bad.table, clean.table)
    assert with_bad.fingerprint == clean.fingerprint
    assert with_bad.reference_date == clean.reference_date
    pd.testing.assert_frame_equal(with_bad.calibration.aggregates, clean.calibration.aggregates)
    pd.testing.assert_series_equal(
        with_bad.calibration.daily_purchase_days, clean.calibration.daily_purchase_days
    )
    assert with_bad.summary["gross_revenue"] == clean.summary["gross_revenue"]
    assert with_bad.summary["implausible_lines_left_out"] == len(BAD)
    assert clean.notes == ()
    (note,) = with_bad.notes
    assert note.startswith("6 implausible lines left out (stored before the import checked")
    assert "2 dated before 1990" in note
    assert "2 dated after the run's time plus the import's tolerance" in note
    assert "2 with a quantity, unit price or amount beyond the import's bounds" in note
    assert f"Customers {', '.join(named)}" in note


def test_a_run_succeeds_on_stored_implausible_lines_and_its_notes_say_so(
    shop, make_user, client_for
):
    load_transactions(synthetic_lines(200, seed=11), name="plausible.csv")
    manager = make_user("manager", username="stored-lines-runner")
    _store_bad_lines(shop)

    run = executed_run(shop, manager, PARAMS, token="stored-bad")

    assert run.data_summary["implausible_lines_left_out"] == len(BAD)
    assert run.notes[0].startswith("6 implausible lines left out")
    assert run.reference_date.year < 9999
    # the manager sees it on the run's report
    page = client_for("manager").get(reverse("clustering:run-detail", args=[run.pk]))
    assert page.status_code == 200
    assert escape(run.notes[0]) in page.content.decode()

    _remove_bad_lines()
    again = executed_run(shop, manager, PARAMS, token="stored-clean")
    assert again.data_fingerprint == run.data_fingerprint
    assert again.data_summary["implausible_lines_left_out"] == 0
    assert not any("implausible" in note for note in again.notes)
    assert (again.reference_date, again.chosen_k) == (run.reference_date, run.chosen_k)


def test_the_future_limit_follows_the_runs_time_and_the_settings(shop, settings):
    record = load_transactions(synthetic_lines(120, seed=11), name="plausible.csv")
    last = read_span(shop).last
    customer = Customer.objects.in_workspace(shop).first()
    # a day ahead of now: inside the default tolerance of 2 days, outside a tolerance of 0
    ahead = timezone.now().replace(microsecond=0) + timedelta(days=1)
    TransactionLine.objects.create(
        workspace=shop,
        customer=customer,
        invoice="AHEAD",
        quantity=Decimal(1),
        unit_price=Decimal(1),
        amount=Decimal(1),
        timestamp=ahead,
        import_record=record,
        line_hash=hashlib.md5(b"ahead").hexdigest(),  # noqa: S324 - a row key
    )
    assert read_span(shop).last == ahead
    settings.IMPORT_FUTURE_DAYS = 0
    assert read_span(shop).last == last
    aggregates = customer_aggregates(workspace=shop)
    assert aggregates.summary["implausible_lines_left_out"] == 1
    assert "1 dated after the run's time" in aggregates.notes[0]
