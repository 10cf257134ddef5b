"""A run's results stored: the engine's predictor as a file, then its candidates, segments,
assignments and report as rows, in one transaction that replaces, never duplicates."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from customers.importing import pgcopy
from customers.models import Customer

from ..aggregation import CustomerAggregates
from ..engine.predictor import library_versions
from ..engine.value import ASSIGNED_VALUE_COLUMNS
from ..models import Candidate, Segment, SegmentAssignment, SegmentationRun
from ..playbook import action_for, playbook_overrides
from .claims import Claim, ClaimLost, announce_finished

Status = SegmentationRun.Status

#: The value stage's columns of result.assignments, stored on each assignment.
VALUE_FIELDS = ASSIGNED_VALUE_COLUMNS


# ------------------------------------------------------------------------------ predictor file
def _predictor_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "predictors"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_predictor(run_id: int, token: str, result, fingerprint: str) -> Path:
    """Write the predictor next to its final name, then rename: never a half-written file."""
    path = _predictor_dir() / f"run-{run_id}-{token[:12]}.joblib"
    result.predictor.metadata.update({"run_id": run_id, "data_fingerprint": fingerprint})
    tmp = path.with_suffix(".tmp")
    result.predictor.save(tmp)
    os.replace(tmp, path)
    return path


def discard_predictor(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# ------------------------------------------------------------------------------ rows
def store_results(
    claim: Claim,
    result,
    aggregates: CustomerAggregates,
    predictor_path: Path,
    read_seconds: float,
    started_saving: float,
) -> None:
    """Replace the run's results in one transaction, only while the run is still ours."""
    with transaction.atomic():
        run = claim.runs().select_for_update().get(pk=claim.run_id)
        if run.claim_token != claim.token or run.status != Status.RUNNING:
            raise ClaimLost
        run.candidates.all().delete()
        run.assignments.all().delete()
        run.segments.all().delete()
        _store_candidates(run, result)
        segments = _store_segments(run, result)
        _hold_customers()
        gone = _store_assignments(run, result, aggregates, segments)
        _fill_report(run, result, aggregates, predictor_path, read_seconds, started_saving)
        if gone:
            run.notes = [
                *run.notes,
                f"{gone:,} customers removed (an import undone, a line removed) while the run "
                "worked are not among its assignments",
            ]
        run.save()
        announce_finished(run)
        # The compare page's default pair is now this run against the one before: computed
        # on a worker once committed; robust, a broker outage loses only the warm-up.
        from ..tasks import warm_compare

        workspace_id = run.workspace_id
        transaction.on_commit(lambda: warm_compare.delay(workspace_id), robust=True)
        if run.n_customers >= ANALYZE_AFTER_ROWS:
            # the pages' plans need the new rows' statistics and visibility; taken once the
            # run is stored (2-3 s at 1M), not inside the transaction that holds the customers
            transaction.on_commit(lambda: _analyze(SegmentAssignment._meta.db_table), robust=True)


def _store_candidates(run: SegmentationRun, result) -> None:
    ranking = result.choice.ranking
    consensus = dict(zip(ranking["key"], ranking["consensus"], strict=True)) if len(ranking) else {}
    chosen_key = result.chosen.key
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


def _store_segments(run: SegmentationRun, result) -> list[Segment]:
    overrides = playbook_overrides(workspace=run.workspace_id)
    actions = {
        p.segment_id: action_for(p.name, (p.action, p.rationale), overrides)
        for p in result.segments
    }
    return Segment.objects.bulk_create(
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
            action=actions[p.segment_id][0],
            rationale=actions[p.segment_id][1],
            top_country=p.top_country or "",
            value=p.value or "",
            engagement=p.engagement or "",
            activity=p.activity or "",
            activity_shares=_clean(p.activity_shares or {}),
            activity_evidence=p.activity_evidence or "",
            why=p.why or "",
            conditions=[
                {"condition": c.condition, "observed": c.observed, "holds": bool(c.holds)}
                for c in p.conditions
            ],
            expected_value=_num(p.expected_value),
            share_expected_value=_num(p.share_expected_value),
            value_per_customer=_num(p.value_per_customer),
            median_p_alive=_num(p.median_p_alive),
        )
        for p in result.segments
    )


