"""Writes of the scheduled refresh: save a workspace's schedule (and beat's periodic task),
start a run when it fires, and judge a scheduled run when it finishes."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounts.models import Membership
from accounts.roles import ADMIN, MANAGER
from audit.log import record
from clustering.engine.types import InvalidParameters
from clustering.models import Publication, SegmentationRun
from clustering.params import K_MAX_BY_SHOP_SIZE
from clustering.services import params_to_repeat, run_create, run_publish
from customers.models import ImportRecord

from . import guards
from .models import Schedule

logger = logging.getLogger(__name__)

TASK_NAME = "schedules.tasks.refresh_workspace"
Status = SegmentationRun.Status

#: The fields a manager sets (form and API), in the form's order.
EDITABLE_FIELDS = (
    "enabled",
    "frequency",
    "hour",
    "minute",
    "day_of_week",
    "day_of_month",
    "cron_expression",
    "min_stability",
    "same_segment_count",
    "max_member_loss",
)


def periodic_task_name(workspace) -> str:
    return f"Scheduled refresh of workspace {workspace.pk} ({workspace.slug})"


def schedule_get_or_default(*, workspace) -> Schedule:
    """The workspace's schedule, or an unsaved one with the defaults (off)."""
    found = Schedule.objects.in_workspace(workspace).select_related("periodic_task").first()
    return found or Schedule(workspace=workspace)


@transaction.atomic
def schedule_save(*, workspace, user, values: dict, request: HttpRequest | None = None) -> Schedule:
    """Set the workspace's schedule from validated `values` (EDITABLE_FIELDS), keep beat's
    periodic task in step and record the change in the audit log, all in one transaction."""
    workspace.lock()
    schedule = Schedule.objects.in_workspace(workspace).select_for_update().first() or Schedule(
        workspace=workspace
    )
    before = {name: getattr(schedule, name) for name in EDITABLE_FIELDS}
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValueError(f"{unknown[0]} is not a setting of the schedule")
    for name, value in values.items():
        setattr(schedule, name, value)
    if schedule.frequency != Schedule.Frequency.CRON:
        schedule.cron_expression = ""
    schedule.full_clean(exclude=["workspace", "periodic_task", "updated_by"])
    schedule.updated_by = user
    schedule.save()
    schedule_sync_periodic_task(schedule)
    changed = {
        name: getattr(schedule, name)
        for name in EDITABLE_FIELDS
        if getattr(schedule, name) != before[name]
    }
    record(
        workspace=workspace,
        action="schedule_changed",
        actor=user,
        target=schedule,
        request=request,
        details={"changed": changed, "when": schedule.describe(), "enabled": schedule.enabled},
    )
    return schedule


def schedule_sync_periodic_task(schedule: Schedule) -> PeriodicTask:
    """Make beat's periodic task say what the schedule says: a crontab in the workspace's
    time zone, enabled exactly when the schedule is."""
    workspace = schedule.workspace
    crontab, _ = CrontabSchedule.objects.get_or_create(
        **schedule.crontab_fields(), timezone=ZoneInfo(workspace.time_zone)
    )
    task = schedule.periodic_task or PeriodicTask(name=periodic_task_name(workspace))
    task.task = TASK_NAME
    task.args = json.dumps([schedule.pk])
    task.crontab = crontab
    task.interval = None
    task.enabled = schedule.enabled
    task.description = f"Re-runs {workspace}'s published segmentation {schedule.describe()}."
    task.save()  # also tells a running beat that the schedule changed (PeriodicTasks)
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])
    return task


def next_firing(schedule: Schedule) -> datetime | None:
    """When beat fires the schedule next, in the workspace's time zone (None when off)."""
    task = schedule.periodic_task
    if not schedule.enabled or task is None or not task.enabled:
        return None
    tz = ZoneInfo(schedule.workspace.time_zone)
    now = timezone.now().astimezone(tz)
    if task.crontab is not None:
        start, remaining, _ = task.crontab.schedule.remaining_delta(now)
        return (start + remaining).astimezone(tz)
    return (now + task.schedule.remaining_estimate(task.last_run_at or now)).astimezone(tz)


