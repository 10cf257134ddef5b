"""Remove the per-customer rows of old runs that were never published (their report,
segments and profiles stay), so a shop that runs every day does not keep a copy of every
customer per run for ever. Decision: docs/decisions/run-members-retention.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import SegmentAssignment, SegmentationRun


@dataclass
class PrunedMembers:
    runs: int
    members: int


def prunable_runs(*, workspace, older_than: timedelta):
    """Succeeded runs finished more than ``older_than`` ago that were never published and
    still hold their members; never the workspace's newest succeeded run."""
    runs = SegmentationRun.objects.in_workspace(workspace).filter(
        status=SegmentationRun.Status.SUCCEEDED
    )
    newest = runs.order_by("-finished_at", "-pk").values_list("pk", flat=True).first()
    return (
        runs.filter(
            finished_at__lt=timezone.now() - older_than,
            is_published=False,
            publications__isnull=True,  # history and movements read every publication's
            members_removed_at=None,
        )
        .exclude(pk=newest)
        .order_by("finished_at", "pk")
    )


def run_members_prune(*, workspace, older_than: timedelta, dry_run: bool = False) -> PrunedMembers:
    """Remove the members of ``workspace``'s prunable runs, one run per transaction; the run
    says when (an operator's schedule, not a user's action: no audit entry)."""
    pruned = PrunedMembers(0, 0)
    runs = prunable_runs(workspace=workspace, older_than=older_than)
    for run_id in list(runs.values_list("pk", flat=True)):
        members = SegmentAssignment.objects.in_workspace(workspace).filter(run_id=run_id)
        if dry_run:
            pruned.runs += 1
            pruned.members += members.count()
            continue
        with transaction.atomic():
            # locked and checked again: a manager may have published it meanwhile
            run = (
                prunable_runs(workspace=workspace, older_than=older_than)
                .select_for_update(of=("self",))
                .filter(pk=run_id)
                .first()
            )
            if run is None:
                continue
            removed, _ = members.delete()
            run.members_removed_at = timezone.now()
            run.save(update_fields=["members_removed_at"])
        pruned.runs += 1
        pruned.members += removed
    return pruned
