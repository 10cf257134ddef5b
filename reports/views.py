"""Pages for everyone: the dashboard, customer lookup, and comparing two runs, each of the
request's workspace."""

from __future__ import annotations

import math
from datetime import timedelta

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.roles import PERSONAL_DATA_PERMISSION
from alerts.selectors import open_alerts
from clustering.models import SegmentationRun
from clustering.playbook import playbook_outdated
from clustering.report import charts
from clustering.report.axes import rhythm_view, segment_axes
from clustering.report.charts import heat_level
from clustering.report.member_fit import assignment_fit
from clustering.report.value import value_check
from clustering.selectors import succeeded_runs, worker_is_recent, worker_last_seen
from customers.kept_out import kept_out_entry
from customers.selectors import customer_ids_for_email

from . import selectors
from .forms import CompareForm, CustomerLookupForm
from .movement_views import top_moves
from .publication import publication, purchase_period
from .selectors import last_import, last_run, published_run, run_comparison

#: The dashboard's segment orders: query value -> label. Revenue share is the default (every
#: run has it); expected value is offered when the run estimated it.
SEGMENT_ORDERS = {"revenue": "share of revenue", "value": "expected value"}

#: The open alerts the dashboard lists (the alerts page has them all).
OPEN_ALERTS_SHOWN = 10

#: Colours a segment card and its bars can take (site.css .seg-N, charts.js COLOURS).
PALETTE_SIZE = 8


def _expected_value_key(segment: dict) -> tuple:
    value = segment["expected_value"]
    return (value is None, -(value or 0.0))


def _by_revenue_share(segment: dict) -> tuple:
    """Largest share of revenue first, then highest expected value, then by number."""
    return (-segment["share_revenue"], *_expected_value_key(segment), segment["number"])


def _by_expected_value(segment: dict) -> tuple:
    """Highest expected value first; segments not estimated last, by revenue share."""
    return (*_expected_value_key(segment), -segment["share_revenue"], segment["number"])


