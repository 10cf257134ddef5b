"""Real-time segment assignment with a workspace's published run's predictor, loaded once per
process.

Each workspace has its own published run, so the cache holds one model per workspace, keyed
by the workspace's id: a request is only ever answered from its own workspace's run. The
predictor file is read when this process first needs it and again only when the workspace
publishes another run (the entry is checked against (published run id, predictor file)).
Finding out which run is published costs one indexed query per request (the partial unique
index behind ``one_published_run_per_workspace``), so a run published by another process is
picked up at once, with no signal or shared cache to keep in step.

Segments and assignments of a run never change once it has succeeded, so their names,
actions and every customer's stored assignment are cached with the predictor: a known
customer is answered from memory (sorted arrays and a binary search, about 20 bytes a
customer, 24 more when the run estimated value ahead), not with a three-table join per
request.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from .engine.predictor import PredictorLoadError, SegmentPredictor
from .engine.types import CATEGORICAL_FEATURES
from .engine.value import ASSIGNED_VALUE_COLUMNS, HISTORY_FEATURES, ValueModels
from .models import Segment, SegmentAssignment, SegmentationRun

logger = logging.getLogger(__name__)

#: Largest batch a single predict request may hold.
MAX_BATCH = 1000


class NoPublishedRun(Exception):
    """Nothing is published yet, so there is no segmentation to assign customers to."""


class PredictorUnavailable(Exception):
    """The published run's predictor file is missing or cannot be read here."""


@dataclass(frozen=True)
class SegmentInfo:
    number: int
    name: str
    action: str
    # What the name rests on ("" on runs stored before they were measured).
    value: str = ""
    engagement: str = ""
    activity: str = ""
    why: str = ""


@dataclass(frozen=True)
class ValueAhead:
    """A customer's value ahead as the run stored it (None where not estimated)."""

    p_alive: float | None = None
    expected_purchases: float | None = None
    expected_value: float | None = None
    next_purchase_days: float | None = None


#: Features without a history, and runs that estimated no value ahead, give none.
NOT_ESTIMATED = ValueAhead()


@dataclass(frozen=True)
class PublishedModel:
    run_id: int
    predictor_file: str
    predictor: SegmentPredictor
    segments: dict[int, SegmentInfo]
    customer_ids: np.ndarray  # sorted external ids of the run's customers
    segment_numbers: np.ndarray  # aligned with customer_ids
    confidences: np.ndarray
    # aligned with customer_ids: P(alive), expected purchases, expected value (NaN: not
    # estimated); None when the run estimated no one's value ahead (older runs)
    value_ahead: np.ndarray | None = None
    # the run's value models, for raw features; None when it estimated no value ahead
    value_models: ValueModels | None = None

    def _index(self, customer_id: str) -> int | None:
        i = int(np.searchsorted(self.customer_ids, customer_id))
        if i < len(self.customer_ids) and self.customer_ids[i] == customer_id:
            return i
        return None

    def stored(self, customer_id: str) -> tuple[int, float] | None:
        i = self._index(customer_id)
        if i is None:
            return None
        return int(self.segment_numbers[i]), float(self.confidences[i])

    def stored_value_ahead(self, customer_id: str) -> ValueAhead:
        """The customer's stored P(alive), expected purchases and value (None: not estimated)."""
        i = None if self.value_ahead is None else self._index(customer_id)
        if i is None:
            return NOT_ESTIMATED
        return ValueAhead(*(None if math.isnan(v) else float(v) for v in self.value_ahead[i]))

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.predictor.feature_names)

    @property
    def numeric_features(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if f not in CATEGORICAL_FEATURES)


@dataclass(frozen=True)
class Prediction:
    segment: SegmentInfo
    confidence: float
    source: str  # "stored" | "predicted"
    value_ahead: ValueAhead = NOT_ESTIMATED


_lock = threading.Lock()
#: workspace id -> its published run's model
_current: dict[int, PublishedModel] = {}


def load_predictor_file(path: Path) -> SegmentPredictor:
    """Read a predictor file (the one slow step; tests count calls to it)."""
    return SegmentPredictor.load(path)


def published_run_key(workspace_id: int) -> tuple[int, str] | None:
    """(id, predictor file) of the workspace's published run: one indexed query.

    Plain SQL because it runs on every predict request: building it with the ORM costs
    more Python time than the database takes to answer it.
    """
    with connection.cursor() as cursor:
        cursor.execute(_PUBLISHED_RUN_SQL, [workspace_id])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


_PUBLISHED_RUN_SQL = (
    f'SELECT "id", "predictor_file" FROM "{SegmentationRun._meta.db_table}" '  # noqa: S608
    'WHERE "workspace_id" = %s AND "is_published" LIMIT 1'
)


def published_model(*, workspace) -> PublishedModel:
    """The workspace's published run's predictor and segments, loading them only when the
    workspace's published run changed."""
    workspace_id = workspace.pk
    key = published_run_key(workspace_id)
    if key is None:
        raise NoPublishedRun
    current = _current.get(workspace_id)
    if current is not None and (current.run_id, current.predictor_file) == key:
        return current
    with _lock:  # one thread loads; the others wait and reuse it
        current = _current.get(workspace_id)
        if current is None or (current.run_id, current.predictor_file) != key:
            current = _load(workspace_id, *key)
            _current[workspace_id] = current
    return current


