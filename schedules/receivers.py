"""The publication policy reacts to a run's end (clustering.signals.run_finished), and beat's
crontab follows a change of the workspace's time zone (Workspace post_save)."""

from __future__ import annotations

import logging

from .models import Schedule
from .services import schedule_sync_periodic_task, scheduled_run_judge

logger = logging.getLogger(__name__)


def on_run_finished(sender, run, **kwargs) -> None:
    """A scheduled run ended: publish it or hold it (schedules.services.scheduled_run_judge).
    A failure here is logged, not raised, so the other receivers still hear of the run."""
    if run.trigger != run.Trigger.SCHEDULE:
        return
    try:
        scheduled_run_judge(workspace=run.workspace, run_id=run.pk)
    except Exception:
        logger.exception("judging scheduled run %s failed", run.pk)


def on_workspace_saved(sender, instance, created: bool, **kwargs) -> None:
    """A workspace saved (its time zone perhaps changed): its schedule's crontab is made again
    in that zone, so beat fires at the hour the page states."""
    if created:
        return
    schedule = Schedule.objects.in_workspace(instance).select_related("periodic_task").first()
    if schedule is None or schedule.periodic_task is None:
        return
    if str(schedule.periodic_task.crontab.timezone) != instance.time_zone:
        schedule.workspace = instance
        schedule_sync_periodic_task(schedule)
