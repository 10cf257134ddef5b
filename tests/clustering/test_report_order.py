"""The run report in a manager's order and words: what was found, then why, then the details
folded away; one label per algorithm and feature (tables and charts alike), no engine keys
or Python reprs on the page; the worker's stage in words; a print stylesheet."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from clustering.engine.vocabulary import ALGORITHM_LABELS, algorithm_label
from clustering.models import Candidate, SegmentationRun
from clustering.report.words import (
    candidate_label,
    parameter_view,
    preprocessing_sentences,
    reason_words,
    stage_words,
    timing_rows,
)

pytestmark = pytest.mark.django_db
Status = SegmentationRun.Status


def visible_text(page: str) -> str:
    """What a reader sees: the page without its scripts (chart data) and tags."""
    page = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html_lib.unescape(page))


def report(client, run) -> str:
    return client.get(run.get_absolute_url()).content.decode()


def chart_data(page: str, element_id: str) -> dict:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    return json.loads(found.group(1))


def test_found_comes_before_why_and_the_details_come_folded_last(site, client_for):
    page = report(client_for("manager"), site.published)
    order = [
        'id="summary-heading"',  # what was found: the segments' summary
        'id="profiles-heading"',
        'id="justification-heading"',  # why this choice
        'id="stability-heading"',
        'id="elbow-heading"',
        'id="chart-silhouette-heading"',
        'id="details-heading"',  # the details
        'data-role="candidates"',
        'id="details-parameters"',
        'id="details-preprocessing"',
        'id="details-timings"',
    ]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions), order
    details = page[page.index('id="details-heading"') :]
    for part in ("data", "candidates", "parameters", "preprocessing", "timings"):
        assert f'<details id="details-{part}">' in details, part  # folded: not open
    # The summary: each segment with its size, revenue share, value and action.
    summary = page.split('data-role="segment-summary"')[1].split("</table>")[0]
    for segment in site.published.segments.all():
        assert segment.name in html_lib.unescape(summary)
        assert html_lib.escape(segment.action) in summary
    assert "Expected value" in summary and "Share of revenue" in summary


def test_algorithms_and_settings_are_named_as_people_name_them(site, client_for):
    run = site.published
    # (rolled back with the test) candidates of methods whose engine name differs most
    common = {"silhouette": 0.3, "davies_bouldin": 1.0, "calinski_harabasz": 90.0,
              "fit_seconds": 0.1, "fitted_on": 240, "n_clusters": 5}  # fmt: skip
    Candidate.objects.bulk_create([
        Candidate(run=run, algorithm="minibatch_kmeans", k=5, setting="n_clusters=5",
                  inertia=120.0, eligible=True, **common),
        Candidate(run=run, algorithm="dbscan", k=None, setting="eps=0.5,min_samples=5",
                  eligible=False, reason="same segments as K-Means (n_clusters=5)", **common),
    ])  # fmt: skip
    page = report(client_for("manager"), run)
    text = visible_text(page)
    algorithms = set(run.candidates.values_list("algorithm", flat=True))
    assert {"minibatch_kmeans", "dbscan", "kmeans", "gmm"} <= algorithms
    for algorithm in algorithms:
        label = algorithm_label(algorithm)
        assert label != algorithm or algorithm == label.lower()
        assert label in text, label
        if label != algorithm:
            assert not re.search(rf"\b{algorithm}\b", text), algorithm
    # The charts' legends: the tables' labels, never the engine's names.
    legends = {s["label"] for s in chart_data(page, "elbow-data")["series"]}
    assert legends and legends <= set(ALGORITHM_LABELS.values())
    assert "MiniBatch K-Means" in legends
    for metric in ("silhouette", "davies_bouldin", "calinski_harabasz"):
        series = chart_data(page, f"chart-{metric}-data")["series"]
        assert {s["label"] for s in series} == {algorithm_label(a) for a in algorithms}
    # Settings in words, not the engine's parameters.
    assert "MiniBatch K-Means, 5 segments" in text
    assert "DBSCAN, radius 0.5, at least 5 neighbours" in text
    assert "same segments as K-Means (5 segments)" in text
    for raw in ("n_clusters", "n_components", "min_samples", "eps="):
        assert raw not in text, raw


def test_no_engine_keys_or_python_reprs_on_the_page(site, client_for):
    run = site.published
    # (rolled back with the test) what a real run stores beside the small site's
    run.excluded = {"no_purchases": 28, "non_positive_monetary": 1015}
    run.flagged = {"non_positive_monetary": 3}
    run.save(update_fields=["excluded", "flagged"])
    text = visible_text(report(client_for("manager"), run))
    for raw in ("Blas threads", "blas_threads", "Silhouette_matrix", "silhouette_matrix",
                "non positive monetary", "non_positive_monetary", "k_min", "value_margin",
                "{'", "': ", "[", "log1p", "None"):  # fmt: skip
        assert raw not in text, raw
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)
    assert "Processor threads per run" in text
    assert "Preparing the quality scores" in text  # the silhouette matrix's timing
    assert "Spent nothing net of returns" in text


def test_the_report_words_parameters_steps_and_timings():
    params = {"k_min": 3, "value_horizon_days": 90, "min_segment_share": 0.01,
              "lookback_days": None, "blas_threads": 1, "practical_k": [3, 8]}  # fmt: skip
    view = parameter_view(params)
    assert ("Fewest segments", "3") in view["chosen"]
    assert ("Value horizon", "90 days") in view["chosen"]
    assert ("Smallest segment share", "1%") in view["chosen"]
    assert ("Look-back window", "all purchases") in view["chosen"]
    assert ("Processor threads per run", "1") in view["fixed"]
    assert ("Preferred number of segments", "3 to 8") in view["fixed"]
    steps = [
        {"name": "impute", "method": "median", "detail": {"filled": {"frequency": 4}}},
        {"name": "outliers", "method": "cap",
         "detail": {"columns": ["monetary_total"], "quantiles": [0.01, 0.99], "clipped": 12}},
        {"name": "encode", "method": "onehot",
         "detail": {"categories": ["FR", "UK", "OTHER"], "grouped_as_other": 7,
                    "rare_share_below": 0.01}},
        {"name": "scale", "method": "standard", "detail": {"columns": ["recency_days"]}},
    ]  # fmt: skip
    assert preprocessing_sentences(steps) == [
        "Missing values were filled with each feature's median (Orders for 4 customers).",
        "Revenue were capped at 1% and 99% of their values (12 values capped).",
        "Country was turned into one column per country: 2 countries kept, 7 customers from "
        "countries under 1% of customers counted together as “Other”.",
        "Days since last purchase were put on one scale (mean 0, spread 1), so that each "
        "counts equally.",
    ]
    assert timing_rows({"silhouette_matrix": 0.5, "read data": 1.0}) == [
        ("Preparing the quality scores", 0.5),
        ("Reading the transactions", 1.0),
    ]
    assert candidate_label("gmm", "n_components=8") == "Gaussian mixture, 8 segments"
    assert reason_words("smallest segment 0.50% < 1%") == "smallest segment 0.50%, less than 1%"


@pytest.mark.parametrize(
    ("stage", "words"),
    [
        ("candidates:gmm:n_components=8", "Trying Gaussian mixture with 8 segments"),
        ("candidates:minibatch_kmeans:n_clusters=3", "Trying MiniBatch K-Means with 3 segments"),
        ("candidates:dbscan:eps=0.5,min_samples=5",
         "Trying DBSCAN (radius 0.5, at least 5 neighbours)"),
        ("candidates:birch:n_clusters=5,threshold=0", "Trying BIRCH (5 segments, threshold 0)"),
        ("candidates", "Trying the methods"),
        ("stability", "Checking the stability of the leading segmentations"),
        ("reading data", "Reading the transactions"),
        ("queued", "Waiting in the queue"),
        ("", "Waiting for the worker"),
    ],
)  # fmt: skip
def test_stage_in_words(stage, words):
    assert stage_words(stage) == words


def test_the_status_json_and_the_page_say_the_stage_in_words(site, client_for):
    run = SegmentationRun.objects.create(
        workspace=site.workspace, created_by=site.manager, params={}, status=Status.RUNNING,
        stage="candidates:gmm:n_components=8", progress=40.0,
    )  # fmt: skip
    client = client_for("manager")
    data = client.get(reverse("clustering:run-status", args=[run.pk])).json()
    assert data["stage"] == "candidates:gmm:n_components=8"  # kept for existing readers
    assert data["stage_label"] == "Trying Gaussian mixture with 8 segments"
    page = report(client, run)
    assert '<span data-role="stage" aria-live="polite">Trying Gaussian mixture with 8 segments' in (
        page
    )
    assert "n_components" not in visible_text(page)


def test_the_print_stylesheet_is_linked_for_print(site, client_for):
    page = report(client_for("manager"), site.published)
    assert re.search(r'<link rel="stylesheet" href="[^"]*css/print\.css" media="print">', page)
    css = (Path(settings.BASE_DIR) / "static/css/print.css").read_text()
    assert ".report-details { break-before: page; }" in css
    assert "details::details-content" in css  # the folded details print unfolded
    assert ".site-header nav" in css
