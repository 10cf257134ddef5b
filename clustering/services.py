"""Writes for segmentation runs: create, execute (the worker's side), cancel, publish, recover.

This module is the one place that translates between the ORM and the engine.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .aggregation import customer_aggregates, transaction_span
from .engine.pipeline import min_customers, run_segmentation
from .engine.predictor import library_versions
from .engine.types import InvalidParameters, SegmentationCancelled, SegmentationParams
from .models import Candidate, Segment, SegmentAssignment, SegmentationRun, WorkerHeartbeat
from .params import params_from_json, params_to_json

logger = logging.getLogger(__name__)
Status = SegmentationRun.Status

#: Errors worth retrying: the database or the broker was briefly unreachable.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class RunError(Exception):
    """A run cannot do what was asked; the message is for the user."""


class ClaimLost(Exception):
    """Another worker took the run over, or it was finished elsewhere: stop quietly."""


def _setting(name: str, default):
    return getattr(settings, name, default)


# ------------------------------------------------------------------------------ workers
def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Record that a worker is alive; called by the worker itself."""
    with transaction.atomic():
        beat, created = WorkerHeartbeat.objects.select_for_update().get_or_create(
            hostname=hostname, defaults={"seen_at": timezone.now(), "tasks_seen": 1}
        )
        if not created:
            WorkerHeartbeat.objects.filter(pk=beat.pk).update(
                seen_at=timezone.now(), tasks_seen=F("tasks_seen") + 1
            )
            beat.refresh_from_db()
    return beat


def worker_ping_request() -> None:
    """Queue a heartbeat task once the current transaction commits."""
    from .tasks import record_worker_heartbeat

    record_worker_heartbeat.delay_on_commit()


# ------------------------------------------------------------------------------ create
def run_check_data(params: SegmentationParams) -> None:
    """Checks that need the data: there is some, the dates fit, there are enough customers."""
    first, last = transaction_span()
    if last is None:
        raise InvalidParameters("data", "there are no transactions yet: import a file first")
    if params.reference_date is not None:
        ref = pd.Timestamp(params.reference_date)
        first_day = timezone.localtime(first).date()
        if ref.date() <= first_day:
            raise InvalidParameters(
                "reference_date",
                f"must be after the first transaction ({first_day.isoformat()})",
            )
    from customers.models import Customer

    customers = Customer.objects.count()
    needed = min_customers(params)
    if customers < needed:
        raise InvalidParameters(
            "k_max",
            f"{customers} customers is too few for up to {params.k_max} segments "
            f"(need at least {needed})",
        )


def run_create(
    *, user: AbstractBaseUser, params: SegmentationParams, name: str = "", enqueue: bool = True
) -> SegmentationRun:
    """Create a run and queue it for a worker once the transaction commits.

    enqueue=False leaves it for the caller to execute in-process (management command).
    """
    run_check_data(params)
    with transaction.atomic():
        run = SegmentationRun.objects.create(
            created_by=user,
            name=name,
            params=params_to_json(params),
            reference_date=params.reference_date.date() if params.reference_date else None,
            lookback_days=params.lookback_days,
            stage="queued",
        )
        if enqueue:
            _enqueue_on_commit(run.pk)
    return run


def _enqueue_on_commit(run_id: int) -> None:
    from .tasks import execute_segmentation_run

    transaction.on_commit(lambda: execute_segmentation_run.delay(run_id))


# ------------------------------------------------------------------------------ cancel, publish
@transaction.atomic
def run_cancel(*, run_id: int, user: AbstractBaseUser) -> SegmentationRun:
    """Cancel a queued run at once; ask a running run to stop at its next checkpoint."""
    run = SegmentationRun.objects.select_for_update().get(pk=run_id)
    if run.is_finished:
        raise RunError(f"This run has already {run.get_status_display().lower()}.")
    run.cancel_requested = True
    if run.status == Status.QUEUED:
        run.status = Status.CANCELLED
        run.stage = "cancelled"
        run.error = f"Cancelled by {user.get_username()} before it started."
        run.finished_at = timezone.now()
    run.save()
    return run


