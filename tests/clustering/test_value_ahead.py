"""The value stage through a real run: the worker reads the calibration aggregates as of the
holdout's first day in the same snapshot, the run stores the value summary, each segment's
expected value and each customer's P(alive), and the run report shows it to a manager, or
says plainly why it cannot (stage turned off, run stored before the stage existed).

The engine's models are tested in tests/clustering/engine; here the holdout check the run
stored is compared with the engine's own check from the same transaction lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import pandas as pd
import pytest
from django.db import transaction

from clustering.engine.value import holdout_check
from clustering.models import Segment, SegmentAssignment, SegmentationRun

pytestmark = pytest.mark.django_db

PARAMS = {"algorithms": ["kmeans"], "k_min": 3, "k_max": 4, "seed": 7}


@dataclass
class World:
    valued: SegmentationRun
    unvalued: SegmentationRun
    lines: pd.DataFrame


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    import clustering.services as services
    from clustering.params import params_from_input
    from tests.clustering.factories import load_transactions, synthetic_lines
    from tests.reports.site_data import _wipe
    from tests.shops import join, test_shop

    def execute(params: dict, name: str) -> SegmentationRun:
        with transaction.atomic():
            run = services.run_create(
                workspace=shop,
                user=manager,
                params=params_from_input(params),
                name=name,
                enqueue=False,
            )
        outcome = services.run_execute(run_id=run.pk, token=name, hostname="tests@value")
        assert outcome == "succeeded", SegmentationRun.unscoped.get(pk=run.pk).error
        return SegmentationRun.unscoped.get(pk=run.pk)

    with django_db_blocker.unblock():
        _wipe()
        shop = test_shop()
        manager = get_user_model().objects.create_user("site-value", password="pw-site-1")
        join(manager, shop, "manager")
        lines = synthetic_lines(300, seed=11)
        load_transactions(lines)
        try:
            yield World(
                execute(PARAMS, "valued"),
                execute({**PARAMS, "value_horizon_days": 0}, "unvalued"),
                lines,
            )
        finally:
            _wipe()


def text(response) -> str:
    """The page's text, tags removed and spaces collapsed."""
    assert response.status_code == 200
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def json_script(html: str, element_id: str):
    """The data of a page's json_script element."""
    import json

    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, element_id
    return json.loads(found.group(1))


def test_the_run_stores_the_value_summary_and_its_holdout_check(world):
    value = world.valued.value_ahead
    assert value["horizon_days"] == 90 and value["discount_rate"] == 0.10
    assert value["margin"] == 1.0
    assert set(value["purchase_model"]) == {"r", "alpha", "a", "b"}
    assert set(value["spend_model"]) == {"p", "q", "v"}
    assert value["customers"] > 0 and value["total_expected_value"] > 0
    # The calibration aggregates the database gave check the forecast as the engine does
    # from the lines themselves.
    engine = holdout_check(world.lines, pd.Timestamp(world.valued.reference_date), 0.25)
    holdout = value["holdout"]
    assert holdout["calibration_end"] == engine.calibration_end.date().isoformat()
    assert holdout["actual"] == engine.actual > 0
    assert holdout["predicted"] == pytest.approx(engine.predicted, abs=0.1)
    assert holdout["error"] == pytest.approx(engine.error, abs=1e-3)
    assert [r["customers"] for r in holdout["by_purchases"]] == list(
        engine.by_purchases["customers"]
    )
    # the weekly tracking series: the database's purchase days by day give the engine's weeks
    weekly = holdout["weekly"]
    assert [w["week_end"] for w in weekly] == [
        d.date().isoformat() for d in engine.tracking["week_end"]
    ]
    assert [w["actual"] for w in weekly] == list(engine.tracking["actual"])
    assert [w["predicted"] for w in weekly] == pytest.approx(
        list(engine.tracking["predicted"]), abs=0.1
    )
    assert (
        weekly[-1]["actual"] - [w for w in weekly if not w["holdout"]][-1]["actual"]
        == (holdout["actual"])
    )
    assert "read calibration" in world.valued.timings and "value" in world.valued.timings


