"""The fitted predictor: preprocessing + chosen model, in plain numpy (and a scipy KD-tree).

``SegmentPredictor.predict(rows)`` takes raw customer features (a DataFrame, a dict or a list
of dicts keyed by feature name; missing values are imputed like in training) and returns
``(segment_ids, confidence)``.  ``predict_one(row)`` is the fast single-row path for the API;
``predict_with_runner_up(rows)`` also names the segment each row is next closest to (the
member's fit in words, docs/decisions/member-fit-in-words.md).

Confidence, always in [0, 1]:

* Gaussian mixture: the posterior probability of the assigned component.
* Centroid models (K-Means, MiniBatch K-Means): ``1 - d1 / d2`` with d1, d2 the distances to
  the nearest and second-nearest centroid (0 = on the boundary, 1 = on the centroid).
* Birch: the same with the nearest subcluster of the assigned segment and the nearest
  subcluster of any other segment.
* DBSCAN, Agglomerative, Spectral (no native predict): a k-nearest-neighbour surrogate
  (5 neighbours among the rows the algorithm was fitted on, noise excluded); confidence is the
  share of neighbours that vote for the assigned segment.

The pipeline stores, for every customer, exactly what this predictor returns for that
customer's raw features, so re-scoring a known customer always reproduces the stored segment.
For surrogate models the agreement with the algorithm's own labels is reported separately.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy
import sklearn
from scipy.spatial import cKDTree

from .algorithms import SURROGATE_NEIGHBOURS
from .assign import gaussian_log_resp, knn_vote
from .preprocess import Preprocessor

FORMAT_VERSION = 1
_CHUNK = 16_384


class PredictorLoadError(ValueError):
    """A saved predictor cannot be used here (format, library versions or data mismatch)."""


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def data_fingerprint(features: pd.DataFrame) -> str:
    """sha256 of the raw feature table (values and customer ids)."""
    h = pd.util.hash_pandas_object(features, index=True).to_numpy()
    cols = ",".join(map(str, features.columns)).encode()
    return hashlib.sha256(cols + h.tobytes()).hexdigest()


@dataclass
class SegmentPredictor:
    preprocessor: Preprocessor
    model: dict[str, Any]
    label_map: np.ndarray  # model label -> segment id
    segment_names: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    _tree: Any = field(default=None, repr=False)
    # activity split (naming.split_mixed_segments): a customer of model segment s goes to
    # split_map[s, 0] when their recency is at most split_days, else to split_map[s, 1]
    split_days: float | None = None
    split_map: np.ndarray | None = None

    def __post_init__(self) -> None:
        kind = self.model["kind"]
        if kind == "knn":
            self._tree = cKDTree(self.model["points"])
        elif kind == "subclusters":
            order = np.argsort(self.model["labels"], kind="stable")
            self.model["order"] = order
            self.model["sorted_labels"] = self.model["labels"][order]
            starts = np.flatnonzero(np.r_[True, np.diff(self.model["sorted_labels"]) != 0])
            self.model["starts"] = starts
            self.model["group_labels"] = self.model["sorted_labels"][starts]
        if kind in ("centroids", "subclusters"):
            c = self.model["centers"]
            self.model["center_sq"] = np.einsum("ij,ij->i", c, c)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.preprocessor.features

    # ------------------------------------------------------------------ predict
    def predict(
        self, data: pd.DataFrame | Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Segment id and confidence for each row of raw features."""
        pre = self.preprocessor
        num, countries = pre.raw_arrays(data)
        seg, conf = self.predict_transformed(pre.transform_arrays(num, countries))
        return self.split(seg, num), conf

    def split(self, segments: np.ndarray, num: np.ndarray) -> np.ndarray:
        """Final segment ids from the model's and each row's raw recency (imputed as in
        training when missing)."""
        if self.split_map is None:
            return segments
        i = self.preprocessor.numeric.index("recency_days")
        assert self.preprocessor.fill is not None  # a predictor's preprocessor is fitted
        recency = np.where(np.isnan(num[:, i]), self.preprocessor.fill[i], num[:, i])
        return self.split_map[segments, (recency > self.split_days).astype(np.int64)]

    def predict_one(self, row: Mapping[str, Any]) -> tuple[int, float]:
        """Fast path for a single customer (no pandas)."""
        pre = self.preprocessor
        num = np.array([[np.nan if row.get(c) is None else float(row[c]) for c in pre.numeric]])
        countries = (
            np.array([str(row.get("country", ""))], dtype=object) if pre.uses_country else None
        )
        labels, conf = self.predict_transformed(pre.transform_arrays(num, countries))
        return int(self.split(labels, num)[0]), float(conf[0])

    def predict_frame(self, data: pd.DataFrame) -> pd.DataFrame:
        seg, conf = self.predict(data)
        names = np.asarray(self.segment_names, dtype=object)
        return pd.DataFrame(
            {
                "segment_id": seg,
                "segment_name": names[seg] if len(names) else None,
                "confidence": conf,
            },
            index=data.index,
        )

    def predict_with_runner_up(
        self, data: pd.DataFrame | Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segment id, confidence and runner-up segment id for each row of raw features.

        The runner-up is the segment the customer is next closest to: the second-nearest
        centroid or subcluster group, the second most probable mixture component, the
        second most voted neighbours' segment (after the same activity split as the
        chosen one); -1 when there is none (a single segment, or every neighbour agrees)."""
        pre = self.preprocessor
        num, countries = pre.raw_arrays(data)
        seg, conf, second = self.predict_transformed_ranked(pre.transform_arrays(num, countries))
        seg = self.split(seg, num)
        runner = np.full(len(seg), -1, dtype=np.int64)
        has = second >= 0
        if has.any():
            runner[has] = self.split(second[has], num[has])
        runner[runner == seg] = -1
        return seg, conf, runner

    def predict_transformed(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seg, conf, _ = self._predict_transformed(X, ranked=False)
        return seg, conf

    def predict_transformed_ranked(
        self, X: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """predict_transformed and each row's second choice (segment id before the activity
        split; -1 when there is none)."""
        return self._predict_transformed(X, ranked=True)

    def _predict_transformed(
        self, X: np.ndarray, *, ranked: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(X)
        if n > _CHUNK:
            parts = [
                self._predict_transformed(X[s : s + _CHUNK], ranked=ranked)
                for s in range(0, n, _CHUNK)
            ]
            return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]
        kind = self.model["kind"]
        second = np.full(n, -1, dtype=np.int64)
        if kind == "centroids":
            d2 = self._sq_dist(X, self.model["centers"], self.model["center_sq"])
            raw = d2.argmin(axis=1)
            conf = _relative_confidence(d2) if d2.shape[1] > 1 else np.ones(n)
            if ranked:
                second = _second_best(d2, raw, lowest=True)
        elif kind == "gaussian":
            logp = gaussian_log_resp(X, self.model)
            raw = logp.argmax(axis=1)
            logp -= logp.max(axis=1, keepdims=True)
            p = np.exp(logp)
            conf = 1.0 / p.sum(axis=1)  # posterior of the arg-max component
            if ranked:
                second = _second_best(p, raw, lowest=False)
        elif kind == "subclusters":
            d2 = self._sq_dist(X, self.model["centers"], self.model["center_sq"])
            d2 = d2[:, self.model["order"]]
            per_label = np.minimum.reduceat(d2, self.model["starts"], axis=1)
            best = per_label.argmin(axis=1)
            raw = self.model["group_labels"][best]
            conf = _relative_confidence(per_label) if per_label.shape[1] > 1 else np.ones(n)
            if ranked:
                index = _second_best(per_label, best, lowest=True)
                second = np.where(index >= 0, self.model["group_labels"][index], -1)
        elif kind == "knn":
            k = min(SURROGATE_NEIGHBOURS, len(self.model["points"]))
            _, nb = self._tree.query(X, k=k)
            nb = nb.reshape(n, k)
            votes = self.model["labels"][nb]
            raw, conf = knn_vote(votes)
            if ranked:
                second = _second_vote(votes, raw)
        else:  # pragma: no cover - guarded by construction
            raise ValueError(f"unknown model kind {kind}")
        has = second >= 0
        mapped = np.full(n, -1, dtype=np.int64)
        mapped[has] = self.label_map[second[has]]
        return self.label_map[raw], np.minimum(np.maximum(conf, 0.0), 1.0), mapped

    @staticmethod
    def _sq_dist(X: np.ndarray, C: np.ndarray, c_sq: np.ndarray) -> np.ndarray:
        # exact differences (not the |x|^2 - 2xc + |c|^2 expansion) so a single row and the
        # same row inside a batch always get bit-identical distances
        diff = X[:, None, :] - C[None, :, :]
        return np.einsum("ijk,ijk->ij", diff, diff)

    # ------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        meta = dict(self.metadata)
        meta["format_version"] = FORMAT_VERSION
        meta["versions"] = library_versions()
        payload = {"format_version": FORMAT_VERSION, "metadata": meta, "predictor": self}
        joblib.dump(payload, path, compress=3)

    @classmethod
    def load(
        cls,
        path: str | Path,
        expected_fingerprint: str | None = None,
        check_versions: tuple[str, ...] = ("scikit-learn", "numpy", "scipy"),
    ) -> SegmentPredictor:
        """Load a saved predictor; raise PredictorLoadError on any metadata mismatch.

        Only load files you produced: joblib files can execute code when loaded."""
        try:
            payload = joblib.load(path)
        except Exception as exc:
            raise PredictorLoadError(f"{path}: not a readable predictor file ({exc})") from exc
        if not isinstance(payload, dict) or "predictor" not in payload:
            raise PredictorLoadError(f"{path}: not a segment predictor file")
        version = payload.get("format_version")
        if version != FORMAT_VERSION:
            raise PredictorLoadError(
                f"{path}: format version {version} but this code reads {FORMAT_VERSION}; "
                "re-run the segmentation to rebuild the predictor"
            )
        meta = payload.get("metadata", {})
        saved = meta.get("versions", {})
        here = library_versions()
        for lib in check_versions:
            if saved.get(lib) != here.get(lib):
                raise PredictorLoadError(
                    f"{path}: saved with {lib} {saved.get(lib)}, running {here.get(lib)}; "
                    "re-run the segmentation with the installed libraries"
                )
        if expected_fingerprint is not None and meta.get("fingerprint") != expected_fingerprint:
            raise PredictorLoadError(
                f"{path}: trained on data with fingerprint {meta.get('fingerprint')!s:.16}..., "
                f"expected {expected_fingerprint:.16}..."
            )
        predictor = payload["predictor"]
        predictor.metadata = meta
        return predictor


def _relative_confidence(d2: np.ndarray) -> np.ndarray:
    """1 - d1/d2 from squared distances (nearest, second nearest); 0 when both are 0."""
    two = (
        np.sqrt(np.partition(d2, 1, axis=1)[:, :2])
        if d2.shape[1] > 2
        else np.sqrt(np.sort(d2, axis=1))
    )
    ratio = np.divide(two[:, 0], two[:, 1], out=np.ones(len(two)), where=two[:, 1] > 0)
    return 1.0 - ratio


def _second_best(scores: np.ndarray, best: np.ndarray, *, lowest: bool) -> np.ndarray:
    """Each row's second-best column (-1 with a single column): the lowest distance or the
    highest probability once the best is set aside."""
    n, k = scores.shape
    if k < 2:
        return np.full(n, -1, dtype=np.int64)
    masked = scores.astype(float, copy=True)
    masked[np.arange(n), best] = np.inf if lowest else -np.inf
    return (masked.argmin(axis=1) if lowest else masked.argmax(axis=1)).astype(np.int64)


def _second_vote(neighbour_labels: np.ndarray, best: np.ndarray) -> np.ndarray:
    """The label most voted among the neighbours that did not vote for `best` (ties to the
    nearest), -1 where every neighbour voted for it."""
    lab = neighbour_labels.astype(np.int64)
    n, m = lab.shape
    other = lab != best[:, None]
    votes = ((lab[:, :, None] == lab[:, None, :]) & other[:, None, :]).sum(axis=2)
    votes[~other] = 0
    top = np.argmax(votes, axis=1)  # the nearest neighbour with the most votes
    found = votes[np.arange(n), top] > 0
    return np.where(found, lab[np.arange(n), top], -1)