@transaction.atomic
def run_publish(*, run_id: int, user: AbstractBaseUser) -> SegmentationRun:
    """Make a succeeded run the current segmentation (exactly one is published)."""
    run = SegmentationRun.objects.select_for_update().get(pk=run_id)
    if run.status != Status.SUCCEEDED:
        raise RunError("Only a run that succeeded can be published.")
    if run.is_published:
        return run
    SegmentationRun.objects.filter(is_published=True).update(is_published=False)
    run.is_published = True
    run.published_at = timezone.now()
    run.published_by = user
    run.save(update_fields=["is_published", "published_at", "published_by"])
    return run


# ------------------------------------------------------------------------------ execute
@dataclass
class _Claim:
    run_id: int
    token: str


def _stale_before() -> timezone.datetime:
    return timezone.now() - timedelta(seconds=_setting("RUN_STALE_AFTER_SECONDS", 60))


def run_claim(*, run_id: int, token: str, hostname: str) -> _Claim | None:
    """Take the run for this execution, or None when there is nothing to do.

    The status guard under select_for_update makes a second execution (a duplicate message,
    a redelivery after a crash, two workers at once) a no-op while the first one is alive.
    """
    with transaction.atomic():
        run = SegmentationRun.objects.select_for_update().get(pk=run_id)
        if run.is_finished:
            return None
        if run.cancel_requested:
            _finish(run, Status.CANCELLED, "Cancelled before it started.")
            return None
        alive = run.heartbeat_at is not None and run.heartbeat_at >= _stale_before()
        if run.status == Status.RUNNING and alive and run.claim_token != token:
            logger.info("run %s is being executed by %s; skipping", run_id, run.worker_hostname)
            return None
        max_attempts = _setting("RUN_MAX_ATTEMPTS", 3)
        if run.attempts >= max_attempts:
            _finish(
                run,
                Status.FAILED,
                f"Gave up after {run.attempts} attempts: the worker executing this run stopped "
                f"unexpectedly (last on {run.worker_hostname or 'an unknown host'} at stage "
                f"'{run.stage}'). Check the worker's memory and time limits, then start a new run.",
            )
            return None
        now = timezone.now()
        run.status = Status.RUNNING
        run.attempts += 1
        run.claim_token = token
        run.worker_hostname = hostname
        run.heartbeat_at = now
        run.started_at = run.started_at or now
        run.stage = "starting"
        run.progress = 0
        run.error = ""
        run.save()
    return _Claim(run_id, token)


def _finish(run: SegmentationRun, status: str, error: str = "") -> None:
    run.status = status
    run.error = error
    run.stage = status
    run.finished_at = timezone.now()
    run.claim_token = ""
    run.save()


def _finish_claimed(claim: _Claim, status: str, error: str) -> bool:
    """Record the end of our execution, unless the run is no longer ours."""
    with transaction.atomic():
        run = SegmentationRun.objects.select_for_update().get(pk=claim.run_id)
        if run.claim_token != claim.token or run.status != Status.RUNNING:
            return False
        _finish(run, status, error)
        return True


class _Heartbeat(threading.Thread):
    """Keeps the run's heartbeat fresh while the engine works, so a dead worker is noticed."""

    def __init__(self, claim: _Claim) -> None:
        super().__init__(daemon=True, name=f"run-{claim.run_id}-heartbeat")
        self.claim = claim
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        interval = _setting("RUN_HEARTBEAT_SECONDS", 5)
        try:
            while not self.stopped.wait(interval):
                try:
                    updated = SegmentationRun.objects.filter(
                        pk=self.claim.run_id, claim_token=self.claim.token, status=Status.RUNNING
                    ).update(heartbeat_at=timezone.now())
                except DatabaseError:
                    logger.warning("heartbeat of run %s failed", self.claim.run_id, exc_info=True)
                    continue
                if not updated:
                    self.lost.set()
                    return
        finally:
            connection.close()