def test_the_run_stores_each_segments_value_and_each_customers(world):
    run = world.valued
    segments = list(Segment.unscoped.filter(run=run))
    total = run.value_ahead["total_expected_value"]
    assert sum(s.expected_value for s in segments) == pytest.approx(total, rel=1e-6)
    assert sum(s.share_expected_value for s in segments) == pytest.approx(1.0)
    for s in segments:
        assert s.value_per_customer == pytest.approx(s.expected_value / s.size)
        assert 0 <= s.median_p_alive <= 1
    rows = SegmentAssignment.unscoped.filter(run=run)
    assert not rows.filter(p_alive__isnull=True).exists()
    assert not rows.filter(p_alive__gt=1).exists() and not rows.filter(p_alive__lt=0).exists()
    assert rows.filter(expected_purchases__gt=0).count() == rows.count()
    by_segment = {s.pk: 0.0 for s in segments}
    for segment_id, value in rows.values_list("segment_id", "expected_value"):
        by_segment[segment_id] += value
    assert by_segment == pytest.approx({s.pk: s.expected_value for s in segments}, rel=1e-6)


def test_the_report_shows_value_ahead_and_the_holdout_error(world, client_for):
    run = world.valued
    response = client_for("manager").get(run.get_absolute_url())
    page, html = text(response), response.content.decode()
    holdout = run.value_ahead["holdout"]
    assert "Value ahead" in page
    assert "purchases forecast for the next 90 days" in page
    assert "discounted at 10% a year" in page and "the margin is assumed to be 100%" in page
    weeks = round(holdout["holdout_weeks"])
    assert f"repeat purchases in the last {weeks} weeks" in page
    assert f"actual {holdout['actual']:,}: error {holdout['error']:+.1%}" in page
    assert 'id="holdout-data"' in html and 'data-chart="holdout"' in html
    # the aggregate error in words, and the weekly tracking chart with its numbers in a table
    side = "fewer" if holdout["error"] < 0 else "more"
    assert (
        f"the model forecast {abs(holdout['error']):.1%} {side} repeat purchases than "
        "customers made" in page
    )
    assert 'id="tracking-data"' in html and 'data-chart="tracking"' in html
    chart = json_script(html, "tracking-data")
    weekly = holdout["weekly"]
    assert chart["actual"] == [w["actual"] for w in weekly]
    assert chart["split"] == sum(not w["holdout"] for w in weekly) - 1
    assert f"The weekly numbers ({len(weekly)} weeks)" in page
    last = weekly[-1]
    assert f"holdout {last['actual']:,} {last['predicted']:,.0f}" in page
    for s in Segment.unscoped.filter(run=run):
        assert f"{s.expected_value:,.2f}" in page
        assert f"{100 * s.median_p_alive:.0f}%" in page
    assert run.value_ahead["median_p_alive_of"] == "repeat_buyers"
    assert "Median P(alive) of repeat buyers" in page


def test_a_run_without_the_value_stage_stores_nothing_and_says_so(world, client_for):
    run = world.unvalued
    assert run.value_ahead == {}
    assert not Segment.unscoped.filter(run=run, expected_value__isnull=False).exists()
    assert not Segment.unscoped.filter(run=run, median_p_alive__isnull=False).exists()
    rows = SegmentAssignment.unscoped.filter(run=run)
    assert rows.exists() and not rows.filter(p_alive__isnull=False).exists()
    assert not rows.filter(expected_value__isnull=False).exists()
    assert "read calibration" not in run.timings
    response = client_for("manager").get(run.get_absolute_url())
    page = text(response)
    assert "No value estimate: The value estimate was turned off for this run" in page
    assert "Median P(alive)" not in page and 'id="holdout-data"' not in response.content.decode()


def test_a_run_stored_before_the_value_stage_renders(world, client_for):
    run = world.valued
    saved = (dict(run.value_ahead), dict(run.params))
    try:
        run.value_ahead = {}
        run.params = {k: v for k, v in run.params.items() if not k.startswith("value_")}
        run.save(update_fields=["value_ahead", "params"])
        page = text(client_for("manager").get(run.get_absolute_url()))
        assert "No value estimate: This run was made before value estimates existed" in page
        assert "Median P(alive)" not in page
    finally:
        run.value_ahead, run.params = saved
        run.save(update_fields=["value_ahead", "params"])


def test_a_missing_holdout_is_said_plainly(world, client_for):
    run = world.valued
    saved = dict(run.value_ahead)
    try:
        run.value_ahead = {**saved, "holdout": None}
        run.save(update_fields=["value_ahead"])
        page = text(client_for("manager").get(run.get_absolute_url()))
        assert "No holdout check: The run had no holdout period to check the forecast on." in page
        assert "Median P(alive)" in page
    finally:
        run.value_ahead = saved
        run.save(update_fields=["value_ahead"])


