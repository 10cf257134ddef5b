"""Reads of the scheduled refresh: the workspace's scheduled runs, newest first."""

from __future__ import annotations

from django.db.models import QuerySet

from clustering.models import SegmentationRun


def scheduled_runs(*, workspace, limit: int = 10) -> QuerySet[SegmentationRun]:
    """The workspace's most recent runs started by the schedule, without their report data."""
    return (
        SegmentationRun.objects.in_workspace(workspace)
        .filter(trigger=SegmentationRun.Trigger.SCHEDULE)
        .without_report_data()
        .order_by("-created_at", "-pk")[:limit]
    )
