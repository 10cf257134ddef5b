"""Celery task of the scheduled refresh: beat fires it with the schedule's id."""

from __future__ import annotations

from celery import shared_task

from .models import Schedule
from .services import schedule_fire


@shared_task(ignore_result=True, acks_late=True, soft_time_limit=60, time_limit=120)
def refresh_workspace(schedule_id: int) -> str:
    """Start a run of the schedule's workspace, or record why not. Safe to deliver twice:
    the second delivery finds the first one's run queued and starts nothing."""
    # Beat knows the schedule by its id only; everything after is read in its workspace.
    schedule = Schedule.unscoped.select_related("workspace").filter(pk=schedule_id).first()
    if schedule is None:
        return "no such schedule"
    return schedule_fire(workspace=schedule.workspace)
