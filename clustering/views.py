"""Pages for segmentation runs (list, start, progress, report, cancel, publish, downloads)
and for segments (profile, members, CSV). Thin: forms validate, services write, selectors
read; chart data comes from clustering.report.charts."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.forms.utils import pretty_name
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseGone,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import PERSONAL_DATA_PERMISSION
from audit.log import record_members_exported
from common.csv_export import csv_response

from .engine.types import InvalidParameters
from .forms import RunForm
from .models import SegmentAssignment, SegmentationRun
from .playbook import playbook_index
from .report import charts
from .report.ad_audience import ad_audience_response, addresses
from .report.audience import (
    EVERYONE,
    AudienceRefused,
    audience_choices,
    audience_from,
    narrow,
    segment_countries,
)
from .report.axes import (
    rfm_edges_view,
    rfm_loyal_reach,
    rhythm_view,
    segment_axes,
    stability_view,
)
from .report.charts import heat_level
from .report.data import CANDIDATE_FIELDS, run_report_data
from .report.member_export import (
    CHOSEN_FIRST,
    FieldsRefused,
    member_export_choices,
    member_export_fields,
    member_export_header,
    member_export_rows,
)
from .report.member_fit import member_fit
from .report.members import MEMBER_SORTS, segment_get, segment_members_page
from .report.value import value_check, value_context
from .report.words import (
    candidate_label,
    knee_words,
    parameter_view,
    preprocessing_sentences,
    reason_words,
    stage_words,
    timing_rows,
)
from .selectors import run_list as run_list_query
from .services import (
    RunError,
    run_cancel,
    run_create,
    run_publish,
    shop_k_max,
    worker_ping_request,
)

MANAGE = "accounts.manage_runs"
REPORTS = "accounts.view_run_reports"
PUBLISH = "accounts.publish_runs"


@require_POST
@permission_required(MANAGE, raise_exception=True)
def worker_ping(request):
    worker_ping_request()
    messages.info(request, "Asked the background worker to check in; reload in a few seconds.")
    return redirect("home")


# ------------------------------------------------------------------------------ runs
def _runs(request: HttpRequest):
    """The runs of the request's workspace: another workspace's run answers 404."""
    return SegmentationRun.objects.in_workspace(request.workspace)


@require_GET
@permission_required(MANAGE, raise_exception=True)
def run_list(request: HttpRequest) -> HttpResponse:
    runs = run_list_query(workspace=request.workspace).without_report_data()[:100]
    return render(request, "clustering/run_list.html", {"runs": runs})


@permission_required(MANAGE, raise_exception=True)
def run_create_view(request: HttpRequest) -> HttpResponse:
    form = RunForm(request.POST or None, shop_k_max=shop_k_max(workspace=request.workspace))
    if request.method == "POST" and form.is_valid():
        try:
            run = run_create(
                workspace=request.workspace,
                user=request.user,
                params=form.params,
                name=form.cleaned_data["name"],
                k_max_by_shop_size=form.k_max_by_shop_size,
            )
        except InvalidParameters as error:
            form.add_engine_error(error)
        else:
            messages.success(request, "Run queued; this page follows its progress.")
            return redirect(run)
    return render(request, "clustering/run_form.html", {"form": form})


def _status_payload(run: SegmentationRun) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "status_display": run.get_status_display(),
        "stage": run.stage,  # the engine's name, as before; stage_label says it in words
        "stage_label": stage_words(run.stage),
        "progress": round(run.progress, 1),
        "finished": run.is_finished,
        "error": run.error,
    }


@require_GET
@permission_required(REPORTS, raise_exception=True)
def run_status(request: HttpRequest, pk: int) -> JsonResponse:
    run = get_object_or_404(
        _runs(request).only("pk", "status", "stage", "progress", "error", "cancel_requested"),
        pk=pk,
    )
    return JsonResponse(_status_payload(run))


@require_GET
@permission_required(REPORTS, raise_exception=True)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The run report; while the run is queued or running, its live progress."""
    run = get_object_or_404(run_list_query(workspace=request.workspace).defer(None), pk=pk)
    report = run_report_data(run)
    context = {
        "run": run,
        "report": report,
        "status": _status_payload(run),
        "status_url": reverse("clustering:run-status", args=[run.pk]),
    }
    if run.status == SegmentationRun.Status.SUCCEEDED:
        context.update(_report_context(run, report, request.workspace.currency_symbol))
    return render(request, "clustering/run_detail.html", context)


# Why the engine left customers out of a run (or kept them, flagged), in words.
CUSTOMER_REASONS = {
    "no_purchases": "No purchases (only returns, cancellations or fees)",
    "non_positive_monetary": "Spent nothing net of returns",
}


