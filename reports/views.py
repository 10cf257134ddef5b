"""Pages for everyone: the dashboard, customer lookup, and comparing two runs."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clustering.report import charts
from clustering.report.axes import rhythm_view, segment_axes
from clustering.report.charts import heat_level
from clustering.selectors import worker_is_recent, worker_last_seen

from . import selectors
from .forms import CompareForm, CustomerLookupForm
from .selectors import (
    last_import,
    last_run,
    published_run,
    run_comparison,
    succeeded_runs,
)

#: The dashboard's segment orders: query value -> label.
SEGMENT_ORDERS = {"number": "segment number", "value": "expected value"}


def _by_expected_value(segment: dict) -> tuple:
    """Highest expected value first; segments not estimated last, by number."""
    value = segment["expected_value"]
    return (value is None, -(value or 0.0), segment["number"])


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The published segmentation at a glance, the latest activity, and system health."""
    beat = worker_last_seen()
    run = published_run()
    segments = list(run.segments.order_by("number").values()) if run else []
    order = request.GET.get("order", "number")
    if order not in SEGMENT_ORDERS:
        order = "number"
    rhythm = rhythm_view(run.activity_rhythm) if run else None
    for index, segment in enumerate(segments):
        segment["colour"] = index % 8
        segment["axes"] = segment_axes(segment, rhythm)
    # The colours stay with the segment (as on the run report) whatever the order.
    by_value = sorted(segments, key=_by_expected_value)
    return render(
        request,
        "reports/home.html",
        {
            "worker": beat,
            "worker_recent": worker_is_recent(beat),
            "run": run,
            "segments": by_value if order == "value" else segments,
            "segments_by_value": by_value,
            "value_estimated": any(s["expected_value"] is not None for s in segments),
            "order": order,
            "orders": SEGMENT_ORDERS,
            "share_chart": charts.share_chart(segments),
            "last_import": last_import(),
            "last_run": last_run(),
        },
    )


@require_GET
@permission_required("accounts.lookup_customers", raise_exception=True)
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """Search by customer id: features, current and earlier segments, recent purchases."""
    form = CustomerLookupForm(request.GET or None)
    result = None
    searched = ""
    if form.is_valid():
        searched = form.cleaned_data["customer_id"]
        result = selectors.customer_lookup(searched)
    features = []
    if result and result.current:
        features = [
            (charts.feature_label(name), getattr(result.current, name))
            for name in result.current.FEATURE_FIELDS
        ]
    return render(
        request,
        "reports/customer_lookup.html",
        {"form": form, "searched": searched, "result": result, "features": features},
    )


@require_GET
@permission_required("accounts.view_run_reports", raise_exception=True)
def run_compare(request: HttpRequest) -> HttpResponse:
    """Pick two succeeded runs; show how customers moved between their segments."""
    runs = list(succeeded_runs())
    form = CompareForm(_compare_choice(request.GET, runs), runs=runs)
    comparison = None
    if form.is_valid():
        by_pk = {r.pk: r for r in runs}
        comparison = run_comparison(
            by_pk[int(form.cleaned_data["before"])], by_pk[int(form.cleaned_data["after"])]
        )
    grid = []
    if comparison:
        largest = max((max(r) for r in comparison.matrix if r), default=0)
        grid = [
            {
                "name": name,
                "total": sum(row),
                "cells": [
                    {"value": v, "level": heat_level(v, largest), "same": name == column}
                    for v, column in zip(row, comparison.columns, strict=True)
                ],
            }
            for name, row in zip(comparison.rows, comparison.matrix, strict=True)
        ]
    return render(
        request,
        "reports/run_compare.html",
        {"form": form, "runs": runs, "comparison": comparison, "grid": grid},
    )


def _compare_choice(query, runs: list) -> dict | None:
    """The two runs to compare: as asked, else the newest against the one before it.

    With only ``after`` given (the report's "compare" link), ``before`` is the newest run
    older than it (or the newest other run).
    """
    if len(runs) < 2:
        return None
    data = {"before": query.get("before", ""), "after": query.get("after", "")}
    if not data["after"]:
        data["after"] = str(runs[0].pk)
    if not data["before"]:
        others = [r for r in runs if str(r.pk) != data["after"]]
        after = next((r for r in runs if str(r.pk) == data["after"]), None)
        older = [r for r in others if after and r.created_at <= after.created_at]
        data["before"] = str((older or others)[0].pk)
    return data
