"""Reads for runs, segments and assignments: QuerySets, so query tuning lives here."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .models import Candidate, Segment, SegmentAssignment, SegmentationRun, WorkerHeartbeat


def worker_last_seen() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.order_by("-seen_at").first()


def worker_is_recent(
    beat: WorkerHeartbeat | None, *, within: timedelta = timedelta(minutes=5)
) -> bool:
    return beat is not None and timezone.now() - beat.seen_at <= within


def run_list(*, workspace) -> QuerySet[SegmentationRun]:
    """The workspace's runs with their parameters but not their report; ``.defer(None)`` for
    a whole run."""
    runs = SegmentationRun.objects.in_workspace(workspace).without_report_data("params")
    return runs.select_related("created_by", "published_by")


def run_published(*, workspace) -> SegmentationRun | None:
    """The workspace's current segmentation, or None when nothing is published there yet."""
    return SegmentationRun.objects.in_workspace(workspace).filter(is_published=True).first()


def run_previously_published(*, workspace) -> QuerySet[SegmentationRun]:
    return (
        SegmentationRun.objects.in_workspace(workspace)
        .filter(published_at__isnull=False)
        .order_by("-published_at")
    )


def run_latest(*, workspace) -> SegmentationRun | None:
    return SegmentationRun.objects.in_workspace(workspace).order_by("-created_at", "-pk").first()


def run_candidates(run: SegmentationRun, *, workspace) -> QuerySet[Candidate]:
    return (
        Candidate.objects.in_workspace(workspace)
        .filter(run=run)
        .order_by("algorithm", "n_clusters", "setting")
    )


def run_segments(run: SegmentationRun, *, workspace) -> QuerySet[Segment]:
    return Segment.objects.in_workspace(workspace).filter(run=run).order_by("number")


def segment_members(segment: Segment, *, workspace) -> QuerySet[SegmentAssignment]:
    """The segment's assignments; the run named too, so that the (run, customer) key serves
    an order by customer (the members API's cursor)."""
    return (
        SegmentAssignment.objects.in_workspace(workspace)
        .filter(run_id=segment.run_id, segment=segment)
        .select_related("customer")
    )


def customer_segment_history(customer_pk: int, *, workspace) -> QuerySet[SegmentAssignment]:
    """The customer's segment in every run of the workspace that has been published, newest
    first.

    The runs come without their JSON reports (PCA points, profiles, timings...), which can
    weigh hundreds of kilobytes a run and are not needed to show a segment history.
    """
    return (
        SegmentAssignment.objects.in_workspace(workspace)
        .filter(customer_id=customer_pk, run__published_at__isnull=False)
        .select_related("run", "segment")
        .defer(*SegmentationRun.report_data_fields(through="run__"))
        .order_by("-run__published_at")
    )


def run_transitions(before: SegmentationRun, after: SegmentationRun, *, workspace) -> list[dict]:
    """How many customers moved from each segment of one run to each segment of another
    (both runs of the workspace; "to" None: not in the later run), largest first. Read from
    the runs' movements, which are cached: a GROUP BY over both runs' assignments took
    seconds at a million customers."""
    from .movements import compare_runs

    movements = compare_runs(workspace=workspace, earlier_run=before, later_run=after)
    counts: dict[tuple[str, str | None], int] = {}
    for flow in movements.flows:
        if flow.source is not None:
            key = (flow.source.name, flow.target.name if flow.target else None)
            counts[key] = counts.get(key, 0) + flow.customers
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return [{"from": f, "to": t, "customers": n} for (f, t), n in ordered]


def succeeded_runs(*, workspace) -> QuerySet[SegmentationRun]:
    """The workspace's succeeded runs that still hold their members, newest first: the
    compare page's choices, whose first two are its default pair (and the pair warmed at
    publication)."""
    return (
        SegmentationRun.objects.in_workspace(workspace)
        .filter(status=SegmentationRun.Status.SUCCEEDED, members_removed_at=None)
        .only("pk", "name", "created_at", "chosen_k", "n_customers", "is_published")
        .order_by("-created_at", "-pk")
    )
