"""The worker's side of a run: claim it, read the data, run the engine, store the results."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

from workspaces.currencies import currency_symbol

from ..aggregation import customer_aggregates
from ..engine.pipeline import run_segmentation
from ..engine.types import InvalidParameters, SegmentationCancelled, SegmentationParams
from ..models import SegmentationRun
from ..params import params_from_json
from .claims import Claim, ClaimLost, fail_unstarted, finish_claimed, run_claim
from .heartbeat import RunHeartbeat
from .progress import RunProgress
from .results import discard_predictor, save_predictor, store_results
from .threads import run_blas_threads

logger = logging.getLogger(__name__)
Status = SegmentationRun.Status

#: Errors worth retrying: the database or the broker was briefly unreachable.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def run_execute(*, run_id: int, token: str, hostname: str) -> str:
    """Execute a run on this worker; returns what happened ("succeeded", "skipped", ...).

    A run large enough (settings.RUN_FANOUT) is prepared here and its candidates are fanned
    out to the workers (fanout.py); this task then returns "fanned out" and the run goes on
    under the same claim. Transient database errors propagate (the task retries them);
    every other failure is recorded on the run in words a user can act on.
    """
    try:
        claim = run_claim(run_id=run_id, token=token, hostname=hostname)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        logger.exception("run %s could not be started", run_id)
        fail_unstarted(run_id, error)
        return "failed"
    if claim is None:
        return "skipped"

    def work(progress: RunProgress, saved: list[Path]) -> str:
        from .fanout import fanout_start, fanout_wanted

        # The claim names the run's workspace: everything read from here on is that
        # workspace's.
        run = claim.runs().select_related("workspace").get(pk=run_id)
        params = params_from_json(run.params)
        started = time.perf_counter()
        progress("reading data", 1)
        aggregates = customer_aggregates(
            workspace=run.workspace,
            reference_date=params.reference_date,
            lookback_days=params.lookback_days,
            # the value stage's holdout check needs the table as of the holdout's first day
            holdout_share=params.value_holdout_share if params.value_horizon_days > 0 else None,
        )
        read_seconds = time.perf_counter() - started
        params = _with_reference(
            params, aggregates.reference_date, currency_symbol(run.workspace.currency)
        )
        if fanout_wanted(len(aggregates.table)):
            fanout_start(claim, progress, params, aggregates, read_seconds)
            return "fanned out"
        result = run_segmentation(
            aggregates.table,
            params=params,
            progress=progress,
            should_cancel=progress.should_cancel,
            calibration=aggregates.calibration,
        )
        save_and_store(claim, progress, result, aggregates, read_seconds, saved)
        return "succeeded"

    return execute_claimed(claim, work)


def save_and_store(
    claim: Claim,
    progress: RunProgress,
    result,
    aggregates,
    read_seconds: float,
    saved: list[Path],
) -> None:
    """The predictor file, then the rows (the one-process path's end and the fan-out's)."""
    progress("saving", 99)
    started_saving = time.perf_counter()
    saved.append(save_predictor(claim.run_id, claim.token, result, aggregates.fingerprint))
    store_results(claim, result, aggregates, saved[-1], read_seconds, started_saving)


def execute_claimed(
    claim: Claim, work: Callable[[RunProgress, list[Path]], str], *, give_back: bool = True
) -> str:
    """Do one task's share of a claimed run with its heartbeat beating, and record how it
    ended: cancelled, failed (in words a user can act on), or lost to another execution.
    ``work`` appends the files it saved, so that they are removed when it does not end well.
    On a transient error the task retries; give_back=True first returns the run to the
    queue for the retry to claim (a fanned-out part retries under the claim it has).
    """
    run_id, token = claim.run_id, claim.token
    heartbeat = RunHeartbeat(claim)
    heartbeat.start()
    progress = RunProgress(claim, heartbeat)
    saved: list[Path] = []
    try:
        return work(progress, saved)
    except ClaimLost:
        logger.info("run %s was taken over or finished elsewhere", run_id)
        _discard(saved)
        return "lost"
    except SegmentationCancelled as cancelled:
        finish_claimed(claim, Status.CANCELLED, f"Cancelled while running ({cancelled}).")
        _discard(saved)
        return "cancelled"
    except (InvalidParameters, LookupError) as error:
        finish_claimed(claim, Status.FAILED, _user_message(error))
        _discard(saved)
        return "failed"
    except TRANSIENT_ERRORS:
        _discard(saved)
        if not give_back:
            raise
        with contextlib.suppress(DatabaseError):
            # Give the run back so the retry (same task id) takes it again at once.
            claim.runs().filter(pk=run_id, claim_token=token).update(
                status=Status.QUEUED, stage="waiting to retry", heartbeat_at=None
            )
        raise
    except Exception as error:
        from celery.exceptions import SoftTimeLimitExceeded

        _discard(saved)
        if isinstance(error, SoftTimeLimitExceeded):
            limit = settings.CELERY_TASK_SOFT_TIME_LIMIT // 60
            message = (
                f"Stopped: the run took longer than the time limit ({limit} minutes). "
                "Try fewer algorithms or a smaller k range."
            )
        else:
            logger.exception("run %s failed", run_id)
            message = f"Unexpected error: {type(error).__name__}: {error}"
        finish_claimed(claim, Status.FAILED, message[:2000])
        return "failed"
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=10)


def _discard(saved: list[Path]) -> None:
    for path in saved:
        discard_predictor(path)


def _user_message(error: Exception) -> str:
    if isinstance(error, InvalidParameters):
        return f"Invalid parameter {error.field}: {error.message}"
    return str(error.args[0] if error.args else error)


def _with_reference(
    params: SegmentationParams, reference: pd.Timestamp, money_prefix: str
) -> SegmentationParams:
    """The run's parameters with the reference date the data was read at, its threads held
    to the worker process's share, and the workspace's currency symbol for the names'
    sentences."""
    return dataclasses.replace(
        params,
        reference_date=reference,
        money_prefix=money_prefix,
        lookback_days=None,
        blas_threads=run_blas_threads(params.blas_threads),
    )
