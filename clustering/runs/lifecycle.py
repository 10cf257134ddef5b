"""Create, queue, cancel and publish a segmentation run (the user's side of its life)."""

from __future__ import annotations

import dataclasses

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from audit.log import record
from audit.models import AuditEntry
from customers.models import Customer

from ..engine.pipeline import min_customers
from ..engine.types import InvalidParameters, SegmentationParams
from ..models import Publication, SegmentationRun
from ..params import K_MAX_BY_SHOP_SIZE, PARAMETERS_BY_NAME, params_from_json, params_to_json
from ..signals import segmentation_published
from .claims import announce_finished

Status = SegmentationRun.Status

# Who acted, for the audit log, when a run is started or published by no one in person.
_SYSTEM_ACTORS = {"schedule": "the schedule", "command": "the command line"}


def _record(workspace, action: str, run: SegmentationRun, user, how: str, **details) -> None:
    """A manager's action is theirs; the schedule's or the command's is the system's, the
    user it ran as kept in the details."""
    if how in _SYSTEM_ACTORS:
        if user is not None:
            details["as_user"] = user.get_username()
        record(
            workspace=workspace,
            action=action,
            target=run,
            actor_name=_SYSTEM_ACTORS[how],
            details={"by": how, **details},
        )
    else:
        record(workspace=workspace, action=action, actor=user, target=run, details=details)


#: The fewest customers any run segments (two segments' worth: engine.pipeline.min_customers).
FEWEST_CUSTOMERS = min_customers(dataclasses.replace(SegmentationParams(), k_min=2, k_max=2))


def most_segments(customers: int) -> int:
    """The most segments a run may try on this many customers (engine.pipeline.min_customers:
    ten customers a segment), up to the form's limit; 0 when there are too few for any."""
    default = SegmentationParams()
    limit = int(PARAMETERS_BY_NAME["k_max"].maximum or default.k_max)
    fits = [
        k
        for k in range(2, limit + 1)
        if min_customers(dataclasses.replace(default, k_max=k)) <= customers
    ]
    return max(fits, default=0)


def shop_k_max(*, workspace) -> int | None:
    """The most segments the shop's customers allow (most_segments), when that is fewer than
    the default's: a run given no "most segments" takes it, so a new shop's first run is not
    refused for its size. None when the default fits, or when the shop has too few customers
    for any run (run_check_data says so)."""
    # Counted up to what the default needs: a large shop's count stops there.
    needed = min_customers(SegmentationParams())
    return _k_max_for(Customer.objects.in_workspace(workspace).values("pk")[:needed].count())


def _k_max_for(customers: int) -> int | None:
    """shop_k_max for a shop of this many customers."""
    default = SegmentationParams()
    k_max = most_segments(customers)
    return k_max if default.k_min <= k_max < default.k_max else None


def params_to_repeat(*, workspace, stored: dict) -> SegmentationParams:
    """A run's stored parameters to run again: a "most segments" that was the shop's size
    limit is the shop's limit again today, or the default once the shop has outgrown it."""
    params = params_from_json(stored)
    if stored.get(K_MAX_BY_SHOP_SIZE):
        k_max = shop_k_max(workspace=workspace) or SegmentationParams().k_max
        params = dataclasses.replace(params, k_max=k_max)
    return params


def with_shop_k_max(*, workspace, data: dict) -> tuple[dict, bool]:
    """A run's input with the shop's "most segments" (shop_k_max) where it gives none, and
    whether it took it (run_create's k_max_by_shop_size): a number given is the caller's."""
    if data.get("k_max") in (None, ""):
        k_max = shop_k_max(workspace=workspace)
        if k_max is not None:
            return {**data, "k_max": k_max}, True
    return data, False


class RunError(Exception):
    """A run cannot do what was asked; the message is for the user."""


def run_check_data(*, workspace, params: SegmentationParams) -> int:
    """Checks that need the workspace's data: there is some, the dates fit, there are enough
    customers. From the customers' summaries (one row each, kept by the imports), not the
    lines: the lines' span was a 6-9 s scan in the request at a million customers. The run
    reads the exact span and fails in words if a check here was too lenient (lines stored
    before the plausibility rules). Returns the shop's number of customers."""
    found = Customer.objects.in_workspace(workspace).aggregate(
        customers=Count("pk"), first=Min("first_purchase_at")
    )
    customers, first = found["customers"], found["first"]
    if not customers:
        raise InvalidParameters("data", "there are no transactions yet: import a file first")
    if params.reference_date is not None and first is not None:
        ref = pd.Timestamp(params.reference_date)
        first_day = timezone.localtime(first).date()
        if ref.date() <= first_day:
            raise InvalidParameters(
                "reference_date",
                f"must be after the first transaction ({first_day.isoformat()})",
            )
    if customers < FEWEST_CUSTOMERS:
        raise InvalidParameters(
            "data",
            f"{customers} customer{'' if customers == 1 else 's'} is too few to segment: a run "
            f"needs at least {FEWEST_CUSTOMERS}; import more purchases first",
        )
    needed = min_customers(params)
    if customers < needed:
        raise InvalidParameters(
            "k_max",
            f"{customers} customers is too few for up to {params.k_max} segments "
            f"(need at least {needed}; {customers} allow up to {most_segments(customers)})",
        )
    return customers


