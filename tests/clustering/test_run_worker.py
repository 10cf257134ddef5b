"""Segmentation runs through real worker processes: end to end, duplicates, and a worker
killed with SIGKILL in the middle of a run."""

from __future__ import annotations

import pandas as pd
import pytest
from django.conf import settings

from clustering.engine.predictor import SegmentPredictor
from clustering.models import Candidate, Segment, SegmentAssignment, SegmentationRun
from clustering.params import params_from_input
from clustering.services import run_create
from clustering.tasks import execute_segmentation_run
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for

from .factories import FAST_PARAMS, load_transactions, synthetic_lines

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]
Status = SegmentationRun.Status


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture(autouse=True)
def _broker():
    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    purge_queue()


def finished(run_id: int):
    run = SegmentationRun.unscoped.get(pk=run_id)
    return run if run.is_finished else None


def assert_one_consistent_result(run: SegmentationRun) -> None:
    assert run.status == Status.SUCCEEDED, run.error
    assert Candidate.unscoped.filter(run=run, is_chosen=True).count() == 1
    keys = list(Candidate.unscoped.filter(run=run).values_list("algorithm", "setting"))
    assert len(keys) == len(set(keys))
    assert Segment.unscoped.filter(run=run).count() == run.chosen_k
    assignments = SegmentAssignment.unscoped.filter(run=run)
    assert assignments.count() == run.n_customers
    assert assignments.values("customer").distinct().count() == run.n_customers


def test_a_worker_runs_a_segmentation_end_to_end(manager, shop):
    load_transactions(synthetic_lines(400))
    with celery_worker(name="runs") as worker:
        run = run_create(workspace=shop, user=manager, params=params_from_input(FAST_PARAMS))
        # The same run delivered twice: the second execution must change nothing.
        execute_segmentation_run.delay(run.pk)
        run = wait_for(lambda: finished(run.pk), timeout=180, what="the run to finish")
    assert_one_consistent_result(run)
    assert run.attempts == 1
    assert worker.nodename.split("@")[0] in run.worker_hostname
    # The published predictor loads and assigns the stored segments.
    predictor = SegmentPredictor.load(settings.MEDIA_ROOT / run.predictor_file)
    stored = pd.DataFrame(
        SegmentAssignment.unscoped.filter(run=run).values(
            *SegmentAssignment.FEATURE_FIELDS, "segment__number", "customer__country"
        )
    ).rename(columns={"customer__country": "country"})
    labels, _ = predictor.predict(stored)
    assert (labels == stored["segment__number"].to_numpy()).mean() >= 0.999


def test_a_run_survives_its_worker_being_killed(manager, shop, monkeypatch):
    # Big enough that the run is still fitting candidates when the worker is killed.
    load_transactions(synthetic_lines(3000, seed=11))
    params = params_from_input(
        {**FAST_PARAMS, "algorithms": ["kmeans", "gmm", "birch", "agglomerative"], "k_max": 10}
    )
    env = {
        "RUN_STALE_AFTER_SECONDS": "4",
        "RUN_HEARTBEAT_SECONDS": "1",
        "RUN_REAPER_INTERVAL_SECONDS": "2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with celery_worker(name="doomed") as doomed:
        run = run_create(workspace=shop, user=manager, params=params)
        wait_for(
            lambda: SegmentationRun.unscoped.filter(
                pk=run.pk, status=Status.RUNNING, stage__startswith="candidates:"
            ).exists(),
            timeout=120,
            what="the run to be fitting candidates",
        )
        doomed.kill()
    killed = SegmentationRun.unscoped.get(pk=run.pk)
    assert killed.status == Status.RUNNING and killed.attempts == 1
    assert not Candidate.unscoped.filter(run=run).exists()
    with celery_worker(name="rescuer") as rescuer:
        run = wait_for(lambda: finished(run.pk), timeout=240, what="the rescued run")
    assert_one_consistent_result(run)
    assert run.attempts == 2
    assert rescuer.nodename.split("@")[0] in run.worker_hostname
    assert "re-queueing" in rescuer.log()