def forget_published_model() -> None:
    """Drop every cached predictor (tests; the next request loads it again)."""
    with _lock:
        _current.clear()


def _load(workspace_id: int, run_id: int, predictor_file: str) -> PublishedModel:
    if not predictor_file:
        raise PredictorUnavailable(f"run {run_id} has no predictor file")
    path = Path(settings.MEDIA_ROOT) / predictor_file
    try:
        predictor = load_predictor_file(path)
    except (OSError, PredictorLoadError) as error:
        logger.error("cannot load the predictor of run %s: %s", run_id, error)
        raise PredictorUnavailable(str(error)) from error
    segments = {
        row[0]: SegmentInfo(*row)
        for row in Segment.objects.in_workspace(workspace_id)
        .filter(run_id=run_id)
        .values_list("number", "name", "action", "value", "engagement", "activity", "why")
    }
    ids, numbers, confidences, value_ahead = _stored_assignments(workspace_id, run_id)
    summary = (
        SegmentationRun.objects.in_workspace(workspace_id)
        .filter(pk=run_id)
        .values_list("value_ahead", flat=True)
    )
    logger.info("loaded the predictor of run %s (%s)", run_id, predictor_file)
    return PublishedModel(
        run_id,
        predictor_file,
        predictor,
        segments,
        ids,
        numbers,
        confidences,
        value_ahead,
        ValueModels.from_summary(summary.first()),
    )


VALUE_AHEAD_FIELDS = ASSIGNED_VALUE_COLUMNS


def _stored_assignments(
    workspace_id: int, run_id: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    rows = list(
        SegmentAssignment.objects.in_workspace(workspace_id)
        .filter(run_id=run_id)
        .order_by()
        .values_list("customer__external_id", "segment__number", "confidence", *VALUE_AHEAD_FIELDS)
        .iterator(chunk_size=20000)
    )
    if not rows:
        return np.array([], dtype=str), np.array([], dtype=np.int32), np.array([]), None
    ids, numbers, confidences, *values = zip(*rows, strict=True)
    ids = np.array(ids, dtype=str)
    order = np.argsort(ids, kind="stable")
    # 8 bytes a figure and customer, only for runs that estimated value ahead (NaN: not
    # estimated)
    value_ahead = np.array(values, dtype=np.float64).T[order]  # None -> NaN
    if np.isnan(value_ahead).all():
        value_ahead = None
    return (
        ids[order],
        np.asarray(numbers, dtype=np.int32)[order],
        np.asarray(confidences, dtype=np.float64)[order],
        value_ahead,
    )


# ------------------------------------------------------------------------------ assign
def stored_predictions(model: PublishedModel, customer_ids: Sequence[str]) -> dict[str, Prediction]:
    """The published run's stored assignment of each known customer (from memory)."""
    result = {}
    for customer_id in set(customer_ids):
        found = model.stored(customer_id)
        if found is not None:
            number, confidence = found
            result[customer_id] = Prediction(
                model.segments[number],
                confidence,
                "stored",
                model.stored_value_ahead(customer_id),
            )
    return result


def predict_features(model: PublishedModel, rows: Sequence[Mapping[str, Any]]) -> list[Prediction]:
    """Segment and confidence for each row of raw features (validated by the caller)."""
    if not rows:
        return []
    predictor = model.predictor
    values = _value_from_features(model.value_models, rows)
    if len(rows) == 1:
        number, confidence = predictor.predict_one(rows[0])
        return [Prediction(model.segments[number], _unit(confidence), "predicted", values[0])]
    numbers, confidence = predictor.predict(list(rows))
    return [
        Prediction(model.segments[int(n)], _unit(c), "predicted", v)
        for n, c, v in zip(np.asarray(numbers), np.asarray(confidence), values, strict=True)
    ]


def _value_from_features(
    models: ValueModels | None, rows: Sequence[Mapping[str, Any]]
) -> list[ValueAhead]:
    """Each row's value ahead from the run's models: for rows that send recency, orders and
    tenure (whether or not the run segments on them)."""
    found = [
        i for i, row in enumerate(rows) if all(row.get(f) is not None for f in HISTORY_FEATURES)
    ]
    values = [NOT_ESTIMATED] * len(rows)
    if models is None or not found:
        return values
    column = {f: np.array([rows[i][f] for i in found], dtype=float) for f in HISTORY_FEATURES}
    spend = np.array(
        [
            np.nan if rows[i].get("avg_basket_value") is None else rows[i]["avg_basket_value"]
            for i in found
        ],
        dtype=float,
    )
    estimated = models.from_features(
        column["recency_days"], column["frequency"], column["tenure_days"], spend
    )
    for j, i in enumerate(found):
        values[i] = ValueAhead(**{c: _figure(estimated[c][j]) for c in ASSIGNED_VALUE_COLUMNS})
    return values


def _figure(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _unit(value: float) -> float:
    value = float(value)
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0