# ------------------------------------------------------------------------------ firing
def _new_data_since(workspace, since: datetime) -> bool:
    """Whether the workspace's data changed after `since`: an import finished, or was undone,
    later. Every stored line comes with its import, so the imports' own times answer it
    without reading the lines; an import without a finish time (one written by a loader
    that stores its lines at once) counts from its creation."""
    changed = (
        Q(status=ImportRecord.Status.SUCCEEDED, finished_at__gt=since)
        | Q(status=ImportRecord.Status.SUCCEEDED, finished_at__isnull=True, created_at__gt=since)
        | Q(undone_at__gt=since)
    )
    return ImportRecord.objects.in_workspace(workspace).filter(changed).exists()


def _run_as(schedule: Schedule):
    """Who a scheduled run is created by: whoever set the schedule, else the workspace's
    first manager (or admin)."""
    managers = Membership.objects.in_workspace(schedule.workspace).filter(
        role__in=(MANAGER, ADMIN), user__is_active=True
    )
    if schedule.updated_by_id and managers.filter(user_id=schedule.updated_by_id).exists():
        return schedule.updated_by
    membership = managers.select_related("user").order_by("created_at", "pk").first()
    return membership.user if membership else None


def _today(workspace) -> pd.Timestamp:
    return pd.Timestamp(timezone.now().astimezone(ZoneInfo(workspace.time_zone)).date())


def schedule_fire(*, workspace) -> str:
    """What beat's firing does: start a run with the published run's parameters as of today,
    or say why not. Returns the outcome in words (also kept in last_outcome).

    Holding the schedule's row while deciding makes a second delivery of the same firing
    see the first one's run and refuse (no piling up)."""
    with transaction.atomic():
        schedule = Schedule.objects.in_workspace(workspace).select_for_update().get()
        schedule.last_fired_at = timezone.now()
        schedule.last_outcome = _start_or_refuse(schedule)
        schedule.save(update_fields=["last_fired_at", "last_outcome"])
    return schedule.last_outcome


def _start_or_refuse(schedule: Schedule) -> str:
    workspace = schedule.workspace
    if not schedule.enabled:
        return "Did not start a run: the schedule is off."
    runs = SegmentationRun.objects.in_workspace(workspace)
    active = runs.filter(status__in=SegmentationRun.ACTIVE_STATUSES).order_by("created_at").first()
    if active is not None:
        return (
            f"Did not start a run: {active} is still {active.get_status_display().lower()}, "
            "and the schedule does not pile runs up."
        )
    published = runs.filter(is_published=True).first()
    if published is None:
        return (
            "Did not start a run: no run is published, so there are no parameters to repeat. "
            "Publish a run first."
        )
    # Since the published run, or a later scheduled run that succeeded (a held run would
    # only be repeated on the same data).
    last_scheduled = runs.filter(
        trigger=SegmentationRun.Trigger.SCHEDULE, status=Status.SUCCEEDED
    ).aggregate(at=Max("created_at"))["at"]
    since = max(filter(None, (published.created_at, last_scheduled)))
    if not _new_data_since(workspace, since):
        basis = "the published run" if since == published.created_at else "the last scheduled run"
        local = timezone.localtime(since, ZoneInfo(workspace.time_zone))
        return (
            f"Did not start a run: no new data since {basis} ({local:%Y-%m-%d %H:%M}); no "
            "import finished or was undone after it."
        )
    user = _run_as(schedule)
    if user is None:
        return "Did not start a run: the workspace has no manager to start it as."
    today = _today(workspace)
    params = dataclasses.replace(
        params_to_repeat(workspace=workspace, stored=published.params), reference_date=today
    )
    try:
        run = run_create(
            workspace=workspace,
            user=user,
            params=params,
            name=f"Scheduled refresh {today:%Y-%m-%d}",
            trigger=SegmentationRun.Trigger.SCHEDULE,
            k_max_by_shop_size=bool(published.params.get(K_MAX_BY_SHOP_SIZE)),
        )
    except InvalidParameters as error:
        return f"Did not start a run: {error.field}: {error.message}."
    return (
        f"Started {run} (run {run.pk}) with the published run's parameters as of {today:%Y-%m-%d}."
    )