def run_create(
    *,
    workspace,
    user: AbstractBaseUser,
    params: SegmentationParams,
    name: str = "",
    enqueue: bool = True,
    trigger: str = SegmentationRun.Trigger.MANAGER,
    k_max_by_shop_size: bool = False,
) -> SegmentationRun:
    """Create a run of the workspace's data and queue it for a worker once the transaction
    commits.

    enqueue=False leaves it for the caller to execute in-process (management command).
    k_max_by_shop_size: its most segments was left to the shop's size (with_shop_k_max, or
    a schedule repeating such a run), so a repeat takes the limit of its day; a number the
    manager gave is theirs, whatever its value.
    """
    customers = run_check_data(workspace=workspace, params=params)
    stored = params_to_json(params)
    if k_max_by_shop_size and params.k_max == _k_max_for(customers):
        stored[K_MAX_BY_SHOP_SIZE] = True
    with transaction.atomic():
        run = SegmentationRun.objects.create(
            workspace=workspace,
            created_by=user,
            name=name,
            trigger=trigger,
            params=stored,
            reference_date=params.reference_date.date() if params.reference_date else None,
            lookback_days=params.lookback_days,
            stage="queued",
        )
        _record(workspace, AuditEntry.Action.RUN_STARTED, run, user, trigger)
        if enqueue:
            enqueue_on_commit(run.pk)
    return run


def enqueue_on_commit(run_id: int) -> None:
    """Queue the run's execution once the current transaction commits."""
    from ..tasks import execute_segmentation_run

    transaction.on_commit(lambda: execute_segmentation_run.delay(run_id))


@transaction.atomic
def run_cancel(*, workspace, run_id: int, user: AbstractBaseUser) -> SegmentationRun:
    """Cancel a queued run at once; ask a running run to stop at its next checkpoint."""
    run = SegmentationRun.objects.in_workspace(workspace).select_for_update().get(pk=run_id)
    if run.is_finished:
        raise RunError(f"This run has already {run.get_status_display().lower()}.")
    run.cancel_requested = True
    if run.status == Status.QUEUED:
        run.status = Status.CANCELLED
        run.stage = "cancelled"
        run.error = f"Cancelled by {user.get_username()} before it started."
        run.finished_at = timezone.now()
    run.save()
    record(
        workspace=workspace,
        action=AuditEntry.Action.RUN_CANCELLED,
        actor=user,
        target=run,
        details={"was": "queued" if run.is_finished else "running"},
    )
    if run.is_finished:
        announce_finished(run)
    return run


@transaction.atomic
def run_publish(
    *,
    workspace,
    run_id: int,
    user: AbstractBaseUser | None,
    source: str = Publication.Source.MANAGER,
    note: str = "",
) -> SegmentationRun:
    """Make a succeeded run the workspace's current segmentation (exactly one is published
    per workspace; other workspaces' published runs stay as they are), record who or what
    published it, and tell the receivers of segmentation_published once it has committed."""
    run = SegmentationRun.objects.in_workspace(workspace).select_for_update().get(pk=run_id)
    if run.status != Status.SUCCEEDED:
        raise RunError("Only a run that succeeded can be published.")
    if run.is_published:
        return run
    SegmentationRun.objects.in_workspace(workspace).filter(is_published=True).update(
        is_published=False
    )
    run.is_published = True
    run.published_at = timezone.now()
    run.published_by = user
    run.publication_hold = ""
    run.save(update_fields=["is_published", "published_at", "published_by", "publication_hold"])
    publication = Publication.objects.create(
        workspace=run.workspace,
        run=run,
        previous=Publication.objects.in_workspace(workspace).first(),
        published_at=run.published_at,
        published_by=user,
        source=source,
        note=note,
    )
    _record(workspace, AuditEntry.Action.RUN_PUBLISHED, run, user, source, note=note)
    transaction.on_commit(
        lambda: segmentation_published.send(sender=Publication, publication=publication),
        robust=True,
    )
    # After the receivers (the alerts' check, if queued, reads the same cache); robust: a
    # broker outage loses only the warm-up, never the publication.
    from ..tasks import warm_movements

    transaction.on_commit(
        lambda: warm_movements.delay(publication.workspace_id, publication.pk), robust=True
    )
    return run