def segment_share_chart(segments: list[dict]) -> dict:
    """Share of customers beside share of revenue, per segment, with each segment's colour
    so its bars wear its card's colour."""
    return {
        "labels": [s["name"] for s in segments],
        "colours": [s["colour"] for s in segments],
        "customers": [round(100 * s["share_customers"], 1) for s in segments],
        "revenue": [round(100 * s["share_revenue"], 1) for s in segments],
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The published segmentation at a glance (most valuable segments first), the latest
    activity, and the worker's health for those who can act on it."""
    workspace = request.workspace
    run = published_run(workspace=workspace)
    segments = list(run.segments.order_by("number").values()) if run else []
    rhythm = rhythm_view(run.activity_rhythm) if run else None
    for index, segment in enumerate(segments):
        # By number, as on the run report, so a segment wears one colour on every page.
        segment["colour"] = index % PALETTE_SIZE
        segment["axes"] = segment_axes(segment, rhythm)
        # Revenue / members: the engine's mean of the members' net spend.
        segment["spend_per_customer"] = (segment["means"] or {}).get("monetary_total")
    value_estimated = any(s["expected_value"] is not None for s in segments)
    order = request.GET.get("order", "revenue")
    if order not in SEGMENT_ORDERS or (order == "value" and not value_estimated):
        order = "revenue"
    by_value = sorted(segments, key=_by_expected_value)
    shown = by_value if order == "value" else sorted(segments, key=_by_revenue_share)
    latest = last_run(workspace=workspace)
    context = {
        "run": run,
        "publication": publication(run) if run else None,
        "purchase_period": purchase_period(run) if run else None,
        "segments": shown,
        "segments_by_value": by_value,
        "value_estimated": value_estimated,
        # How far to trust the value table: its holdout check, as the run report words it.
        "value_check": value_check(run) if run else None,
        "order": order,
        "orders": SEGMENT_ORDERS,
        "share_chart": segment_share_chart(shown),
        "last_import": last_import(workspace=workspace),
        "last_run": latest,
        "last_run_name": latest.display_name if latest else "",
        "show_system": request.user.has_perm("accounts.manage_runs"),
        # for those who may change it: the published run's advice is not the playbook's now
        "playbook_outdated": (
            playbook_outdated(segments, workspace=workspace)
            if request.user.has_perm("accounts.manage_runs")
            else []
        ),
        # The three largest moves into the latest publication (_since_last_publication.html).
        "since_last": top_moves(workspace=workspace, run=run) if run else None,
        # Until a member acknowledges them (templates/alerts/_open_alerts.html).
        "open_alerts": open_alerts(workspace=workspace)[:OPEN_ALERTS_SHOWN],
    }
    # Only those who can act on the worker see its state (and pay for the query).
    if context["show_system"]:
        beat = worker_last_seen()
        context.update(worker=beat, worker_recent=worker_is_recent(beat))
    return render(request, "reports/home.html", context)


#: Customers listed when several have the e-mail searched (a person is rarely more than a few).
EMAIL_MATCHES_SHOWN = 50


@require_GET
@permission_required("accounts.lookup_customers", raise_exception=True)
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """Search the workspace's customers by id, or by e-mail for those who see personal data
    (a person asking to be forgotten gives their e-mail): features, current and earlier
    segments, recent purchases."""
    personal = request.user.has_perm(PERSONAL_DATA_PERMISSION)
    form = CustomerLookupForm(request.GET or None, personal=personal)
    result = None
    searched = ""
    by_email: list | None = None  # the customers with the e-mail searched, when it was one
    if form.is_valid():
        searched = form.cleaned_data["customer_id"]
        workspace = request.workspace
        result = selectors.customer_lookup(workspace=workspace, external_id=searched)
        # an id is tried first: a shop's ids may hold an "@"
        if result is None and "@" in searched:
            if not personal:
                return render(
                    request,
                    "reports/customer_lookup.html",
                    {"form": form, "searched": searched, "email_refused": True},
                    status=403,
                )
            by_email = customer_ids_for_email(workspace=workspace, email=searched)[
                : EMAIL_MATCHES_SHOWN + 1
            ]
            if len(by_email) == 1:
                result = selectors.customer_lookup(workspace=workspace, external_id=by_email[0])
    features = []
    fit = None
    if result and result.current:
        fit = assignment_fit(result.current, result.published)
        # those the run's profiles kept: one value for the whole shop tells nothing
        profiled = result.current.segment.medians or {}
        features = [
            (charts.feature_label(name), getattr(result.current, name), charts.feature_unit(name))
            for name in result.current.FEATURE_FIELDS
            if not profiled or name in profiled
        ]
    not_found = bool(searched) and result is None and not by_email
    # An id this workspace does not know answers 404 (with the page saying so), as it
    # would were it another workspace's customer.
    return render(
        request,
        "reports/customer_lookup.html",
        {
            "form": form,
            "searched": searched,
            "result": result,
            "features": features,
            "fit": fit,
            "value_check": value_check(result.published) if result and result.published else None,
            "next_order": _next_order(result),
            "personal": personal,
            "by_email": by_email[:EMAIL_MATCHES_SHOWN] if by_email and result is None else None,
            "by_email_more": bool(by_email) and len(by_email) > EMAIL_MATCHES_SHOWN,
            # removed and kept out: say so, rather than "no such customer"
            "kept_out": (
                kept_out_entry(workspace=request.workspace, searched=searched)
                if not_found
                else None
            ),
        },
        status=404 if not_found else 200,
    )


#: Beyond this wait a date says nothing a marketer can plan with (and may not exist).
NEXT_ORDER_DATED_DAYS = 3650


def _next_order(result) -> dict | None:
    """The median wait the run stored for the customer's next order, if still active: its
    days, whether it is too far off to plan with, and the day it ends (the run's date plus
    the wait; None when too far or the run has no date). None when not estimated."""
    current = result.current if result else None
    if current is None or current.next_purchase_days is None:
        return None
    reference, wait = result.published.reference_date, current.next_purchase_days
    far = not math.isfinite(wait) or wait > NEXT_ORDER_DATED_DAYS
    by = None if far or reference is None else reference + timedelta(days=round(wait))
    return {"days": wait, "far": far, "by": by}


@require_GET
@permission_required("accounts.view_run_reports", raise_exception=True)
def run_compare(request: HttpRequest) -> HttpResponse:
    """Pick two succeeded runs; show how customers moved between their segments."""
    runs = list(succeeded_runs(workspace=request.workspace))
    _refuse_runs_of_other_workspaces(request, runs)
    form = CompareForm(_compare_choice(request.GET, runs), runs=runs)
    comparison = None
    if form.is_valid():
        by_pk = {r.pk: r for r in runs}
        comparison = run_comparison(
            workspace=request.workspace,
            before=by_pk[int(form.cleaned_data["before"])],
            after=by_pk[int(form.cleaned_data["after"])],
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


def _refuse_runs_of_other_workspaces(request: HttpRequest, runs: list) -> None:
    """404 for a run id that is not the workspace's, as any page does for another
    workspace's object (a run of this workspace that cannot be compared is a form error)."""
    offered = {str(r.pk) for r in runs}
    for key in ("before", "after"):
        value = request.GET.get(key, "")
        if value.isdigit() and len(value) < 19 and value not in offered:  # fits a bigint
            runs_here = SegmentationRun.objects.in_workspace(request.workspace)
            if not runs_here.filter(pk=int(value)).exists():
                raise Http404("No such run")


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