def _customer_reasons(counts: dict | None) -> list[tuple[str, int]]:
    return [
        (CUSTOMER_REASONS.get(key, pretty_name(key)), count)
        for key, count in (counts or {}).items()
    ]


def _report_context(run: SegmentationRun, report: dict, money_prefix: str) -> dict:
    segments = report["segments"]
    rhythm = rhythm_view(run.activity_rhythm)
    for index, segment in enumerate(segments):
        segment["colour"] = index % 8
        segment["url"] = reverse("clustering:segment-detail", args=[run.pk, segment["number"]])
        segment["axes"] = segment_axes(segment, rhythm)
    candidates = report["candidates"]
    for candidate in candidates:
        candidate["label"] = candidate_label(candidate["algorithm"], candidate["setting"])
        candidate["reason_words"] = reason_words(candidate["reason"])
    rfm = run.rfm_comparison or {}
    rfm_edges = rfm_edges_view(rfm)
    values = rfm.get("values") or []
    largest = max((max(row) for row in values if row), default=0)
    heatmap = [
        {
            "name": name,
            "cells": [{"value": v, "level": heat_level(v, largest)} for v in row],
        }
        for name, row in zip(rfm.get("rows") or [], values, strict=False)
    ]
    excluded_total = sum((run.excluded or {}).values())
    chosen = next((c for c in candidates if c.get("is_chosen")), None)
    return {
        # the chosen model's own groups, before segments mixing active and lapsed were split
        "found_k": chosen["n_clusters"] if chosen else None,
        "excluded_rows": _customer_reasons(run.excluded),
        "flagged_rows": _customer_reasons(run.flagged),
        "segments": segments,
        "candidates": candidates,
        "elbow_chart": charts.elbow_chart(candidates),
        "metric_charts": charts.metric_charts(candidates),
        "pca_chart": charts.pca_chart(run.pca or {}, segments),
        "profiles": charts.profiles_table(segments, money_prefix),
        "share_chart": charts.share_chart(segments),
        "heatmap": heatmap,
        "heatmap_columns": rfm.get("columns") or [],
        "excluded_total": excluded_total,
        "customers_in": (run.n_customers or 0) + excluded_total,
        "parameters": parameter_view(run.params),
        "preprocessing": preprocessing_sentences(run.preprocessing),
        "timing_rows": timing_rows(run.timings),
        "total_seconds": sum(v for v in (run.timings or {}).values() if v),
        "knees": knee_words(run.elbow),
        "stability_scores": [s for s in (run.stability or {}).get("scores", []) if s is not None],
        "stability": stability_view(run.stability, f"{run.chosen_algorithm}:{run.chosen_setting}"),
        "rhythm": rhythm,
        "any_axes": any(s["axes"]["shown"] for s in segments),
        "rfm_edges": rfm_edges,
        "rfm_loyal_reach": rfm_loyal_reach(rfm_edges),
        **value_context(run),
    }


@require_POST
@permission_required(MANAGE, raise_exception=True)
def run_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(_runs(request).only("pk"), pk=pk)
    try:
        run = run_cancel(workspace=request.workspace, run_id=run.pk, user=request.user)
    except RunError as error:
        messages.error(request, str(error))
    else:
        if run.status == SegmentationRun.Status.CANCELLED:
            messages.success(request, "Run cancelled.")
        else:
            messages.info(request, "Asked the run to stop; it stops at its next checkpoint.")
    return redirect("clustering:run-detail", pk=pk)


@require_POST
@permission_required(PUBLISH, raise_exception=True)
def run_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(_runs(request).only("pk"), pk=pk)
    try:
        run_publish(workspace=request.workspace, run_id=run.pk, user=request.user)
    except RunError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Published: marketing now sees these segments.")
    return redirect("clustering:run-detail", pk=pk)