class _Progress:
    """The engine's progress and cancel callbacks, written to the run row."""

    # At most one write (and one cancel check) per interval: the engine reports every
    # candidate (57 in a default run) and each write is a commit waiting for the WAL flush.
    INTERVAL = 0.5

    def __init__(self, claim: _Claim, heartbeat: _Heartbeat) -> None:
        self.claim = claim
        self.heartbeat = heartbeat
        self.last_write = 0.0
        self.last_stage = ""
        self.last_check = float("-inf")  # the first call always asks
        self.cancel_requested = False

    def _mine(self):
        return SegmentationRun.objects.filter(
            pk=self.claim.run_id, claim_token=self.claim.token, status=Status.RUNNING
        )

    def __call__(self, stage: str, percent: float) -> None:
        now = time.monotonic()
        phase = stage.split(":", 1)[0]  # "candidates:kmeans k=3" is phase "candidates"
        if (
            phase == self.last_stage.split(":", 1)[0]
            and now - self.last_write < self.INTERVAL
            and percent < 100
        ):
            return
        # Progress is a hint for the page: its own commit need not wait for the disk (a
        # crash loses at most the last fraction of a second of it). Never inside a caller's
        # transaction, which SET LOCAL would reach too.
        asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
        with transaction.atomic():
            if asynchronous:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            updated = self._mine().update(
                stage=stage[:40],
                progress=max(0.0, min(100.0, float(percent))),
                heartbeat_at=timezone.now(),
            )
        if not updated:
            raise ClaimLost
        self.last_write, self.last_stage = now, stage

    def should_cancel(self) -> bool:
        if self.heartbeat.lost.is_set():
            raise ClaimLost
        now = time.monotonic()
        if now - self.last_check < self.INTERVAL:
            return self.cancel_requested
        row = self._mine().values_list("cancel_requested", flat=True).first()
        if row is None:
            raise ClaimLost
        self.last_check, self.cancel_requested = now, bool(row)
        return self.cancel_requested


def run_execute(*, run_id: int, token: str, hostname: str) -> str:
    """Execute a run on this worker; returns what happened ("succeeded", "skipped", ...).

    Transient database errors propagate (the task retries them); every other failure is
    recorded on the run in words a user can act on.
    """
    try:
        claim = run_claim(run_id=run_id, token=token, hostname=hostname)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        logger.exception("run %s could not be started", run_id)
        SegmentationRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
            status=Status.FAILED,
            stage=Status.FAILED,
            error=f"Could not start: {type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        return "failed"
    if claim is None:
        return "skipped"
    heartbeat = _Heartbeat(claim)
    heartbeat.start()
    progress = _Progress(claim, heartbeat)
    predictor_path: Path | None = None
    try:
        run = SegmentationRun.objects.get(pk=run_id)
        params = params_from_json(run.params)
        started = time.perf_counter()
        progress("reading data", 1)
        aggregates = customer_aggregates(
            reference_date=params.reference_date, lookback_days=params.lookback_days
        )
        read_seconds = time.perf_counter() - started
        result = run_segmentation(
            aggregates.table,
            params=_with_reference(params, aggregates.reference_date),
            progress=progress,
            should_cancel=progress.should_cancel,
        )
        progress("saving", 99)
        started_saving = time.perf_counter()
        predictor_path = _save_predictor(run_id, token, result, aggregates.fingerprint)
        _store_results(claim, result, aggregates, predictor_path, read_seconds, started_saving)
        return "succeeded"
    except ClaimLost:
        logger.info("run %s was taken over or finished elsewhere", run_id)
        _discard(predictor_path)
        return "lost"
    except SegmentationCancelled as cancelled:
        _finish_claimed(claim, Status.CANCELLED, f"Cancelled while running ({cancelled}).")
        _discard(predictor_path)
        return "cancelled"
    except (InvalidParameters, LookupError) as error:
        _finish_claimed(claim, Status.FAILED, _user_message(error))
        _discard(predictor_path)
        return "failed"
    except TRANSIENT_ERRORS:
        _discard(predictor_path)
        with contextlib.suppress(DatabaseError):
            # Give the run back so the retry (same task id) takes it again at once.
            SegmentationRun.objects.filter(pk=run_id, claim_token=token).update(
                status=Status.QUEUED, stage="waiting to retry", heartbeat_at=None
            )
        raise
    except Exception as error:
        from celery.exceptions import SoftTimeLimitExceeded

        _discard(predictor_path)
        if isinstance(error, SoftTimeLimitExceeded):
            limit = settings.CELERY_TASK_SOFT_TIME_LIMIT // 60
            message = (
                f"Stopped: the run took longer than the time limit ({limit} minutes). "
                "Try fewer algorithms or a smaller k range."
            )
        else:
            logger.exception("run %s failed", run_id)
            message = f"Unexpected error: {type(error).__name__}: {error}"
        _finish_claimed(claim, Status.FAILED, message[:2000])
        return "failed"
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=10)


