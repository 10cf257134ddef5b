"""A run's candidates shared by several workers (settings.RUN_FANOUT).

The run's own task prepares the features and the matrix once and stores them under
MEDIA_ROOT/fanout/run-<id>/<key>/ (the matrix as .npy, the rest with joblib, each file with
its SHA-256 beside it, checked on every read); then a Celery chord sends one task for the
value stage and one per candidate part (engine/stages.py) and, once all have answered, a task
that merges the parts, finishes (choice, stability, predictor, profiles) and stores the
results. Every task works under the run's one claim: each beats the heartbeat while it works,
checks cancel_requested between candidates, and stops when the claim is no longer its own.

When a worker dies in the middle of a part, the others go on with theirs; the run's
heartbeat then stops, the reaper re-queues the run, and its next execution prepares the same
matrix (same data, same parameters: same key), keeps every part already stored and fits
only the missing ones. The run ends once: store_results writes only under the live claim.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.conf import settings
from threadpoolctl import threadpool_limits

from ..aggregation import CustomerAggregates
from ..engine.pipeline import Prepared, ValueAhead, finish, prepare, value_ahead
from ..engine.stages import CandidatePart, PartResult, PartShared, fit_part, merge_parts, plan_parts
from ..engine.types import SegmentationCancelled, SegmentationParams
from ..engine.validation import validate_params
from .claims import Claim, claim_resume, run_is_finished, setting
from .execution import execute_claimed, save_and_store
from .progress import RunProgress

logger = logging.getLogger(__name__)

#: RUN_FANOUT's values: auto = fan out from RUN_FANOUT_MIN_CUSTOMERS customers on.
FANOUT_MODES = ("auto", "on", "off")
#: Result backends that cannot join a chord's parts (none configured, or RPC's replies
#: that only the sender reads); there, every run takes the one-process path.
_NO_JOIN = ("", "disabled", "rpc")


class FanoutDataError(LookupError):
    """A stored file of a fanned-out run is missing or does not match its checksum (the run
    fails saying so)."""


# ------------------------------------------------------------------------------ the decision
def fanout_wanted(n_customers: int) -> bool:
    """Whether a run of n_customers fans its candidates out (settings.RUN_FANOUT)."""
    mode = setting("RUN_FANOUT", "auto")
    if mode not in FANOUT_MODES:
        raise ValueError(f"RUN_FANOUT must be one of {', '.join(FANOUT_MODES)}, not {mode!r}")
    if mode == "off" or not backend_can_join():
        return False
    return mode == "on" or n_customers >= setting("RUN_FANOUT_MIN_CUSTOMERS", 50_000)


def backend_can_join() -> bool:
    """A chord needs a result backend that stores the parts' answers for the join: Redis
    joins natively, the file backend of the embedded default by Celery's chord_unlock poll."""
    backend = str(settings.CELERY_RESULT_BACKEND or "")
    return backend.split(":", 1)[0] not in _NO_JOIN