# ------------------------------------------------------------------------------ judging
def _facts(run: SegmentationRun) -> guards.RunFacts:
    stability = run.stability or {}
    return guards.RunFacts(
        stable=bool(stability.get("stable")),
        verdict=str(stability.get("verdict") or ""),
        words=str(stability.get("words") or ""),
        segments=run.segments.count(),
    )


def _retention(workspace, *, published: SegmentationRun, run: SegmentationRun):
    """Per segment of the published run: its members in both runs, and those the new run
    put in a segment that does not continue it (clustering.movements.compare_runs)."""
    from clustering.movements import compare_runs

    movements = compare_runs(workspace=workspace, earlier_run=published, later_run=run)
    by_segment: dict[int, guards.Retention] = {}
    for flow in movements.flows:
        if flow.source is None or flow.target is None:
            continue  # new or gone customers did not move to another segment
        seen = by_segment.get(flow.source.number) or guards.Retention(flow.source.name, 0, 0)
        by_segment[flow.source.number] = guards.Retention(
            seen.name, seen.members + flow.customers, seen.lost + (flow.customers * flow.moved)
        )
    return [by_segment[n] for n in sorted(by_segment)]


def policy_of(schedule: Schedule) -> guards.Policy:
    return guards.Policy(
        min_stability=schedule.min_stability,
        same_segment_count=schedule.same_segment_count,
        max_member_loss=schedule.max_member_loss,
    )


def scheduled_run_judge(*, workspace, run_id: int) -> str:
    """A scheduled run finished: publish it when every guard passes, otherwise hold it with
    the reasons for a manager. Returns the outcome in words (kept in last_outcome)."""
    run = SegmentationRun.objects.in_workspace(workspace).get(pk=run_id)
    if run.trigger != SegmentationRun.Trigger.SCHEDULE:
        return ""
    schedule = Schedule.objects.in_workspace(workspace).first()
    if run.status != Status.SUCCEEDED:
        outcome = f"{run} (run {run.pk}) {run.get_status_display().lower()}" + (
            f": {run.error}" if run.error else "."
        )
    elif run.is_published:
        return ""
    else:
        outcome = _judge(workspace, run, schedule)
    if schedule is not None:
        Schedule.objects.in_workspace(workspace).filter(pk=schedule.pk).update(last_outcome=outcome)
    return outcome


def _judge(workspace, run: SegmentationRun, schedule: Schedule | None) -> str:
    published = SegmentationRun.objects.in_workspace(workspace).filter(is_published=True).first()
    retention = None
    if published is not None:
        try:
            retention = _retention(workspace, published=published, run=run)
        except Exception:
            logger.exception("comparing run %s with the published run %s", run.pk, published.pk)
    verdict = guards.evaluate(
        policy_of(schedule) if schedule is not None else guards.Policy(),
        run=_facts(run),
        published=_facts(published) if published is not None else None,
        retention=retention,
    )
    if verdict.may_publish:
        note = "Published by the schedule, its guards passed: " + "; ".join(verdict.passed) + "."
        run_publish(
            workspace=workspace,
            run_id=run.pk,
            user=None,
            source=Publication.Source.SCHEDULE,
            note=note,
        )
        return f"{run} (run {run.pk}) published itself. {note}"
    hold = "Waits for a manager: " + "; ".join(verdict.failed) + "."
    SegmentationRun.objects.in_workspace(workspace).filter(pk=run.pk, is_published=False).update(
        publication_hold=hold
    )
    return f"{run} (run {run.pk}) finished and was not published. {hold}"