def _user_message(error: Exception) -> str:
    if isinstance(error, InvalidParameters):
        return f"Invalid parameter {error.field}: {error.message}"
    return str(error.args[0] if error.args else error)


def _with_reference(params: SegmentationParams, reference: pd.Timestamp) -> SegmentationParams:
    import dataclasses

    return dataclasses.replace(params, reference_date=reference, lookback_days=None)


def _predictor_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "predictors"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_predictor(run_id: int, token: str, result, fingerprint: str) -> Path:
    """Write the predictor next to its final name, then rename: never a half-written file."""
    path = _predictor_dir() / f"run-{run_id}-{token[:12]}.joblib"
    result.predictor.metadata.update({"run_id": run_id, "data_fingerprint": fingerprint})
    tmp = path.with_suffix(".tmp")
    result.predictor.save(tmp)
    os.replace(tmp, path)
    return path


def _discard(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _store_results(claim, result, aggregates, predictor_path, read_seconds, started_saving):
    """Replace the run's results in one transaction, only while the run is still ours."""
    ranking = result.choice.ranking
    consensus = dict(zip(ranking["key"], ranking["consensus"], strict=True)) if len(ranking) else {}
    chosen_key = result.chosen.key
    features = result.features
    rfm_scores = result.rfm.scores
    assignments = result.assignments.set_index("customer_id")
    pk_by_customer = aggregates.pk_by_customer_id
    feature_fields = [f for f in SegmentAssignment.FEATURE_FIELDS if f in features.columns]

    with transaction.atomic():
        run = SegmentationRun.objects.select_for_update().get(pk=claim.run_id)
        if run.claim_token != claim.token or run.status != Status.RUNNING:
            raise ClaimLost
        run.candidates.all().delete()
        run.assignments.all().delete()
        run.segments.all().delete()
        Candidate.objects.bulk_create(
            Candidate(
                run=run,
                algorithm=c.algorithm,
                k=c.k,
                setting=c.setting,
                n_clusters=c.n_clusters,
                silhouette=_num(c.silhouette),
                davies_bouldin=_num(c.davies_bouldin),
                calinski_harabasz=_num(c.calinski_harabasz),
                inertia=_num(c.inertia),
                bic=_num(c.bic),
                noise_share=c.noise_share,
                min_segment_share=c.min_segment_share,
                eligible=c.eligible,
                reason=c.reason[:300],
                fit_seconds=c.fit_seconds,
                fitted_on=c.fitted_on,
                silhouette_sampled=c.silhouette_sampled,
                consensus_rank=_num(consensus.get(c.key)),
                is_chosen=c.key == chosen_key,
            )
            for c in result.candidates
        )
        segments = Segment.objects.bulk_create(
            Segment(
                run=run,
                number=p.segment_id,
                name=p.name,
                size=p.size,
                share_customers=p.share_customers,
                share_revenue=p.share_revenue,
                medians=_clean(p.medians),
                means=_clean(p.means),
                lift=_clean(p.lift),
                distinguishing=list(p.distinguishing),
                rule=p.rule,
                rule_accuracy=_num(p.rule_accuracy),
                rule_precision=_num(p.rule_precision),
                rule_recall=_num(p.rule_recall),
                action=p.action,
                rationale=p.rationale,
                top_country=p.top_country or "",
                value=p.value or "",
                engagement=p.engagement or "",
                activity=p.activity or "",
                activity_shares=_clean(p.activity_shares or {}),
                why=p.why or "",
                conditions=[
                    {"condition": c.condition, "observed": c.observed, "holds": bool(c.holds)}
                    for c in p.conditions
                ],
            )
            for p in result.segments
        )
        segment_pk = {s.number: s.pk for s in segments}
        if not all(s.pk for s in segments):  # backends without RETURNING
            segment_pk = dict(run.segments.values_list("number", "pk"))
        # One joined frame, then plain tuples: no per-row pandas lookups.
        table = (
            assignments[["segment_id", "confidence"]]
            .join(features[feature_fields])
            .join(rfm_scores[["rfm_segment", "rfm_cell"]])
        )
        table["customer_pk"] = table.index.map(pk_by_customer)
        table["segment_pk"] = table["segment_id"].astype(int).map(segment_pk)
        table[["rfm_segment", "rfm_cell"]] = table[["rfm_segment", "rfm_cell"]].fillna("")
        table[feature_fields] = table[feature_fields].astype(float)
        columns = ["customer_pk", "segment_pk", "confidence", "rfm_segment", "rfm_cell"]
        rows = (
            SegmentAssignment(
                run=run,
                customer_id=int(values[0]),
                segment_id=int(values[1]),
                confidence=float(values[2]),
                rfm_segment=str(values[3]),
                rfm_cell=str(values[4]),
                **{f: _num(v) for f, v in zip(feature_fields, values[5:], strict=True)},
            )
            for values in table[columns + feature_fields].itertuples(index=False, name=None)
        )
        SegmentAssignment.objects.bulk_create(rows, batch_size=2000)

        chosen = result.chosen
        timings = {"read data": round(read_seconds, 3)}
        timings.update({k: round(v, 3) for k, v in result.timings.items()})
        timings["save results"] = round(time.perf_counter() - started_saving, 3)
        run.status = Status.SUCCEEDED
        run.stage = "done"
        run.progress = 100
        run.finished_at = timezone.now()
        run.claim_token = ""
        run.timings = timings
        run.data_fingerprint = aggregates.fingerprint
        run.data_summary = aggregates.summary
        run.library_versions = library_versions()
        run.reference_date = aggregates.reference_date.date()
        run.n_customers = result.n_customers
        run.excluded = result.excluded
        run.flagged = result.flagged
        run.preprocessing = [
            {"name": s.name, "method": s.method, "detail": _clean(s.detail)}
            for s in result.preprocessing
        ]
        run.chosen_algorithm = chosen.algorithm
        # segments, not the candidate's k: mixed segments may have been split by activity
        run.chosen_k = len(result.segments)
        run.chosen_setting = chosen.setting
        run.justification = result.choice.justification
        run.elbow = dict(result.choice.elbow_k)
        run.stability = _stability_json(result.stability, result.choice.stability_checked)
        run.activity_rhythm = _rhythm_json(result.activity)
        run.surrogate_agreement = _num(result.surrogate_agreement)
        coords = result.pca.coordinates
        run.pca = {
            "explained_variance_ratio": [float(v) for v in result.pca.explained_variance_ratio],
            "points": [
                [str(c), round(float(x), 4), round(float(y), 4), int(s)]
                for c, x, y, s in zip(
                    coords["customer_id"],
                    coords["pc1"],
                    coords["pc2"],
                    coords["segment_id"],
                    strict=True,
                )
            ],
        }
        crosstab = result.rfm.crosstab
        run.rfm_comparison = {
            "adjusted_rand": _num(result.rfm.adjusted_rand),
            "rows": [str(r) for r in crosstab.index],
            "columns": [str(c) for c in crosstab.columns],
            "values": crosstab.astype(int).values.tolist(),
            "edges": _rfm_edges_json(result.rfm.edges),
        }
        run.notes = list(result.notes)
        run.predictor_file = str(predictor_path.relative_to(settings.MEDIA_ROOT))
        run.save()


def _stability_json(stability, checked: dict[str, float]) -> dict:
    """The bootstrap stability as stored on the run: the numbers, the verdict and its words,
    and the mean ARI of each leading candidate checked before choosing (candidate key)."""
    return {
        "mean_adjusted_rand": _num(stability.mean_adjusted_rand),
        "scores": [_num(s) for s in stability.scores],
        "resample_size": stability.resample_size,
        "stable": bool(stability.stable),
        "verdict": stability.verdict,
        "words": stability.words,
        "checked": {str(key): _num(ari) for key, ari in (checked or {}).items()},
    }


def _rhythm_json(rhythm) -> dict:
    """The shop's rhythm (ActivityRhythm) as stored on the run; {} when not measured."""
    if rhythm is None:
        return {}
    return {
        "active_days": _num(rhythm.active_days),
        "lapsed_days": _num(rhythm.lapsed_days),
        "repeat_customers": int(rhythm.repeat_customers),
        "basis": rhythm.basis,
    }


def _rfm_edges_json(edges: dict) -> dict:
    """RFM bin edges per axis: one {score, low, high, customers} per score that occurs."""
    return {
        str(axis): [
            {"score": int(score), "low": _num(low), "high": _num(high), "customers": int(n)}
            for score, low, high, n in bins
        ]
        for axis, bins in (edges or {}).items()
    }


def _clean(mapping: dict) -> dict:
    """JSON-safe copy: numpy scalars to floats, NaN/inf to None."""
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out[str(key)] = _clean(value)
        elif isinstance(value, list | tuple):
            out[str(key)] = [_num(v) if isinstance(v, int | float) else v for v in value]
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            out[str(key)] = value
        else:
            try:
                out[str(key)] = _num(value)
            except (TypeError, ValueError):
                out[str(key)] = str(value)
    return out


# ------------------------------------------------------------------------------ recovery
def runs_recover_stale() -> list[int]:
    """Re-queue runs whose worker stopped beating (killed, out of memory, machine lost).

    Runs that already used their attempts are marked failed with the reason. Safe to call
    from several workers at once.
    """
    requeued: list[int] = []
    with transaction.atomic():
        stale = SegmentationRun.objects.select_for_update(skip_locked=True).filter(
            status=Status.RUNNING, heartbeat_at__lt=_stale_before()
        )
        for run in stale:
            if run.attempts >= _setting("RUN_MAX_ATTEMPTS", 3):
                _finish(
                    run,
                    Status.FAILED,
                    f"Gave up after {run.attempts} attempts: the worker executing this run "
                    f"stopped unexpectedly (last on {run.worker_hostname or 'an unknown host'} "
                    f"at stage '{run.stage}').",
                )
                continue
            logger.warning(
                "run %s: worker %s stopped beating at stage %s; re-queueing",
                run.pk,
                run.worker_hostname,
                run.stage,
            )
            run.status = Status.QUEUED
            run.stage = "re-queued after a worker stopped"
            run.claim_token = ""
            run.heartbeat_at = None
            run.save()
            _enqueue_on_commit(run.pk)
            requeued.append(run.pk)
    return requeued


def new_claim_token() -> str:
    return uuid.uuid4().hex
