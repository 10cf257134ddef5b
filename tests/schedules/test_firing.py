"""What a firing of the schedule does (schedules.services.schedule_fire, the task's body):
start a run with the published run's parameters as of today, or say why not; and what
happens when a scheduled run finishes (publish itself, or wait with the reasons)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from clustering.models import Publication, SegmentationRun
from clustering.services import run_execute, run_publish
from schedules.models import Schedule
from schedules.services import schedule_fire, schedule_save, scheduled_run_judge
from schedules.tasks import refresh_workspace
from tests.clustering.factories import executed_run

from .data import PARAMS, load_big_spenders, load_history, load_new_customers

DAILY = {"enabled": True, "frequency": "daily", "hour": 6, "minute": 0}


@pytest.fixture
def manager(make_user, shop):
    return make_user("manager", username="boss", workspace=shop)


@pytest.fixture
def published(shop, manager):
    load_history(shop)
    run = executed_run(shop, manager, PARAMS, name="published")
    run_publish(workspace=shop, run_id=run.pk, user=manager)
    return SegmentationRun.objects.in_workspace(shop).get(pk=run.pk)


def _schedule(shop, manager, **values) -> Schedule:
    return schedule_save(workspace=shop, user=manager, values={**DAILY, **values})


def _scheduled(shop):
    return SegmentationRun.objects.in_workspace(shop).filter(trigger="schedule")


def _execute(run) -> None:
    assert run_execute(run_id=run.pk, token=f"t-{run.pk}", hostname="tests@host") == "succeeded"


def test_nothing_published_starts_nothing(shop, manager):
    load_history(shop)
    _schedule(shop, manager)
    outcome = schedule_fire(workspace=shop)
    assert outcome.startswith("Did not start a run: no run is published")
    schedule = Schedule.objects.in_workspace(shop).get()
    assert schedule.last_outcome == outcome and schedule.last_fired_at is not None
    assert not _scheduled(shop).exists()


def test_no_new_data_since_the_published_run_starts_nothing(shop, manager, published):
    _schedule(shop, manager)
    outcome = schedule_fire(workspace=shop)
    assert outcome.startswith("Did not start a run: no new data since the published run")
    assert not _scheduled(shop).exists()


def test_new_data_starts_one_run_with_the_published_parameters_as_of_today(
    shop, manager, published
):
    load_new_customers(shop)
    _schedule(shop, manager)
    outcome = refresh_workspace(Schedule.objects.in_workspace(shop).get().pk)
    run = _scheduled(shop).get()
    assert outcome.startswith(f"Started {run} (run {run.pk})")
    assert run.status == "queued" and run.created_by == manager
    assert run.reference_date == timezone.localdate()
    assert {k: v for k, v in run.params.items() if k != "reference_date"} == {
        k: v for k, v in published.params.items() if k != "reference_date"
    }
    # a second delivery of the firing (or the next firing) does not pile up
    again = schedule_fire(workspace=shop)
    assert (
        again
        == f"Did not start a run: {run} is still queued, and the schedule does not pile runs up."
    )
    assert _scheduled(shop).count() == 1


def test_a_run_already_running_blocks_the_firing(shop, manager, published):
    load_new_customers(shop)
    other = SegmentationRun.objects.create(
        workspace=shop, created_by=manager, params=published.params, status="running"
    )
    _schedule(shop, manager)
    assert f"{other} is still running" in schedule_fire(workspace=shop)
    assert not _scheduled(shop).exists()


def test_an_off_schedule_starts_nothing(shop, manager, published):
    load_new_customers(shop)
    _schedule(shop, manager, enabled=False)
    assert schedule_fire(workspace=shop) == "Did not start a run: the schedule is off."


def test_a_held_run_is_not_repeated_on_the_same_data(shop, manager, published):
    load_new_customers(shop)
    _schedule(shop, manager)
    schedule_fire(workspace=shop)
    run = _scheduled(shop).get()
    _execute(run)
    run.segments.create(number=99, name="Extra", size=0, share_customers=0, share_revenue=0)
    scheduled_run_judge(workspace=shop, run_id=run.pk)
    assert not SegmentationRun.objects.in_workspace(shop).get(pk=run.pk).is_published
    outcome = schedule_fire(workspace=shop)
    assert "no new data since the last scheduled run" in outcome
    load_new_customers(shop, name="more.csv")
    assert schedule_fire(workspace=shop).startswith("Started")


def test_a_scheduled_run_that_passes_the_guards_publishes_itself(shop, manager, published):
    load_new_customers(shop)
    _schedule(shop, manager)
    schedule_fire(workspace=shop)
    run = _scheduled(shop).get()
    _execute(run)
    outcome = scheduled_run_judge(workspace=shop, run_id=run.pk)
    run.refresh_from_db()
    assert run.is_published, outcome
    publication = Publication.objects.in_workspace(shop).first()
    assert publication.run_id == run.pk and publication.source == "schedule"
    assert publication.published_by is None and publication.previous.run_id == published.pk
    assert publication.note.startswith("Published by the schedule, its guards passed: stability")
    count = published.segments.count()
    assert f"segment count: {count}, as in the published run" in publication.note
    assert "member loss: at most" in publication.note
    assert Schedule.objects.in_workspace(shop).get().last_outcome.endswith(publication.note)


def test_a_run_moving_a_segments_members_waits_with_the_reason(shop, manager, published):
    load_big_spenders(shop, published)
    _schedule(shop, manager, min_stability="any")
    schedule_fire(workspace=shop)
    run = _scheduled(shop).get()
    _execute(run)
    outcome = scheduled_run_judge(workspace=shop, run_id=run.pk)
    run.refresh_from_db()
    assert not run.is_published
    assert run.publication_hold.startswith("Waits for a manager: member loss: ")
    assert "to other segments, more than the 30% allowed" in run.publication_hold
    assert outcome.endswith(run.publication_hold)
    assert Publication.objects.in_workspace(shop).first().run_id == published.pk
    # the reason is on the run's report, beside the Publish button, and in the API
    browser = Client()
    browser.force_login(manager)
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    assert 'data-role="publication-hold"' in page and escape(run.publication_hold) in page
    api = browser.get(f"/w/{shop.slug}/api/v1/runs/{run.pk}/").json()
    assert (api["trigger"], api["publication_hold"]) == ("schedule", run.publication_hold)
    # the manager publishes it by the normal button, which clears the hold
    run_publish(workspace=shop, run_id=run.pk, user=manager)
    run.refresh_from_db()
    assert run.is_published and run.publication_hold == ""


def test_a_changed_segment_count_waits(shop, manager, published):
    load_new_customers(shop)
    _schedule(shop, manager, min_stability="any")
    schedule_fire(workspace=shop)
    run = _scheduled(shop).get()
    _execute(run)
    # as if the refit had found four groups: a fourth, empty segment
    run.segments.create(number=99, name="Split off", size=0, share_customers=0, share_revenue=0)
    scheduled_run_judge(workspace=shop, run_id=run.pk)
    run.refresh_from_db()
    assert not run.is_published
    count = published.segments.count()
    assert (
        f"segment count: {count + 1} segments where the published run has {count}"
        in run.publication_hold
    )


def test_a_failed_scheduled_run_says_so_in_the_last_outcome(shop, manager, published):
    load_new_customers(shop)
    _schedule(shop, manager)
    schedule_fire(workspace=shop)
    run = _scheduled(shop).get()
    SegmentationRun.objects.in_workspace(shop).filter(pk=run.pk).update(
        status="failed", error="The worker ran out of memory.", finished_at=timezone.now()
    )
    scheduled_run_judge(workspace=shop, run_id=run.pk)
    assert Schedule.objects.in_workspace(shop).get().last_outcome == (
        f"{run} (run {run.pk}) failed: The worker ran out of memory."
    )


def test_the_receiver_judges_a_scheduled_run_when_its_end_commits(
    shop, manager, published, django_capture_on_commit_callbacks
):
    load_new_customers(shop)
    _schedule(shop, manager)
    schedule_fire(workspace=shop)
    run = _scheduled(shop).get()
    with django_capture_on_commit_callbacks(execute=True):
        _execute(run)
    run.refresh_from_db()
    assert run.is_published
    assert Publication.objects.in_workspace(shop).first().source == "schedule"


def test_a_managers_run_is_left_to_the_manager(
    shop, manager, published, django_capture_on_commit_callbacks
):
    load_new_customers(shop)
    with django_capture_on_commit_callbacks(execute=True):
        run = executed_run(shop, manager, PARAMS, name="by hand")
    run.refresh_from_db()
    assert not run.is_published and run.publication_hold == ""
    assert scheduled_run_judge(workspace=shop, run_id=run.pk) == ""


def test_new_data_means_an_import_finished_or_undone_after_the_run(shop, manager, published):
    from customers.models import ImportRecord

    _schedule(shop, manager)
    old = ImportRecord.objects.in_workspace(shop).get()
    # an import undone after the published run changed the data too
    ImportRecord.objects.in_workspace(shop).filter(pk=old.pk).update(
        undone_at=published.created_at + timedelta(seconds=1)
    )
    assert schedule_fire(workspace=shop).startswith("Started")


def test_a_small_shops_most_segments_grows_with_it_on_the_schedule(shop, manager):
    """A shop of 60 customers was run with at most 6 segments, its size's limit; once it has
    grown, the schedule repeats the run with the limit of the day, not 6 for ever."""
    from clustering.services import with_shop_k_max

    load_history(shop, n_customers=60)
    data, by_shop = with_shop_k_max(workspace=shop, data={"seed": 7})
    first = executed_run(shop, manager, data, k_max_by_shop_size=by_shop)
    assert first.params["k_max"] == 6 and first.params["k_max_by_shop_size"] is True
    run_publish(workspace=shop, run_id=first.pk, user=manager)
    _schedule(shop, manager)
    load_new_customers(shop, n_customers=25)  # 85 customers: at most 8 segments
    schedule_fire(workspace=shop)
    grown = _scheduled(shop).get()
    assert grown.params["k_max"] == 8 and grown.params["k_max_by_shop_size"] is True
    _execute(grown)
    run_publish(workspace=shop, run_id=grown.pk, user=manager)
    load_new_customers(shop, n_customers=40, name="more.csv")  # 125: the default's 10
    schedule_fire(workspace=shop)
    latest = _scheduled(shop).order_by("-pk").first()
    assert latest.params["k_max"] == 10 and "k_max_by_shop_size" not in latest.params


def test_a_chosen_most_segments_is_repeated_as_chosen(shop, manager, published):
    load_new_customers(shop)
    _schedule(shop, manager)
    schedule_fire(workspace=shop)
    assert _scheduled(shop).get().params["k_max"] == published.params["k_max"] == 3
