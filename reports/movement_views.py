"""Pages for movements between published segmentations (issue 19): who went from which
segment to which between a publication and the one before it, the customers behind each
movement (a page and a CSV), and the segments' sizes across every publication. Marketing and
managers read them (view_segments); the CSV needs export_segment_members."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.roles import PERSONAL_DATA_PERMISSION
from audit.log import record_members_exported
from clustering.history import publications, segment_sizes_over_time
from clustering.models import Publication, Segment
from clustering.movement_members import (
    MOVEMENT_CSV_HEADER,
    movement_member_rows,
    movement_members,
)
from clustering.movements import Flow, movements_between
from clustering.report.ad_audience import ad_audience_response, addresses
from common.csv_export import csv_response
from common.derived_cache import customers_version

VIEW = "accounts.view_segments"
EXPORT = "accounts.export_segment_members"
MEMBERS_PER_PAGE = 50
TOP_MOVES_SECONDS = 3600
#: How the two ends of a movement are named in its address: ?from=<segment number>|new and
#: ?to=<segment number>|gone.
NEW, GONE = "new", "gone"


def _publication(request: HttpRequest, publication_id: int | None) -> Publication | None:
    """The workspace's publication with this id (404 if it has none), or its latest (None
    when nothing is published yet)."""
    found = publications(workspace=request.workspace)
    if publication_id is None:
        return found.first()
    return get_object_or_404(found, pk=publication_id)


def _page_context(request: HttpRequest, later: Publication | None) -> dict:
    movements = movements_between(workspace=request.workspace, later=later) if later else None
    flows = movements.flows if movements else []
    newer = (
        Publication.objects.in_workspace(request.workspace).filter(previous=later).first()
        if later
        else None
    )
    return {
        "later": later,
        "later_name": later.run.display_name if later else "",
        "earlier": movements.earlier if movements else None,
        "earlier_name": movements.earlier_run.display_name if movements else "",
        "newer": newer,
        "movements": movements,
        "moves": _rows(f for f in flows if f.moved and f.source and f.target),
        "stayed": _rows(f for f in flows if not f.moved),
        "new_flows": _rows(f for f in flows if f.source is None),
        "gone_flows": _rows(f for f in flows if f.target is None),
        "sizes_chart": segment_sizes_over_time(workspace=request.workspace),
    }


@require_GET
@permission_required(VIEW, raise_exception=True)
def movements_latest(request: HttpRequest) -> HttpResponse:
    """Movements into the workspace's latest publication."""
    context = _page_context(request, _publication(request, None))
    return render(request, "reports/movements.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def movements_detail(request: HttpRequest, publication_id: int) -> HttpResponse:
    """Movements into one publication of the workspace, from the one before it."""
    context = _page_context(request, _publication(request, publication_id))
    return render(request, "reports/movements.html", context)


@dataclass(frozen=True)
class FlowEnds:
    """One movement's two ends: a segment of each run, None for "not in that run"."""

    earlier: Publication
    later: Publication
    source: Segment | None
    target: Segment | None

    @property
    def query(self) -> str:
        source = NEW if self.source is None else self.source.number
        target = GONE if self.target is None else self.target.number
        return f"from={source}&to={target}"


class BadFlow(ValueError):
    """The address names no movement; the message says what is wrong."""


def _segment(request, run, value: str, absent: str, which: str) -> Segment | None:
    if value == absent:
        return None
    segments = Segment.objects.in_workspace(request.workspace).filter(run=run)
    if value.isdigit() and len(value) < 6:
        segment = segments.filter(number=int(value)).first()
        if segment is not None:
            return segment
    numbers = ", ".join(str(n) for n in segments.values_list("number", flat=True))
    raise BadFlow(
        f"“{which}” must be a segment number of the {'earlier' if absent == NEW else 'later'} "
        f"run ({numbers}) or “{absent}”; got “{value}”."
    )


def _flow_ends(request: HttpRequest, publication_id: int) -> FlowEnds:
    """The movement the address names; 404 for another workspace's publication, BadFlow
    for ends that name no movement of it."""
    later = _publication(request, publication_id)
    assert later is not None
    if later.previous_id is None:
        raise BadFlow("This is the workspace's first publication: nobody moved into it.")
    earlier = publications(workspace=request.workspace).get(pk=later.previous_id)
    source_text = request.GET.get("from", "").strip()
    target_text = request.GET.get("to", "").strip()
    if not source_text or not target_text:
        raise BadFlow(
            "Say which movement: “from” (a segment number or “new”) and “to” "
            "(a segment number or “gone”) are both needed."
        )
    source = _segment(request, earlier.run, source_text, NEW, "from")
    target = _segment(request, later.run, target_text, GONE, "to")
    if source is None and target is None:
        raise BadFlow(
            "A movement starts or ends in a segment: “from=new” with “to=gone” names nobody."
        )
    return FlowEnds(earlier, later, source, target)


def _members(request: HttpRequest, ends: FlowEnds):
    return movement_members(
        workspace=request.workspace,
        earlier=ends.earlier.run,
        later=ends.later.run,
        source=ends.source.number if ends.source else None,
        target=ends.target.number if ends.target else None,
    )


def _flow_slugs(ends: FlowEnds) -> tuple[str, str]:
    """The two ends of a flow as its files and audit entries name them."""
    source = NEW if ends.source is None else f"segment-{ends.source.number}"
    target = GONE if ends.target is None else f"segment-{ends.target.number}"
    return source, target


def _bad_flow(request: HttpRequest, error: BadFlow, publication_id: int) -> HttpResponse:
    return render(
        request,
        "reports/movement_members.html",
        {"error": str(error), "publication_id": publication_id},
        status=400,
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def movement_members_page(request: HttpRequest, publication_id: int) -> HttpResponse:
    """The customers behind one movement, a page at a time, the biggest spenders first."""
    try:
        ends = _flow_ends(request, publication_id)
    except BadFlow as error:
        return _bad_flow(request, error, publication_id)
    page = Paginator(_members(request, ends), MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/movement_members.html",
        {
            "ends": ends,
            "page": page,
            # the ad platforms' list where this page's customers have e-mail addresses
            "ad_audience": request.user.has_perm(PERSONAL_DATA_PERMISSION)
            and any(c.email for c in page.object_list),
            "earlier_name": ends.earlier.run.display_name,
            "later_name": ends.later.run.display_name,
            "publication_id": publication_id,
        },
    )


@require_GET
def movement_members_csv(request: HttpRequest, publication_id: int) -> HttpResponse:
    """Every customer behind one movement, as CSV (cells that a spreadsheet would run as a
    formula are neutralised by common.csv_export)."""
    if not request.user.has_perm(EXPORT) or not request.user.has_perm(VIEW):
        raise PermissionDenied
    try:
        ends = _flow_ends(request, publication_id)
    except BadFlow as error:
        return _bad_flow(request, error, publication_id)
    members = _members(request, ends)
    rows = movement_member_rows(members).iterator(chunk_size=2000)
    code = request.workspace.currency
    source, target = _flow_slugs(ends)
    record_members_exported(
        request=request,
        target=ends.later,
        what=f"the movement {source} to {target}",
        rows=members.count(),
    )
    return csv_response(
        f"movement-{publication_id}-{source}-to-{target}.csv",
        (*MOVEMENT_CSV_HEADER, "currency"),
        ((*row, code) for row in rows),
    )


@require_GET
def movement_ad_audience_csv(request: HttpRequest, publication_id: int) -> HttpResponse:
    """The customers behind one movement as an ad platform's list (hashed e-mails: see
    clustering.report.ad_audience), for who may see personal data."""
    allowed = (EXPORT, VIEW, PERSONAL_DATA_PERMISSION)
    if not all(request.user.has_perm(p) for p in allowed):
        raise PermissionDenied
    try:
        ends = _flow_ends(request, publication_id)
    except BadFlow as error:
        return _bad_flow(request, error, publication_id)
    source, target = _flow_slugs(ends)
    return ad_audience_response(
        request,
        emails=addresses(_members(request, ends)),
        target=ends.later,
        what=f"the movement {source} to {target}",
        filename=f"movement-{publication_id}-{source}-to-{target}-ad-audience.csv",
    )


def flow_query(flow: Flow) -> str:
    """The members page's query string for a flow of clustering.movements."""
    source = NEW if flow.source is None else flow.source.number
    target = GONE if flow.target is None else flow.target.number
    return f"from={source}&to={target}"


def _rows(flows: Iterable[Flow]) -> list[dict]:
    return [{"flow": f, "query": flow_query(f)} for f in flows]


def top_moves(*, workspace, run, count: int = 3) -> dict | None:
    """For the dashboard: the largest moves into the latest publication (of `run`, the
    published run), or None when it is the first. Cached per publication of the run, so a
    warm dashboard asks nothing more: publications are append-only and a published run's
    assignments do not change but by a customer's deletion (which bumps the version),
    while movements_between reads both runs' assignments."""
    key = (
        f"movements:top:{workspace.pk}:{customers_version(workspace.pk)}:{run.pk}:"
        f"{run.published_at.isoformat()}:{count}"
    )
    cached = cache.get(key)
    if cached is None:
        later = publications(workspace=workspace).filter(run=run).first()
        movements = movements_between(workspace=workspace, later=later) if later else None
        cached = (
            {"later_id": later.pk, "moves": _rows(movements.moves[:count])} if movements else {}
        )
        cache.set(key, cached, TOP_MOVES_SECONDS)
    return cached or None