def _store_assignments(
    run: SegmentationRun, result, aggregates: CustomerAggregates, segments: list[Segment]
) -> int:
    """One row per customer: its segment, confidence, RFM cell, features and value ahead.
    Customers deleted since the run read its data (an import undone meanwhile) are left out;
    returns how many. The caller holds the customer table (_hold_customers)."""
    features = result.features
    feature_fields = [f for f in SegmentAssignment.FEATURE_FIELDS if f in features.columns]
    # null when the value stage did not run (or left the customer out)
    value_fields = [f for f in VALUE_FIELDS if f in result.assignments.columns]
    number_fields = feature_fields + value_fields
    segment_pk_by_number = {s.number: s.pk for s in segments}
    if not all(s.pk for s in segments):  # backends without RETURNING
        segment_pk_by_number = dict(run.segments.values_list("number", "pk"))
    # One joined frame, then plain tuples: no per-row pandas lookups. The engine's frames
    # are indexed by the shop's customer id; the rows need the Customer row's primary key.
    table = (
        result.assignments.set_index("customer_id")[["segment_id", "confidence", *value_fields]]
        .join(features[feature_fields])
        .join(result.rfm.scores[["rfm_segment", "rfm_cell"]])
    )
    table["runner_up"] = _runner_up(result).reindex(table.index).fillna(-1).astype("int64")
    # reindex is free when the orders agree, as they do (both follow the read); Index.map
    # hashed every id (1.6 s at 1M)
    table["customer_pk"] = aggregates.pk_by_customer_id.reindex(table.index).to_numpy()
    segment_pk = np.zeros(max(segment_pk_by_number) + 1, dtype=np.int64)  # by segment number
    segment_pk[list(segment_pk_by_number)] = list(segment_pk_by_number.values())
    table["segment_pk"] = segment_pk[table["segment_id"].to_numpy(dtype=np.int64)]
    table[["rfm_segment", "rfm_cell"]] = table[["rfm_segment", "rfm_cell"]].fillna("")
    table[number_fields] = table[number_fields].astype(float)
    existing = np.isin(table["customer_pk"].to_numpy(), _existing_customers(run.workspace_id))
    gone = int((~existing).sum())
    table = table[existing]
    if connection.vendor == "postgresql":
        _copy_assignments(run, table, number_fields)
        return gone
    columns = ["customer_pk", "segment_pk", "confidence", "runner_up", "rfm_segment", "rfm_cell"]
    rows = (
        SegmentAssignment(
            run=run,
            # The foreign keys' columns, set from primary keys: an instance per row would
            # double the time to build the rows (docs/performance.md).
            customer_id=int(customer_pk),
            segment_id=int(segment_pk),
            confidence=float(confidence),
            runner_up_number=None if runner_up < 0 else int(runner_up),
            rfm_segment=str(rfm_segment),
            rfm_cell=str(rfm_cell),
            **{f: _num(v) for f, v in zip(number_fields, values, strict=True)},
        )
        for customer_pk, segment_pk, confidence, runner_up, rfm_segment, rfm_cell, *values in table[
            columns + number_fields
        ].itertuples(index=False, name=None)
    )
    SegmentAssignment.objects.bulk_create(rows, batch_size=2000)
    return gone


def _copy_assignments(run: SegmentationRun, table: pd.DataFrame, number_fields: list) -> None:
    """The assignment rows by one binary COPY, column by column and encoded a chunk of rows
    at a time: a million customers' rows through bulk_create took over two minutes of a
    run's saving (docs/scaling.md)."""
    n = len(table)
    runner_up = table["runner_up"].to_numpy(dtype=float)
    columns = [
        ("run_id", "int8", np.full(n, run.pk, dtype=np.int64)),
        ("customer_id", "int8", table["customer_pk"].to_numpy(dtype=np.int64)),
        ("segment_id", "int8", table["segment_pk"].to_numpy(dtype=np.int64)),
        ("confidence", "float8", table["confidence"].to_numpy(dtype=float)),
        ("runner_up_number", ("int2",), np.where(runner_up < 0, np.nan, runner_up)),
        ("rfm_segment", "text", pa.array(table["rfm_segment"].astype(str).to_numpy())),
        ("rfm_cell", "text", pa.array(table["rfm_cell"].astype(str).to_numpy())),
        *((f, ("float8",), table[f].to_numpy(dtype=float)) for f in number_fields),
    ]
    # infinities are stored as nulls, as _num does on the other path
    columns = [
        (name, kind, np.where(np.isinf(v), np.nan, v) if kind == ("float8",) else v)
        for name, kind, v in columns
    ]
    names = ", ".join(name for name, _, _ in columns)
    table_name = SegmentAssignment._meta.db_table
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table_name} ({names}) FROM STDIN WITH (FORMAT binary)",
            pgcopy.encode_in_chunks(columns, n),
        )