@require_GET
@permission_required(REPORTS, raise_exception=True)
def run_report_json(request: HttpRequest, pk: int) -> JsonResponse:
    run = get_object_or_404(run_list_query(workspace=request.workspace).defer(None), pk=pk)
    data = {**run_report_data(run), "currency": request.workspace.currency}
    response = JsonResponse(data, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-report.json"'
    return response


@require_GET
@permission_required(REPORTS, raise_exception=True)
def run_candidates_csv(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(_runs(request).only("pk"), pk=pk)
    rows = (
        run.candidates.order_by("algorithm", "n_clusters", "setting")
        .values_list(*CANDIDATE_FIELDS)
        .iterator(chunk_size=500)
    )
    return csv_response(f"run-{run.pk}-candidates.csv", CANDIDATE_FIELDS, rows)


@require_GET
@permission_required(REPORTS, raise_exception=True)
def run_assignments_csv(request: HttpRequest, pk: int) -> HttpResponse:
    kept = ("activity_rhythm", "value_ahead")  # what the export reads of the run's report
    run = get_object_or_404(
        _runs(request).defer(*SegmentationRun.report_data_fields(keep=kept)), pk=pk
    )
    return _members_csv(
        request, run, run.assignments.all(), f"run-{run.pk}-members.csv", target=run,
        what="every segment's members",
    )  # fmt: skip


def _members_csv(request: HttpRequest, run, assignments, filename: str, *, target, what: str):
    """The members export (clustering.report.member_export), logged with its row count;
    contact details only for those who may see personal data; ?fields= picks columns. Gone
    once the run's members were removed (clustering.runs.retention), rather than an empty
    file."""
    if run.members_removed_at:
        return _members_gone(run)
    personal = request.user.has_perm(PERSONAL_DATA_PERMISSION)
    try:
        fields = member_export_fields(request.GET.getlist("fields"), personal=personal)
    except FieldsRefused as refused:
        return HttpResponseBadRequest(str(refused), content_type="text/plain; charset=utf-8")
    header = member_export_header(
        currency=request.workspace.currency,
        personal=personal,
        horizon_days=(run.value_ahead or {}).get("horizon_days"),
        fields=fields,
    )
    rows = member_export_rows(assignments, run=run, personal=personal, fields=fields)
    record_members_exported(
        request=request, target=target, what=what, rows=assignments.count(), personal=personal
    )
    return csv_response(filename, header, rows)


def _members_gone(run) -> HttpResponse:
    removed = localtime(run.members_removed_at)
    return HttpResponseGone(
        f"This run's members were removed on {removed:%Y-%m-%d}: it was never published. "
        "Its report and segments stay.",
        content_type="text/plain; charset=utf-8",
    )


# ------------------------------------------------------------------------------ segments
def _visible_segment(request: HttpRequest, run_id: int, number: int):
    """The segment, if this user may see it: the published run's for everyone with
    view_segments; any succeeded run's for those who read run reports."""
    if not request.user.has_perm("accounts.view_segments"):
        raise PermissionDenied
    segment = segment_get(workspace=request.workspace, run_id=run_id, number=number)
    if segment is None:
        raise Http404("No such segment")
    run = segment.run
    if run.is_published:
        return segment
    if run.status == SegmentationRun.Status.SUCCEEDED and request.user.has_perm(REPORTS):
        return segment
    raise PermissionDenied


@require_GET
def segment_detail(request: HttpRequest, run_id: int, number: int) -> HttpResponse:
    segment = _visible_segment(request, run_id, number)
    sort = request.GET.get("sort", "monetary")
    if sort not in MEMBER_SORTS:
        sort = "monetary"
    descending = request.GET.get("dir", "desc") != "asc"
    search = request.GET.get("q", "").strip()[:64]
    personal = request.user.has_perm(PERSONAL_DATA_PERMISSION)
    rhythm = segment.run.activity_rhythm
    audience, refused = EVERYONE, None
    try:
        audience = audience_from(request.GET, run=segment.run)
    except AudienceRefused as exc:
        refused = exc
    page = audience_size = None
    countries: list[str] = []
    if not segment.run.members_removed_at:
        page = segment_members_page(
            segment,
            search=search,
            sort=sort,
            descending=descending,
            page=request.GET.get("page"),
            personal=personal,
            audience=audience,
        )
        page.object_list = _with_fit(segment, list(page.object_list))
        if audience.narrowed:  # what its download holds, whatever the page's search
            audience_size = (
                narrow(segment.assignments.all(), audience, segment=segment).count()
                if search
                else page.paginator.count
            )
        if segment.top_country:
            countries = segment_countries(segment)
    profile = charts.segment_profile_rows(
        {"lift": segment.lift, "means": segment.means, "medians": segment.medians}
    )
    columns = []
    for key, (label, _field) in MEMBER_SORTS.items():
        current = key == sort
        next_dir = "asc" if current and descending else "desc"
        columns.append(
            {
                "key": key,
                "label": label,
                "current": current,
                "aria_sort": ("descending" if descending else "ascending") if current else "none",
                "query": "?"
                + urlencode(
                    {
                        "sort": key,
                        "dir": next_dir,
                        **({"q": search} if search else {}),
                        **audience.query(),
                    }
                ),
            }
        )
    return render(
        request,
        "clustering/segment_detail.html",
        {
            "segment": segment,
            "run": segment.run,
            "profile": profile,
            "lift_chart": charts.lift_chart(profile),
            "rule": charts.readable_rule(segment.rule, request.workspace.currency_symbol),
            "axes": segment_axes(segment, rhythm_view(segment.run.activity_rhythm)),
            "rhythm": rhythm_view(rhythm),
            "distinguishing": [charts.feature_label(f) for f in segment.distinguishing],
            "playbook_index": playbook_index(segment.name),
            # how far to trust the value figures, in the dashboard's words
            "value_check": value_check(segment.run),
            "page": page,
            "columns": columns,
            "sort": sort,
            "direction": "desc" if descending else "asc",
            "search": search,
            "audience": audience,
            "audience_refused": refused,
            "audience_size": audience_size,
            "audience_query": urlencode(audience.query()),
            **audience_choices(segment.run),  # activities, due_choices
            "countries": countries,
            # the filters and search, for the pager's links
            "kept_query": urlencode({**({"q": search} if search else {}), **audience.query()}),
            # contact columns where this page has contact details (CDNOW's have none)
            "personal": personal
            and any(m["customer__email"] or m["customer__name"] for m in page or ()),
            # the ad platforms' list (hashed e-mails) where this page lists e-mail addresses
            "ad_audience": personal and any(m["customer__email"] for m in page or ()),
            # the export's columns to choose from, the usual ones ticked
            "export_columns": member_export_choices(
                currency=request.workspace.currency,
                personal=personal,
                horizon_days=(segment.run.value_ahead or {}).get("horizon_days"),
            ),
            "chosen_first": CHOSEN_FIRST,
            "warnings": sum(1 for m in page.object_list if m["fit"].warning) if page else 0,
        },
        status=400 if refused else 200,
    )


def _with_fit(segment, members: list[dict]) -> list[dict]:
    """Each member with their fit in words and own activity (clustering.report.member_fit),
    and whether they bought again (P(alive) means nothing otherwise)."""
    run = segment.run
    names = dict(segment.run.segments.values_list("number", "name"))
    for member in members:
        member["no_repeat_purchase"] = SegmentAssignment.bought_on_one_day(
            member["recency_days"], member["tenure_days"]
        )
        member["fit"] = member_fit(
            confidence=member["confidence"],
            runner_up_number=member["runner_up_number"],
            recency_days=member["recency_days"],
            algorithm=run.chosen_algorithm,
            segment_names=names,
            segment_activity=segment.activity,
            rhythm=run.activity_rhythm,
            p_alive=member["p_alive"],
            evidence=segment.activity_evidence,
        )
    return members


def _segment_audience(request: HttpRequest, run_id: int, number: int):
    """(segment, its members narrowed to the request's audience, the audience, the file
    name's stem) for a members download; a refused audience raises AudienceRefused."""
    if not request.user.has_perm("accounts.export_segment_members"):
        raise PermissionDenied
    segment = _visible_segment(request, run_id, number)
    audience = audience_from(request.GET, run=segment.run)
    slug = "".join(c if c.isalnum() else "-" for c in segment.name.lower()).strip("-")
    members = narrow(segment.assignments.all(), audience, segment=segment)
    stem = f"run-{run_id}-segment-{number}-{slug}{audience.file_suffix()}"
    return segment, members, audience, stem


def _refused(refused: AudienceRefused) -> HttpResponse:
    return HttpResponseBadRequest(str(refused), content_type="text/plain; charset=utf-8")


@require_GET
def segment_members_csv(request: HttpRequest, run_id: int, number: int) -> HttpResponse:
    try:
        segment, members, audience, stem = _segment_audience(request, run_id, number)
    except AudienceRefused as refused:
        return _refused(refused)
    return _members_csv(
        request, segment.run, members, f"{stem}.csv", target=segment,
        what=audience.export_words(),
    )  # fmt: skip


@require_GET
def segment_ad_audience_csv(request: HttpRequest, run_id: int, number: int) -> HttpResponse:
    """The members' hashed e-mails for an ad platform (clustering.report.ad_audience): a
    pseudonym of personal data still, so only for those who may see it."""
    if not request.user.has_perm(PERSONAL_DATA_PERMISSION):
        raise PermissionDenied
    try:
        segment, members, audience, stem = _segment_audience(request, run_id, number)
    except AudienceRefused as refused:
        return _refused(refused)
    if segment.run.members_removed_at:
        return _members_gone(segment.run)
    return ad_audience_response(
        request, emails=addresses(members, through="customer"), target=segment,
        what=audience.export_words(), filename=f"{stem}-ad-audience.csv",
    )  # fmt: skip
