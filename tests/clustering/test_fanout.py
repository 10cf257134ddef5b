"""A run's candidates fanned out over Celery (clustering/engine/stages.py,
clustering/runs/fanout.py): the staged engine equals the one-process engine, the stored
files are checked, and real workers give the one-worker result, also when one of them is
killed in the middle of a part."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from django.db import transaction

from clustering.engine import algorithms as alg
from clustering.engine.pipeline import prepare, run_segmentation
from clustering.engine.stages import (
    ONE_FIT_PER_K,
    PartShared,
    fit_part,
    plan_parts,
    run_staged,
)
from clustering.engine.synthetic import make_transactions
from clustering.engine.types import SegmentationParams
from clustering.models import Candidate, SegmentAssignment, SegmentationRun
from clustering.params import params_from_input
from clustering.runs import fanout
from clustering.services import run_create, run_execute
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for

from .factories import load_transactions, synthetic_lines

Status = SegmentationRun.Status
SCORES = ["algorithm", "setting", "n_clusters", "silhouette", "davies_bouldin"]
SCORES += ["calinski_harabasz", "inertia", "bic", "eligible", "reason"]

# Every algorithm, and sample sizes small enough that the sampled paths (quadratic sample
# with the kNN surrogate, linear sample, sampled Silhouette) are taken on a small shop.
ALL_SEVEN = {
    "algorithms": list(alg.REGISTRY),
    "k_min": 2,
    "k_max": 6,
    "seed": 11,
    "quadratic_sample_size": 300,
    "linear_sample_size": 1000,
    "silhouette_sample_size": 400,
}


# ------------------------------------------------------------------------------ the engine
@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return make_transactions(1300, seed=5)


def test_the_staged_engine_gives_the_one_process_result(lines):
    params = SegmentationParams(**{**ALL_SEVEN, "algorithms": tuple(ALL_SEVEN["algorithms"])})
    whole = run_segmentation(lines, params)
    # Parts fitted in the reverse of the plan, as workers might finish them.
    staged = run_staged(lines, params, order=lambda parts: parts[::-1])
    pd.testing.assert_frame_equal(
        staged.candidates_table()[SCORES], whole.candidates_table()[SCORES]
    )
    pd.testing.assert_frame_equal(staged.assignments, whole.assignments)
    assert staged.chosen.key == whole.chosen.key
    assert staged.notes == whole.notes
    assert staged.stability == whole.stability
    assert [s.name for s in staged.segments] == [s.name for s in whole.segments]
    # the sampled paths were taken
    assert any("fixed sample of 300" in note for note in staged.notes)
    assert any("fixed sample of 1,000" in note for note in staged.notes)


def test_a_process_fits_its_parts_on_one_set_of_samples_and_neighbours(lines, monkeypatch):
    params = SegmentationParams(**{**ALL_SEVEN, "algorithms": tuple(ALL_SEVEN["algorithms"])})
    prepared = prepare(lines, params, lambda *_: None, lambda _: None)
    trees: list[int] = []  # the rows of each surrogate tree built
    real_tree = alg.cKDTree

    def counted(data, *args, **kwargs):
        trees.append(len(data))
        return real_tree(data, *args, **kwargs)

    monkeypatch.setattr(alg, "cKDTree", counted)
    parts = plan_parts(prepared.n, params)
    alone = [fit_part(prepared.X, params, p) for p in parts]
    built_alone = list(trees)
    trees.clear()
    shared = PartShared()
    together = [fit_part(prepared.X, params, p, shared=shared, matrix_key="m") for p in parts]
    # the surrogate's tree over the quadratic sample: once in the process, not once a part
    assert built_alone.count(300) >= 3
    assert trees.count(300) == 1
    for a, b in zip(alone, together, strict=True):
        assert [c.key for c in a.candidates] == [c.key for c in b.candidates]
        np.testing.assert_array_equal(
            [(c.silhouette, c.davies_bouldin) for c in a.candidates],
            [(c.silhouette, c.davies_bouldin) for c in b.candidates],
        )
        for x, y in zip(a.outcomes, b.outcomes, strict=True):
            np.testing.assert_array_equal(x.labels, y.labels)
    # another matrix starts afresh
    other = prepared.X[:-1]
    fit_part(other, params, parts[0], shared=shared, matrix_key="other")
    assert trees.count(300) == 2


def test_the_plan_holds_every_candidate_once_shared_work_first():
    params = SegmentationParams(algorithms=tuple(alg.REGISTRY), k_min=2, k_max=8)
    parts = plan_parts(10_000, params)
    fits = [(p.algorithm, k) for p in parts for k in p.ks]
    assert len(fits) == len(set(fits))
    assert set(fits) == {(a, k) for a in alg.REGISTRY for k in range(2, 9)}
    assert [p.number for p in parts] == list(range(len(parts)))
    shared = [p for p in parts if p.algorithm not in ONE_FIT_PER_K]
    assert parts[: len(shared)] == shared
    assert all(len(p.ks) == 7 for p in shared)  # one tree / embedding for every k
    per_k = [p.ks[0] for p in parts[len(shared) :]]
    assert per_k == sorted(per_k, reverse=True)  # the costlier large k first


# ------------------------------------------------------------------------------ storage
def test_a_stored_file_is_read_only_if_its_checksum_matches(tmp_path):
    path = tmp_path / "matrix.npy"
    X = np.arange(12.0).reshape(4, 3)
    fanout.write_checked(path, lambda p: fanout._save_npy(p, X))
    np.testing.assert_array_equal(fanout.read_checked(path, fanout._npy), X)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matrix.npy", "matrix.npy.sha256"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not fanout.verified(path)
    with pytest.raises(fanout.FanoutDataError, match="matrix.npy"):
        fanout.read_checked(path, fanout._npy)


def test_the_setting_decides_fan_out(settings):
    settings.RUN_FANOUT, settings.RUN_FANOUT_MIN_CUSTOMERS = "auto", 50_000
    assert not fanout.fanout_wanted(49_999)
    assert fanout.fanout_wanted(50_000)
    settings.RUN_FANOUT = "off"
    assert not fanout.fanout_wanted(10**7)
    settings.RUN_FANOUT = "on"
    assert fanout.fanout_wanted(100)
    settings.CELERY_RESULT_BACKEND = "rpc://"  # cannot join a chord: one process
    assert not fanout.fanout_wanted(10**7)
    settings.RUN_FANOUT = "sometimes"
    with pytest.raises(ValueError, match="RUN_FANOUT must be one of auto, on, off"):
        fanout.fanout_wanted(100)


# ------------------------------------------------------------------------------ runs
FANOUT_PARAMS = {
    "algorithms": ["kmeans", "gmm", "birch", "agglomerative"],
    "k_min": 2,
    "k_max": 8,
    "seed": 7,
}


def _create(shop, user, params) -> SegmentationRun:
    with transaction.atomic():
        return run_create(
            workspace=shop, user=user, params=params_from_input(params), enqueue=False
        )


def _outcome(run: SegmentationRun) -> tuple[pd.DataFrame, dict[str, int]]:
    candidates = pd.DataFrame(
        Candidate.unscoped.filter(run=run)
        .order_by("pk")
        .values(*SCORES[:-2], "eligible", "is_chosen", "consensus_rank")
    )
    labels = dict(
        SegmentAssignment.unscoped.filter(run=run).values_list(
            "customer__external_id", "segment__number"
        )
    )
    return candidates, labels


def _assert_one_result(run: SegmentationRun) -> None:
    assert run.status == Status.SUCCEEDED, run.error
    assert Candidate.unscoped.filter(run=run, is_chosen=True).count() == 1
    keys = list(Candidate.unscoped.filter(run=run).values_list("algorithm", "setting"))
    assert len(keys) == len(set(keys))
    assignments = SegmentAssignment.unscoped.filter(run=run)
    assert assignments.count() == run.n_customers
    assert assignments.values("customer").distinct().count() == run.n_customers
    # The stored matrix and parts are removed once the results are committed, so a worker's
    # run can read as finished a moment before its files are gone.
    wait_for(
        lambda: not fanout.run_dir(run.pk).exists(),
        timeout=30,
        interval=0.05,
        what="the run's stored matrix and parts to be removed",
    )


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def eager():
    """The chord executed in this process: every part and the join go through the tasks,
    the stored files and the claim as they do on workers."""
    from segmentation_site.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _one_run_done_and_one_to_fan_out(shop, manager, settings):
    """The shop's lines, a run executed in one process, and a run with the same parameters
    created to fan out."""
    load_transactions(synthetic_lines(500, seed=4))
    settings.RUN_FANOUT = "off"
    one = _create(shop, manager, FANOUT_PARAMS)
    assert run_execute(run_id=one.pk, token="one", hostname="tests@host") == "succeeded"
    settings.RUN_FANOUT = "on"
    return one, _create(shop, manager, FANOUT_PARAMS)


@pytest.mark.django_db(transaction=True)
def test_a_fanned_out_run_stores_the_one_process_result(
    manager, shop, settings, eager, monkeypatch
):
    one, fanned = _one_run_done_and_one_to_fan_out(shop, manager, settings)
    # the value stage is a task of its own beside the parts; the finish only reads it
    valued: list[str] = []
    real_value = fanout.value_ahead

    def value_part(*args, **kwargs):
        valued.append("part")
        return real_value(*args, **kwargs)

    def not_in_the_finish(*args, **kwargs):
        raise AssertionError("the finish computed the value stage again")

    monkeypatch.setattr(fanout, "value_ahead", value_part)
    monkeypatch.setattr("clustering.engine.pipeline.value_ahead", not_in_the_finish)
    assert run_execute(run_id=fanned.pk, token="fan", hostname="tests@host") == "fanned out"
    assert valued == ["part"]
    one, fanned = (SegmentationRun.unscoped.get(pk=r.pk) for r in (one, fanned))
    _assert_one_result(fanned)
    a, b = _outcome(one), _outcome(fanned)
    pd.testing.assert_frame_equal(a[0], b[0])
    assert a[1] == b[1]
    value = ["customer__external_id", "p_alive", "expected_purchases", "expected_value"]
    ahead = [
        sorted(SegmentAssignment.unscoped.filter(run=r).values_list(*value)) for r in (one, fanned)
    ]
    assert ahead[0] == ahead[1] and ahead[0][0][1] is not None
    assert one.value_ahead == fanned.value_ahead
    assert fanned.timings["value"] > 0
    assert fanned.attempts == 1
    assert fanned.chosen_k == one.chosen_k


@pytest.mark.django_db(transaction=True)
def test_a_value_part_stored_by_earlier_code_is_fitted_again_by_the_finish(
    manager, shop, settings, eager, monkeypatch
):
    # A run in flight across a deploy: its value part has no column the finish now reads
    one, fanned = _one_run_done_and_one_to_fan_out(shop, manager, settings)
    real_value = fanout.value_ahead

    def earlier_code(*args, **kwargs):
        ahead = real_value(*args, **kwargs)
        older = ahead.per_customer.drop(columns="repeat_purchases")
        return dataclasses.replace(ahead, per_customer=older)

    monkeypatch.setattr(fanout, "value_ahead", earlier_code)
    assert run_execute(run_id=fanned.pk, token="fan", hostname="tests@host") == "fanned out"
    one, fanned = (SegmentationRun.unscoped.get(pk=r.pk) for r in (one, fanned))
    _assert_one_result(fanned)
    medians = [
        list(r.segments.order_by("number").values_list("median_p_alive", flat=True))
        for r in (one, fanned)
    ]
    assert medians[0] == medians[1] and any(m is not None for m in medians[0])
    assert one.value_ahead == fanned.value_ahead


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_part_ends_the_fanned_out_run(manager, shop, settings, eager, monkeypatch):
    load_transactions(synthetic_lines(400, seed=4))
    settings.RUN_FANOUT = "on"
    run = _create(shop, manager, FANOUT_PARAMS)
    real_part = fanout.fanout_part

    def part_then_cancel(**kwargs):
        # the manager presses Cancel while the first part is being fitted
        SegmentationRun.unscoped.filter(pk=run.pk).update(cancel_requested=True)
        return real_part(**kwargs)

    monkeypatch.setattr("clustering.tasks.fanout_part", part_then_cancel)
    run_execute(run_id=run.pk, token="fan", hostname="tests@host")
    run = SegmentationRun.unscoped.get(pk=run.pk)
    assert run.status == Status.CANCELLED
    assert "Cancelled while running (cancelled at candidates:" in run.error
    assert not Candidate.unscoped.filter(run=run).exists()
    assert not fanout.run_dir(run.pk).exists()


# ------------------------------------------------------------------------------ real workers
WORKER_PARAMS = {
    "algorithms": ["kmeans", "gmm", "birch", "agglomerative", "spectral"],
    "k_min": 2,
    "k_max": 10,
    "seed": 7,
}


def _finished(run_id: int):
    run = SegmentationRun.unscoped.get(pk=run_id)
    return run if run.is_finished else None


def _in_a_part(worker) -> bool:
    """The worker has taken a part and not yet answered it (its log says so)."""
    log = worker.log()
    received = len(re.findall(r"fit_run_part\[[^\]]+\] received", log))
    answered = len(re.findall(r"fit_run_part\[[^\]]+\] (succeeded|retry|raised)", log))
    return received > answered


@pytest.fixture
def fanout_env(monkeypatch):
    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    purge_queue()
    for key, value in {
        "RUN_FANOUT": "on",
        "RUN_STALE_AFTER_SECONDS": "4",
        "RUN_HEARTBEAT_SECONDS": "1",
        "RUN_REAPER_INTERVAL_SECONDS": "2",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
@pytest.mark.slow
def test_two_workers_share_a_run_and_survive_one_being_killed(manager, shop, settings, fanout_env):
    load_transactions(synthetic_lines(2500, seed=11))
    settings.RUN_FANOUT = "off"
    one = _create(shop, manager, WORKER_PARAMS)
    assert run_execute(run_id=one.pk, token="one", hostname="tests@host") == "succeeded"
    expected = _outcome(SegmentationRun.unscoped.get(pk=one.pk))

    with celery_worker(name="left") as left, celery_worker(name="right") as right:
        shared = run_create(workspace=shop, user=manager, params=params_from_input(WORKER_PARAMS))
        shared = wait_for(lambda: _finished(shared.pk), timeout=120, what="the shared run")
        _assert_one_result(shared)
        assert shared.attempts == 1
        both = [w for w in (left, right) if "fit_run_part" in w.log()]
        assert len(both) == 2, "both workers fitted parts"
        got = _outcome(shared)
        pd.testing.assert_frame_equal(got[0], expected[0])
        assert got[1] == expected[1]

        survivor = right
        run = run_create(workspace=shop, user=manager, params=params_from_input(WORKER_PARAMS))
        try:
            wait_for(
                lambda: (
                    _in_a_part(left)
                    and SegmentationRun.unscoped.filter(
                        pk=run.pk, stage__startswith="candidates"
                    ).exists()
                ),
                timeout=90,
                interval=0.05,
                what="the left worker to be fitting a part",
            )
        except AssertionError as missed:  # say what the run and the workers were doing
            state = SegmentationRun.unscoped.values("status", "stage", "attempts").get(pk=run.pk)
            raise AssertionError(
                f"{missed}; the run: {state}; left's log ends:\n{left.log()[-3000:]}\n"
                f"right's log ends:\n{right.log()[-3000:]}"
            ) from None
        left.kill()
        run = wait_for(lambda: _finished(run.pk), timeout=150, what="the rescued run")
    _assert_one_result(run)
    assert run.attempts == 2  # re-queued once by the survivor's reaper, finished once
    assert "re-queueing" in survivor.log()
    got = _outcome(run)
    pd.testing.assert_frame_equal(got[0], expected[0])
    assert got[1] == expected[1]


# ------------------------------------------------------------------------------ BLAS threads
def test_a_worker_process_gets_the_cores_its_concurrency_leaves(settings):
    from clustering.runs import threads

    settings.WORKER_BLAS_THREADS = "auto"
    assert threads.blas_share(8, 2) == 4
    assert threads.blas_share(8, 3) == 2
    assert threads.blas_share(2, 4) == 1  # never none
    settings.WORKER_BLAS_THREADS = "3"
    assert threads.blas_share(8, 1) == 3


def test_a_run_stays_inside_its_worker_s_share(monkeypatch):
    from clustering.runs import threads

    assert threads.run_blas_threads(1) == 1  # outside a worker: the run's own
    assert threads.run_blas_threads(None) is None
    monkeypatch.setattr(threads, "_SHARE", 2)
    assert threads.run_blas_threads(1) == 1
    assert threads.run_blas_threads(8) == 2
    assert threads.run_blas_threads(None) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
@pytest.mark.slow
def test_each_worker_process_is_held_to_its_share(monkeypatch):
    from clustering.runs.threads import machine_cpus

    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    monkeypatch.setenv("WORKER_BLAS_THREADS", "auto")
    with celery_worker(name="threads", concurrency=2) as worker:
        lines = wait_for(
            lambda: (
                re.findall(r"BLAS/OpenMP threads in this worker process: (\d+)", worker.log())
                if len(re.findall("BLAS/OpenMP threads", worker.log())) >= 2
                else None
            ),
            timeout=90,  # two pool processes importing the engine on a loaded machine
            what="both pool processes to report their threads",
        )
    assert lines == [str(max(1, machine_cpus() // 2))] * 2