#: After storing this many assignments the table's statistics are refreshed: a big run's rows
#: planned with the old ones were sorted on disk whole to show one page of a segment.
ANALYZE_AFTER_ROWS = 50_000


def _analyze(table_name: str) -> None:
    """Statistics for the planner and, on PostgreSQL, the new rows marked all-visible, so
    that counting a segment's members reads its index alone (an index-only scan instead of
    a scan of every run's rows, 0.8 s -> 0.05 s at 1M) without waiting for autovacuum."""
    command = "VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE"
    with connection.cursor() as cursor:
        cursor.execute(f"{command} {table_name}")


def _runner_up(result) -> pd.Series:
    """Each customer's runner-up segment number (-1: none), by the run's own predictor: the
    segment they are next closest to, for their fit in words (clustering.report.member_fit)."""
    predictor = result.predictor
    features = result.features[list(predictor.feature_names)]
    _, _, runner_up = predictor.predict_with_runner_up(features)
    return pd.Series(runner_up, index=features.index, dtype="int64")


def _hold_customers() -> None:
    """No customer is deleted (nor written) until this transaction ends: the assignments have
    no database foreign key to hold their customers' rows (PostgreSQL; SQLite has one writer
    at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Customer._meta.db_table} IN SHARE MODE")


def _existing_customers(workspace_id: int) -> np.ndarray:
    """The primary keys of the workspace's customers now. Read under _hold_customers, no
    customer among them can be deleted before the store commits. (Leaving the deleted ones
    out before the COPY replaced an anti join and an ANALYZE after it: 3-6 s at 1M.)"""
    pks = Customer.objects.in_workspace(workspace_id).values_list("pk", flat=True)
    return np.fromiter(pks.iterator(chunk_size=100_000), dtype=np.int64)


def _fill_report(
    run: SegmentationRun,
    result,
    aggregates: CustomerAggregates,
    predictor_path: Path,
    read_seconds: float,
    started_saving: float,
) -> None:
    """Set the run's status, timings and report fields (the caller saves the run)."""
    chosen = result.chosen
    calibration = aggregates.calibration_seconds
    timings = {"read data": round(read_seconds - calibration, 3)}
    if aggregates.calibration is not None:
        timings["read calibration"] = round(calibration, 3)
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
    run.stability = stability_json(result.stability, result.choice.stability_checked)
    run.activity_rhythm = _rhythm_json(result.activity)
    run.value_ahead = value_json(result.value)
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
    # what the read left out first (implausible stored lines), then the engine's own
    run.notes = [*aggregates.notes, *result.notes]
    run.predictor_file = str(predictor_path.relative_to(settings.MEDIA_ROOT))


# ------------------------------------------------------------------------------ JSON fields
def stability_json(stability, checked: dict[str, float]) -> dict:
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
        # what named the segments' activity (recency or p_alive) and why
        "evidence": rhythm.evidence,
        "evidence_basis": rhythm.evidence_basis,
        # the P(alive) from which a repeat buyer is active, where P(alive) names activity:
        # the members list judges each member by it as the segment's name did
        "p_alive_active": _num(rhythm.p_alive_active),
    }


def value_json(summary) -> dict:
    """The value stage (ValueSummary) as stored on the run, NaN as null; {} when it did not
    run."""
    if summary is None:
        return {}
    return _json_safe(dataclasses.asdict(summary))


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _num(value)
    return str(value)


def _rfm_edges_json(edges: dict) -> dict:
    """RFM bin edges per axis: one {score, low, high, customers} per score that occurs."""
    return {
        str(axis): [
            {"score": int(score), "low": _num(low), "high": _num(high), "customers": int(n)}
            for score, low, high, n in bins
        ]
        for axis, bins in (edges or {}).items()
    }


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _clean(mapping: dict) -> dict:
    """JSON-safe copy: numpy scalars to floats, NaN/inf to None."""
    out: dict[str, Any] = {}
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
