"""The schedule end to end with real processes: beat (DatabaseScheduler) fires the
workspace's periodic task, a worker starts the run, executes it, and the run publishes
itself when its guards pass; with a failing guard it waits, the reason on the run."""

from __future__ import annotations

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from clustering.models import Publication, SegmentationRun
from clustering.services import run_publish
from schedules.models import Schedule
from schedules.services import schedule_save
from tests.beat_process import celery_beat
from tests.clustering.factories import executed_run
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for

from .data import PARAMS, load_big_spenders, load_history, load_new_customers

pytestmark = pytest.mark.django_db(transaction=True)


def _every_two_seconds(schedule: Schedule) -> None:
    """The schedule's periodic task, made to fire every two seconds instead of daily."""
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    task.crontab = None
    task.interval = every
    task.save()


def _outcome(shop) -> str:
    return Schedule.objects.in_workspace(shop).get().last_outcome


def test_beat_fires_the_schedule_a_run_publishes_itself_and_a_failing_guard_holds(shop, make_user):
    require(broker_reachable(), "the broker")
    purge_queue()
    manager = make_user("manager", username="beat-boss", workspace=shop)
    load_history(shop)
    first = executed_run(shop, manager, PARAMS, name="published by hand")
    run_publish(workspace=shop, run_id=first.pk, user=manager)
    load_new_customers(shop)
    schedule = schedule_save(
        workspace=shop, user=manager, values={"enabled": True, "frequency": "daily"}
    )
    _every_two_seconds(schedule)
    runs = SegmentationRun.objects.in_workspace(shop).filter(trigger="schedule")

    with celery_worker(name="schedules"), celery_beat() as beat:
        publication = wait_for(
            lambda: Publication.objects.in_workspace(shop).filter(source="schedule").first(),
            timeout=240,
            what=f"a scheduled run published by itself; last outcome: {_outcome(shop)!r}",
        )
        scheduled = runs.get()
        assert publication.run_id == scheduled.pk and publication.published_by is None
        assert publication.previous.run_id == first.pk
        assert publication.note.startswith("Published by the schedule, its guards passed")
        # later firings find nothing new and start nothing
        wait_for(
            lambda: _outcome(shop).startswith("Did not start a run: no new data"),
            timeout=60,
            what="a firing that finds no new data",
        )
        assert runs.count() == 1

        # No segment may lose a member now; one segment's members all buy big.
        Schedule.objects.in_workspace(shop).update(max_member_loss=0.0, min_stability="any")
        load_big_spenders(shop, SegmentationRun.objects.in_workspace(shop).get(pk=scheduled.pk))
        held = wait_for(
            lambda: runs.exclude(pk=scheduled.pk).filter(publication_hold__gt="").first(),
            timeout=240,
            what=f"a held scheduled run; last outcome: {_outcome(shop)!r}\n{beat.log()[-2000:]}",
        )
        assert held.status == "succeeded" and not held.is_published
        assert held.publication_hold.startswith("Waits for a manager: member loss: ")
        assert Publication.objects.in_workspace(shop).first().run_id == scheduled.pk
        assert "refresh_workspace" in beat.log()
