"""The publication policy reacts to a run's end (clustering.signals.run_finished)."""

from __future__ import annotations

import logging

from .services import scheduled_run_judge

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