def test_a_holdout_stored_before_the_weekly_series_shows_its_other_chart_only(world, client_for):
    run = world.valued
    saved = dict(run.value_ahead)
    try:
        holdout = {k: v for k, v in saved["holdout"].items() if k != "weekly"}
        run.value_ahead = {**saved, "holdout": holdout}
        run.save(update_fields=["value_ahead"])
        response = client_for("manager").get(run.get_absolute_url())
        html = response.content.decode()
        assert 'id="holdout-data"' in html
        assert 'id="tracking-data"' not in html and "The weekly numbers" not in text(response)
    finally:
        run.value_ahead = saved
        run.save(update_fields=["value_ahead"])


def _read_with_holdout(world, lookback_days):
    """The run's read with a holdout (and the lookback window, if any), the lines it covers
    and its reference date."""
    from clustering.aggregation import customer_aggregates

    reference = pd.Timestamp(world.valued.reference_date)
    read = customer_aggregates(
        workspace=world.valued.workspace,
        reference_date=reference,
        lookback_days=lookback_days,
        holdout_share=0.25,
    )
    lines = world.lines
    if lookback_days is not None:
        lines = lines[lines["timestamp"] >= reference - pd.Timedelta(days=lookback_days)]
        assert len(lines) < len(world.lines)  # the window does cut the data
    return read, lines, reference


@pytest.mark.parametrize("lookback_days", [None, 150])
def test_the_calibration_read_in_the_runs_scan_is_the_engines_table_as_of_the_holdout(
    world, lookback_days
):
    """The calibration's columns come from the run's own GROUP BY (FILTER as of the holdout's
    first day): the same customers and values as the engine's aggregation of the lines before
    that day, with or without a lookback window that starts after the first purchase."""
    from clustering.aggregation import CALIBRATION_COLUMNS
    from clustering.engine.features import aggregate_transactions
    from clustering.engine.value import calibration_end

    read, lines, reference = _read_with_holdout(world, lookback_days)
    purchases = lines[~lines["is_return"].astype(bool)]
    end = calibration_end(purchases["timestamp"].min(), reference, 0.25)
    assert read.calibration.end == end
    expected, _ = aggregate_transactions(lines, end)
    columns = list(CALIBRATION_COLUMNS)

    def ordered(table):
        table = table[columns].copy()
        table["customer_id"] = table["customer_id"].astype(str)
        return table.sort_values("customer_id").reset_index(drop=True)

    got, want = ordered(read.calibration.aggregates), ordered(expected)
    assert len(got) > 0 and got["purchase_days"].sum() > 0
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("lookback_days", [None, 150])
def test_the_tracking_charts_days_read_with_the_runs_scan_are_the_engines(world, lookback_days):
    """The holdout chart's purchase days per day (on PostgreSQL listed per customer in the
    run's own GROUP BY, on SQLite a query of their own): the engine's count from the lines,
    with or without a lookback window."""
    from clustering.engine.value import daily_purchase_days

    read, lines, reference = _read_with_holdout(world, lookback_days)
    want = daily_purchase_days(lines, read.calibration.end, reference)
    got = read.calibration.daily_purchase_days
    assert len(want) > 30 and want.sum() > 0
    assert list(got.index.strftime("%Y-%m-%d")) == list(want.index.strftime("%Y-%m-%d"))
    assert got.tolist() == want.tolist()


def test_the_report_checks_the_spend_models_independence_assumption(world, client_for):
    run = world.valued
    stored = run.value_ahead["spend_frequency_correlation"]
    assert stored is not None and -1 <= stored <= 1
    saved = dict(run.value_ahead)
    client = client_for("manager")
    try:
        for correlation, words in (
            (0.08, "correlation 0.08, weak, as the spend model assumes"),
            (0.45, "correlation 0.45, customers who buy more often spend more per purchase"),
            (-0.5, "correlation -0.5, customers who buy more often spend less per purchase"),
        ):
            run.value_ahead = {**saved, "spend_frequency_correlation": correlation}
            run.save(update_fields=["value_ahead"])
            assert words in text(client.get(run.get_absolute_url()))
        # a run stored before the check says nothing of it
        run.value_ahead = {k: v for k, v in saved.items() if k != "spend_frequency_correlation"}
        run.save(update_fields=["value_ahead"])
        html = client.get(run.get_absolute_url()).content.decode()
        assert "Value ahead" in html and 'data-role="spend-independence"' not in html
    finally:
        run.value_ahead = saved
        run.save(update_fields=["value_ahead"])