# ------------------------------------------------------------------------------ storage
def run_dir(run_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "fanout" / f"run-{run_id}"


def data_dir(run_id: int, key: str) -> Path:
    return run_dir(run_id) / key


def part_path(run_id: int, key: str, number: int) -> Path:
    return data_dir(run_id, key) / f"part-{number:03d}.joblib"


def value_path(run_id: int, key: str) -> Path:
    return data_dir(run_id, key) / "value.joblib"


def matrix_key(X: np.ndarray, params: SegmentationParams) -> str:
    """The same data and parameters give the same key: a redo keeps the parts fitted."""
    digest = hashlib.sha256()
    digest.update(f"{X.shape}{X.dtype}".encode())
    digest.update(np.ascontiguousarray(X).tobytes())
    digest.update(json.dumps(params.to_dict(), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:24]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_checked(path: Path, dump: Callable[[Path], None]) -> None:
    """Write through a private temporary file, record its SHA-256, then rename: a reader
    never sees a half-written file, and two writers of the same content do not collide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        dump(tmp)
        digest = _sha256(tmp)
        checksum_tmp = tmp.with_name(tmp.name + ".sha256")
        checksum_tmp.write_text(digest)
        os.replace(checksum_tmp, _checksum_path(path))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def verified(path: Path) -> bool:
    """The file exists and matches its recorded SHA-256."""
    checksum = _checksum_path(path)
    if not path.exists() or not checksum.exists():
        return False
    return _sha256(path) == checksum.read_text().strip()


def read_checked(path: Path, load: Callable[[Path], Any]) -> Any:
    if not verified(path):
        raise FanoutDataError(f"{path.name} of the run's stored data is missing or damaged")
    return load(path)


@dataclasses.dataclass
class Bundle:
    """What the finish needs besides the matrix and the parts (stored with joblib)."""

    prepared: Prepared  # with an empty X: the matrix is stored on its own
    params: SegmentationParams
    aggregates: CustomerAggregates
    read_seconds: float
    timings: dict[str, float]
    n_parts: int


def _store_prepared(run_id: int, key: str, prepared: Prepared, bundle: Bundle) -> None:
    folder = data_dir(run_id, key)
    matrix = folder / "matrix.npy"
    if not verified(matrix):
        write_checked(matrix, lambda p: _save_npy(p, prepared.X))
    if not verified(folder / "prepared.joblib"):
        write_checked(folder / "prepared.joblib", lambda p: joblib.dump(bundle, p))


def _save_npy(path: Path, X: np.ndarray) -> None:
    with open(path, "wb") as f:  # np.save would add .npy to a name without it
        np.save(f, X, allow_pickle=False)


def _npy(path: Path) -> np.ndarray:
    with open(path, "rb") as f:
        return np.load(f, allow_pickle=False)


#: The matrix, its Silhouette distances and the sweep's samples, kept by the process between
#: parts of one run.
_MATRIX: dict[str, tuple[np.ndarray, SegmentationParams, int]] = {}
_SHARED = PartShared()


def _matrix(run_id: int, key: str) -> tuple[np.ndarray, SegmentationParams, int]:
    if key not in _MATRIX:
        _MATRIX.clear()
        folder = data_dir(run_id, key)
        X = read_checked(folder / "matrix.npy", _npy)
        bundle: Bundle = read_checked(folder / "prepared.joblib", joblib.load)
        _MATRIX[key] = (X, bundle.params, bundle.n_parts)
    return _MATRIX[key]


def forget_matrix() -> None:
    _MATRIX.clear()
    _SHARED.clear()


def remove_run_files(run_id: int) -> None:
    shutil.rmtree(run_dir(run_id), ignore_errors=True)


# ------------------------------------------------------------------------------ the steps
def _engine_step(progress: RunProgress) -> Callable[[str, float], None]:
    def step(stage: str, percent: float) -> None:
        if progress.should_cancel():
            raise SegmentationCancelled(f"cancelled at {stage} ({percent:.0f}%)")
        progress(stage, percent)

    return step


def _lap(timings: dict[str, float]) -> Callable[[str], None]:
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock[0]
        clock[0] = now

    return lap


def fanout_start(
    claim: Claim,
    progress: RunProgress,
    params: SegmentationParams,
    aggregates: CustomerAggregates,
    read_seconds: float,
) -> list[CandidatePart]:
    """Prepare and store the run's matrix, then send its parts and their join."""
    step = _engine_step(progress)
    step("validate", 0)
    validate_params(params)
    timings: dict[str, float] = {}
    with threadpool_limits(limits=params.blas_threads):
        prepared = prepare(aggregates.table, params, step, _lap(timings))
    key = matrix_key(prepared.X, params)
    parts = plan_parts(prepared.n, params)
    bundle = Bundle(
        dataclasses.replace(prepared, X=np.empty((0, 0))),
        params,
        aggregates,
        read_seconds,
        timings,
        len(parts),
    )
    _store_prepared(claim.run_id, key, prepared, bundle)
    step("candidates", 8)
    _send(claim, key, parts)
    return parts


def _send(claim: Claim, key: str, parts: list[CandidatePart]) -> None:
    from celery import chord

    from ..tasks import finish_fanned_out_run, fit_run_part, fit_run_value

    # the value stage first: it needs no candidate, and the finish would otherwise run it
    header = [fit_run_value.s(claim.run_id, claim.token, key)]
    header += [fit_run_part.s(claim.run_id, claim.token, key, p.number) for p in parts]
    body = finish_fanned_out_run.s(claim.run_id, claim.token, key)
    # Where the backend joins by polling (chord_unlock, once a second), the poll ends after
    # the hard time limit: a part lost with its worker is redone by the run's next execution.
    chord(header, body).apply_async(interval=1, max_retries=settings.CELERY_TASK_TIME_LIMIT)


def fanout_part(*, run_id: int, token: str, key: str, number: int) -> dict[str, Any]:
    """Fit one part under the run's claim and store it; a part already stored (fitted
    before the run was taken over) is kept."""
    claim = claim_resume(run_id=run_id, token=token)
    if claim is None:
        return {"part": number, "status": "lost"}

    def work(progress: RunProgress, saved: list[Path]) -> str:
        path = part_path(run_id, key, number)
        if verified(path):
            return "done"
        X, params, n_parts = _matrix(run_id, key)
        part = plan_parts(len(X), params)[number]

        def each(candidate) -> None:
            if progress.should_cancel():
                raise SegmentationCancelled(f"cancelled at candidates:{candidate.key}")

        result = fit_part(X, params, part, shared=_SHARED, matrix_key=key, each=each)
        write_checked(path, lambda p: joblib.dump(result, p))
        done = len(list(data_dir(run_id, key).glob("part-*.joblib")))
        progress(f"candidates:{part.label}", 8 + 70 * min(done, n_parts) / n_parts)
        return "done"

    return {"part": number, "status": execute_claimed(claim, work, give_back=False)}


def fanout_value(*, run_id: int, token: str, key: str) -> dict[str, Any]:
    """The value stage under the run's claim, stored for the finish (kept if stored before
    the run was taken over)."""
    claim = claim_resume(run_id=run_id, token=token)
    if claim is None:
        return {"part": "value", "status": "lost"}

    def work(progress: RunProgress, saved: list[Path]) -> str:
        path = value_path(run_id, key)
        if verified(path):
            return "done"
        folder = data_dir(run_id, key)
        bundle: Bundle = read_checked(folder / "prepared.joblib", joblib.load)
        if progress.should_cancel():
            raise SegmentationCancelled("cancelled at value")
        with threadpool_limits(limits=bundle.params.blas_threads):
            ahead = value_ahead(bundle.prepared, bundle.params, bundle.aggregates.calibration)
        write_checked(path, lambda p: joblib.dump(ahead, p))
        return "done"

    return {"part": "value", "status": execute_claimed(claim, work, give_back=False)}


def fanout_finish(*, results: list[dict], run_id: int, token: str, key: str) -> str:
    """The chord's join: merge the parts, finish the engine's work and store the results."""
    forget_matrix()  # this process's copy is not needed any more
    claim = claim_resume(run_id=run_id, token=token)
    if claim is None:
        if run_is_finished(run_id):
            remove_run_files(run_id)
        return "lost"
    if any(r.get("status") != "done" for r in results):
        # A part that failed or was cancelled ended the run, so the claim is gone; this is a
        # part lost another way: the heartbeat stops and the reaper gives the run again.
        logger.warning("run %s: parts did not all finish: %s", run_id, results)
        return "incomplete"

    def work(progress: RunProgress, saved: list[Path]) -> str:
        step = _engine_step(progress)
        folder = data_dir(run_id, key)
        bundle: Bundle = read_checked(folder / "prepared.joblib", joblib.load)
        X = read_checked(folder / "matrix.npy", _npy)
        prepared = dataclasses.replace(bundle.prepared, X=X)
        parts: list[PartResult] = [
            read_checked(part_path(run_id, key, n), joblib.load) for n in range(bundle.n_parts)
        ]
        stored: ValueAhead = read_checked(value_path(run_id, key), joblib.load)
        # one stored by the code before a deploy is fitted again by the finish
        ahead = stored if stored.current else None
        params, timings = bundle.params, dict(bundle.timings)
        timings["candidates"] = sum(p.seconds for p in parts)  # work, not wall time
        with threadpool_limits(limits=params.blas_threads):
            candidates, outcomes = merge_parts(prepared, params, parts)
            result = finish(
                prepared,
                candidates,
                outcomes,
                params,
                step,
                _lap(timings),
                timings,
                bundle.aggregates.calibration,
                ahead,
            )
        save_and_store(claim, progress, result, bundle.aggregates, bundle.read_seconds, saved)
        remove_run_files(run_id)
        return "succeeded"

    return execute_claimed(claim, work, give_back=False)
