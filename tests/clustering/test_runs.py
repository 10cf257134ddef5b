"""Segmentation runs executed in-process (the worker's code path, without the queue)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from clustering.aggregation import customer_aggregates
from clustering.engine.features import aggregate_transactions
from clustering.engine.predictor import SegmentPredictor
from clustering.engine.types import InvalidParameters
from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.params import params_from_input
from clustering.services import (
    RunError,
    run_cancel,
    run_claim,
    run_create,
    run_execute,
    run_publish,
    runs_recover_stale,
)
from customers.models import Customer
from tests import shops

from .factories import FAST_PARAMS, load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db
Status = SegmentationRun.Status


@pytest.fixture
def lines():
    frame = synthetic_lines(400)
    load_transactions(frame)
    return frame


@pytest.fixture
def manager(make_user):
    return make_user("manager")


def create_run(user, *, workspace=None, **overrides):
    params = params_from_input({**FAST_PARAMS, **overrides})
    with transaction.atomic():  # no queue here: on_commit callbacks are not run in tests
        return run_create(workspace=workspace or shops.test_shop(), user=user, params=params)


def execute(run, token="task-1"):
    return run_execute(run_id=run.pk, token=token, hostname="test@host")


def test_database_aggregation_equals_the_engines_own(lines):
    expected, reference = aggregate_transactions(lines)
    got = customer_aggregates(workspace=shops.test_shop())
    assert got.reference_date == reference
    table = got.table.set_index("customer_id").sort_index()
    expected = expected.set_index("customer_id").sort_index().loc[table.index]
    assert len(table) == lines["customer_id"].nunique()
    for column in ("invoices", "distinct_products", "lines", "return_lines", "purchase_days"):
        assert (table[column].to_numpy() == expected[column].to_numpy()).all(), column
    for column in ("gross_revenue", "returned_revenue"):
        np.testing.assert_allclose(table[column], expected[column], rtol=1e-9, atol=0.01)
    for column in ("first_purchase", "last_purchase"):
        assert (
            table[column].dt.floor("s").to_numpy() == expected[column].dt.floor("s").to_numpy()
        ).all()
    assert len(got.fingerprint) == 64


def test_a_run_stores_candidates_segments_and_one_assignment_per_customer(lines, manager):
    run = create_run(manager)
    assert run.status == Status.QUEUED
    assert execute(run) == "succeeded"
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.progress == 100 and run.error == ""
    assert run.attempts == 1 and run.finished_at >= run.started_at
    # 3 algorithms x k = 2..6
    assert run.candidates.count() == 15
    chosen = run.candidates.get(is_chosen=True)
    assert (chosen.algorithm, chosen.n_clusters) == (run.chosen_algorithm, run.chosen_k)
    assert len(run.justification) > 80
    segments = list(run.segments.all())
    assert len(segments) == run.chosen_k
    assert len({s.name for s in segments}) == len(segments)
    assert all(s.action for s in segments)
    assert sum(s.share_customers for s in segments) == pytest.approx(1.0)
    assignments = run.assignments
    assert assignments.count() == run.n_customers
    assert assignments.values("customer").distinct().count() == run.n_customers
    excluded = sum(run.excluded.values())
    assert run.n_customers + excluded == lines["customer_id"].nunique()
    for segment in segments:
        assert segment.assignments.count() == segment.size
    assert run.pca["points"] and len(run.pca["explained_variance_ratio"]) == 2
    assert run.rfm_comparison["rows"] and -1 <= run.rfm_comparison["adjusted_rand"] <= 1
    assert {"read data", "save results"} <= set(run.timings)
    assert run.data_summary["customers_with_lines"] == lines["customer_id"].nunique()
    assert "scikit-learn" in run.library_versions


def test_the_saved_predictor_assigns_the_stored_segments(lines, manager):
    run = create_run(manager)
    execute(run)
    run.refresh_from_db()
    predictor = SegmentPredictor.load(
        settings.MEDIA_ROOT / run.predictor_file, expected_fingerprint=None
    )
    rows = list(
        run.assignments.select_related("segment").values(
            *SegmentAssignment.FEATURE_FIELDS, "segment__number", "customer__country"
        )
    )
    frame = pd.DataFrame(rows).rename(columns={"customer__country": "country"})
    labels, confidence = predictor.predict(frame)
    agreement = (labels == frame["segment__number"].to_numpy()).mean()
    assert agreement >= (0.999 if run.chosen_algorithm != "agglomerative" else 0.9)
    assert ((confidence >= 0) & (confidence <= 1)).all()


def test_executing_the_same_run_again_changes_nothing(lines, manager):
    run = create_run(manager)
    execute(run, token="first")
    counts = (run.candidates.count(), run.segments.count(), run.assignments.count())
    assert execute(run, token="second") == "skipped"
    assert execute(run, token="first") == "skipped"
    run.refresh_from_db()
    assert run.attempts == 1
    assert (run.candidates.count(), run.segments.count(), run.assignments.count()) == counts


def test_a_second_execution_while_the_first_is_alive_is_skipped(lines, manager):
    run = create_run(manager)
    assert run_claim(run_id=run.pk, token="first", hostname="a") is not None
    assert execute(run, token="second") == "skipped"
    run.refresh_from_db()
    assert run.status == Status.RUNNING and run.claim_token == "first"
    assert not run.candidates.exists()


def test_a_run_whose_worker_died_is_requeued_then_completed(lines, manager, settings):
    run = create_run(manager)
    run_claim(run_id=run.pk, token="dead-worker", hostname="a")
    SegmentationRun.unscoped.filter(pk=run.pk).update(
        heartbeat_at=run.created_at - pd.Timedelta(hours=1)
    )
    with transaction.atomic():
        assert runs_recover_stale() == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.claim_token == ""
    assert execute(run, token="new-worker") == "succeeded"
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.attempts == 2
    assert run.assignments.count() == run.n_customers


def test_a_run_that_keeps_killing_its_worker_fails_with_a_reason(lines, manager, settings):
    settings.RUN_MAX_ATTEMPTS = 2
    run = create_run(manager)
    for token in ("w1", "w2"):
        run_claim(run_id=run.pk, token=token, hostname=f"host-{token}")
        SegmentationRun.unscoped.filter(pk=run.pk).update(
            heartbeat_at=run.created_at - pd.Timedelta(hours=1)
        )
        with transaction.atomic():
            runs_recover_stale()
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "Gave up after 2 attempts" in run.error and "host-w2" in run.error
    assert execute(run, token="w3") == "skipped"


def test_cancelling_a_queued_run_stops_it_before_it_starts(lines, manager):
    run = create_run(manager)
    run_cancel(workspace=shops.test_shop(), run_id=run.pk, user=manager)
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and "before it started" in run.error
    assert execute(run) == "skipped"
    assert not run.candidates.exists()


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_run_stops_it_and_says_so(lines, manager, monkeypatch):
    from clustering.runs import execution
    from clustering.runs.progress import RunProgress

    fitting, cancelled = threading.Event(), threading.Event()
    real = execution.run_segmentation

    def paused_at_first_candidate(data, params, progress, should_cancel, calibration=None):
        def report(stage, percent):
            progress(stage, percent)
            if stage.startswith("candidates:") and not fitting.is_set():
                fitting.set()
                cancelled.wait(timeout=30)

        return real(
            data,
            params=params,
            progress=report,
            should_cancel=should_cancel,
            calibration=calibration,
        )

    monkeypatch.setattr(execution, "run_segmentation", paused_at_first_candidate)
    # Check for the cancel at every step (a real run checks at most twice a second).
    monkeypatch.setattr(RunProgress, "INTERVAL", 0.0)
    run = create_run(manager)
    outcome = {}

    def work():
        try:
            outcome["result"] = execute(run, token="t")
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    assert fitting.wait(timeout=60), "the run never started fitting candidates"
    run_cancel(workspace=shops.test_shop(), run_id=run.pk, user=manager)
    cancelled.set()
    worker.join(timeout=60)
    assert outcome["result"] == "cancelled"
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert run.error.startswith("Cancelled while running")
    assert not run.candidates.exists() and not run.assignments.exists()
    with pytest.raises(RunError, match="already cancelled"):
        run_cancel(workspace=shops.test_shop(), run_id=run.pk, user=manager)


def test_a_failing_run_shows_the_error(manager, lines):
    run = create_run(manager)
    Customer.unscoped.all().delete()  # the data vanished between queueing and running
    assert execute(run) == "failed"
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "no transactions" in run.error.lower()
    assert not run.segments.exists()


def test_bad_parameters_are_refused_before_anything_queues(lines, manager):
    with pytest.raises(InvalidParameters) as error:
        create_run(manager, k_min=5, k_max=3)
    assert error.value.field == "k_max"
    with pytest.raises(InvalidParameters) as error:
        create_run(manager, algorithms=[])
    assert error.value.field == "algorithms"
    with pytest.raises(InvalidParameters) as error:
        create_run(manager, algorithms=["kmeans", "magic"])
    assert error.value.field == "algorithms" and "magic" in error.value.message
    with pytest.raises(InvalidParameters) as error:
        create_run(manager, reference_date="1990-01-01")
    assert error.value.field == "reference_date"
    with pytest.raises(InvalidParameters) as error:
        params_from_input({"k_min": "two"})
    assert error.value.field == "k_min"
    with pytest.raises(InvalidParameters) as error:
        params_from_input({"colour": "blue"})
    assert error.value.field == "colour"
    assert not SegmentationRun.unscoped.exists()


def test_too_few_customers_for_k_is_refused(manager):
    load_transactions(synthetic_lines(45))
    with pytest.raises(InvalidParameters, match="45 customers is too few") as error:
        create_run(manager, k_max=6)
    assert error.value.field == "k_max" and "45 allow up to 4" in error.value.message


def test_a_k_max_beyond_a_larger_shop_says_how_many_it_allows(manager):
    load_transactions(synthetic_lines(150))
    with pytest.raises(InvalidParameters, match="150 allow up to 15"):
        create_run(manager, k_max=20)


def test_too_few_customers_for_any_run_is_refused(manager):
    load_transactions(synthetic_lines(15))
    with pytest.raises(InvalidParameters, match="15 customers is too few to segment") as error:
        create_run(manager)
    assert error.value.field == "data"


def test_no_run_without_data(manager):
    with pytest.raises(InvalidParameters, match="import a file first"):
        create_run(manager)


def test_publishing_keeps_exactly_one_current_run(lines, manager):
    first, second = create_run(manager), create_run(manager)
    execute(first, token="a")
    execute(second, token="b")
    run_publish(workspace=shops.test_shop(), run_id=first.pk, user=manager)
    run_publish(workspace=shops.test_shop(), run_id=second.pk, user=manager)
    assert list(SegmentationRun.unscoped.filter(is_published=True)) == [second]
    second.refresh_from_db()
    assert second.published_by == manager and second.published_at is not None


def test_only_succeeded_runs_can_be_published(lines, manager):
    run = create_run(manager)
    with pytest.raises(RunError, match="succeeded"):
        run_publish(workspace=shops.test_shop(), run_id=run.pk, user=manager)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentationRun.unscoped.filter(pk=run.pk).update(is_published=True)


def test_the_database_refuses_two_published_runs(lines, manager):
    first, second = create_run(manager), create_run(manager)
    execute(first, token="a")
    execute(second, token="b")
    run_publish(workspace=shops.test_shop(), run_id=first.pk, user=manager)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentationRun.unscoped.filter(pk=second.pk).update(is_published=True)


def test_segment_names_are_unique_within_a_run(lines, manager):
    run = create_run(manager)
    execute(run)
    segment = run.segments.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Segment.objects.create(
            run=run, number=99, name=segment.name, size=1, share_customers=0, share_revenue=0
        )


def test_utc_offset_periods_find_the_transitions_to_the_minute():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from clustering.aggregation import utc_offset_periods

    periods = utc_offset_periods(
        ZoneInfo("Europe/London"),
        datetime(2010, 12, 1, 8, 26, 13, tzinfo=UTC),
        datetime(2011, 12, 9, 12, 50, tzinfo=UTC),
    )
    assert periods == [
        (datetime(2011, 3, 27, 1, 0), "+0 seconds"),
        (datetime(2011, 10, 30, 1, 0), "+3600 seconds"),
        (datetime(2011, 12, 9, 12, 50), "+0 seconds"),
    ]
    kolkata = utc_offset_periods(
        ZoneInfo("Asia/Kolkata"), datetime(2011, 1, 1, tzinfo=UTC), datetime(2011, 2, 1, tzinfo=UTC)
    )
    assert kolkata == [(datetime(2011, 2, 1), "+19800 seconds")]


def test_purchase_days_count_local_dates_across_summer_time_changes(settings):
    """Lines just before and after local midnight on both sides of each clock change: the
    database's purchase_days must count the site's local dates, as the engine does."""
    assert settings.TIME_ZONE == "Europe/London"
    local_times = [
        "2011-03-26 23:30", "2011-03-27 00:30", "2011-03-27 23:30", "2011-03-28 00:30",
        "2011-06-30 23:59:59", "2011-07-01 00:00:01",
        "2011-10-29 23:30", "2011-10-30 00:30", "2011-10-30 01:30", "2011-10-30 23:30",
        "2011-10-31 00:30",
    ]  # fmt: skip
    rows = []
    for i, when in enumerate(local_times):
        for customer in ("A", "B")[: 1 + i % 2]:
            rows.append(
                {
                    "customer_id": customer, "invoice": f"{i}{customer}",
                    "product_code": "P1", "quantity": 1.0, "unit_price": 2.0, "amount": 2.0,
                    "timestamp": pd.Timestamp(when), "country": "United Kingdom",
                    "is_return": False, "is_non_product": False,
                }
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    load_transactions(frame)
    got = customer_aggregates(workspace=shops.test_shop()).table.set_index("customer_id")[
        "purchase_days"
    ]
    expected = frame.groupby("customer_id")["timestamp"].agg(lambda t: t.dt.date.nunique())
    assert got.to_dict() == expected.to_dict()
    # A has all 11 lines on 8 local dates; in UTC, 28 Mar 00:30 BST would fall on the 27th.
    assert got["A"] == 8


def test_the_read_keeps_customer_ids_and_countries_as_written():
    """Ids and countries come back as the text stored: not a missing value ("NA", "null",
    an empty country), not a number ("007"), not cut at a comma or a quote."""
    ids = ["NA", "null", "007", 'a,"b"', "N/A", "0042"]
    countries = ["", "NULL", "United Kingdom", "nan", "Côte d'Ivoire", "France"]
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "invoice": [f"I{i}" for i in range(len(ids))],
            "product_code": "P1", "quantity": 1.0, "unit_price": 2.0, "amount": 2.0,
            "timestamp": pd.Timestamp("2011-05-01 10:00"), "country": countries,
            "is_return": False, "is_non_product": False,
        }
    )  # fmt: skip
    load_transactions(frame)
    read = customer_aggregates(workspace=shops.test_shop())
    table = read.table.set_index("customer_id")
    assert sorted(table.index) == sorted(ids)
    assert table["country"].to_dict() == dict(zip(ids, countries, strict=True))
    stored = dict(Customer.objects.in_workspace(shops.test_shop()).values_list("external_id", "pk"))
    assert read.pk_by_customer_id.to_dict() == stored


def test_progress_is_written_per_phase_not_per_candidate(lines, manager, monkeypatch):
    """The engine reports each candidate; the run row is written once per phase (and at
    most every INTERVAL within one), and the cancel flag read at most every INTERVAL."""
    import re

    from django.test.utils import CaptureQueriesContext

    from clustering.runs.progress import RunProgress

    monkeypatch.setattr(RunProgress, "INTERVAL", 3600.0)  # no time-based writes
    run = create_run(manager, k_min=2, k_max=10)
    with CaptureQueriesContext(connection) as queries:
        assert execute(run) == "succeeded"
    assert run.candidates.count() >= 27
    table = SegmentationRun._meta.db_table
    stages = [
        re.search(r"\"stage\" = '([^']*)'", q["sql"]).group(1)
        for q in queries
        if q["sql"].startswith("UPDATE") and f'"{table}" SET "stage"' in q["sql"]
    ]
    phases = [stage.split(":", 1)[0] for stage in stages]
    assert "candidates" in phases and "saving" in phases
    assert len(phases) == len(set(phases)), stages  # one write per phase
    only_the_flag = f'SELECT "{table}"."cancel_requested" AS "cancel_requested" FROM'
    cancel_checks = [q for q in queries if q["sql"].startswith(only_the_flag)]
    assert len(cancel_checks) == 1


def test_no_customer_can_be_deleted_while_a_run_stores_its_results(lines, manager, monkeypatch):
    """The assignments have no database foreign key holding their customers: the store holds
    the customer table until it commits, so an undo's delete waits (here: times out) instead
    of leaving assignments of a customer that no longer exists."""
    from django.db import OperationalError
    from django.db import connection as own_connection

    from clustering.runs import results
    from tests.conftest import require

    require(connection.vendor == "postgresql", "PostgreSQL")
    attempts: list[str] = []
    real = results._existing_customers

    def delete_elsewhere() -> None:
        try:
            with transaction.atomic(), own_connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
                cursor.execute("DELETE FROM customers_customer WHERE id = -1")
            attempts.append("deleted")
        except OperationalError as error:
            attempts.append(getattr(error.__cause__, "pgcode", "") or str(error))
        finally:
            own_connection.close()  # this thread's connection

    def in_a_thread() -> None:
        thread = threading.Thread(target=delete_elsewhere)
        thread.start()
        thread.join()

    def cleanup_with_a_delete_elsewhere(workspace_id):
        in_a_thread()
        return real(workspace_id)

    in_a_thread()  # before the store, nothing holds the table
    assert attempts == ["deleted"]
    monkeypatch.setattr(results, "_existing_customers", cleanup_with_a_delete_elsewhere)
    assert execute(create_run(manager)) == "succeeded"
    assert attempts == ["deleted", "55P03"]  # lock_not_available


@pytest.mark.django_db(transaction=True)
def test_a_big_run_s_assignments_are_analysed_once_stored(lines, manager, monkeypatch):
    """The pages' plans need the statistics and the visibility of a big run's rows: taken
    after the store commits, not inside the transaction that holds the customer table."""
    from clustering.runs import results
    from tests.conftest import require

    require(connection.vendor == "postgresql", "PostgreSQL")
    table = SegmentAssignment._meta.db_table

    def analyses() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT analyze_count, vacuum_count FROM pg_stat_user_tables WHERE relname = %s",
                [table],
            )
            return cursor.fetchone()

    inside: list[bool] = []
    real = results._analyze

    def analyse(name: str) -> None:
        inside.append(connection.in_atomic_block)
        real(name)

    monkeypatch.setattr(results, "_analyze", analyse)
    monkeypatch.setattr(results, "ANALYZE_AFTER_ROWS", 10**9)
    assert execute(create_run(manager)) == "succeeded"
    assert inside == []  # a small run leaves it to autovacuum
    before = analyses()
    monkeypatch.setattr(results, "ANALYZE_AFTER_ROWS", 1)
    assert execute(create_run(manager)) == "succeeded"
    assert inside == [False]
    # statistics, and the rows marked visible so that a segment's count reads its index only
    assert analyses() == (before[0] + 1, before[1] + 1)


def test_creating_a_run_checks_the_data_without_reading_the_lines(lines, manager):
    """The checks in the request read the customers' summaries (one row each), never the
    line table: at a million customers the lines' span was a 6-9 s scan."""
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from customers.models import TransactionLine

    first = Customer.objects.in_workspace(shops.test_shop()).earliest("first_purchase_at")
    first_day = timezone.localtime(first.first_purchase_at).date()
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(InvalidParameters, match="must be after the first transaction"):
            create_run(manager, reference_date=first_day.isoformat())
        run = create_run(manager, reference_date=(first_day + pd.Timedelta(days=1)).isoformat())
    assert run.pk
    assert not [q for q in queries if TransactionLine._meta.db_table in q["sql"]]
