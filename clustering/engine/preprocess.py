"""Missing values, outliers, encoding and scaling, in plain numpy.

The fitted :class:`Preprocessor` is part of the predictor, so it is deliberately small and
fast: a single-row transform is a handful of numpy operations, no pandas, no scikit-learn.

Order of steps: impute -> outliers (signed log1p or quantile capping) -> scale numeric columns
-> append encoded country columns (one-hot columns are 0/1 and left unscaled; the label code is
scaled like a numeric column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .types import CATEGORICAL_FEATURES, InvalidParameters, PreprocessStep

IMPUTE = ("median", "mean", "zero")
OUTLIERS = ("log1p", "cap", "none")
SCALERS = ("standard", "minmax", "robust")
ENCODINGS = ("onehot", "label")
OTHER = "Other"


def signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class Preprocessor:
    features: tuple[str, ...]
    impute: str = "median"
    outliers: str = "log1p"
    cap_quantiles: tuple[float, float] = (0.01, 0.99)
    scaler: str = "standard"
    country_encoding: str = "onehot"
    rare_country_share: float = 0.01
    # fitted state
    numeric: tuple[str, ...] = ()
    fill: np.ndarray | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    countries: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    steps: list[PreprocessStep] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("impute", self.impute, IMPUTE),
            ("outliers", self.outliers, OUTLIERS),
            ("scaler", self.scaler, SCALERS),
            ("country_encoding", self.country_encoding, ENCODINGS),
        ):
            if value not in allowed:
                raise InvalidParameters(name, f"{value!r} is not one of {allowed}")
        lo, hi = self.cap_quantiles
        if not 0 <= lo < hi <= 1:
            raise InvalidParameters("cap_quantiles", "need 0 <= low < high <= 1")

    @property
    def uses_country(self) -> bool:
        return "country" in self.features

    # ----------------------------------------------------------------- fitting
    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        self.numeric = tuple(f for f in self.features if f not in CATEGORICAL_FEATURES)
        num = df[list(self.numeric)].to_numpy(dtype=np.float64, copy=True)
        self.steps = []
        n_missing = np.isnan(num).sum(axis=0)
        if self.impute == "median":
            fill = np.nanmedian(num, axis=0) if len(num) else np.zeros(num.shape[1])
        elif self.impute == "mean":
            fill = np.nanmean(num, axis=0) if len(num) else np.zeros(num.shape[1])
        else:
            fill = np.zeros(num.shape[1])
        self.fill = np.nan_to_num(fill)
        self.steps.append(
            PreprocessStep(
                "impute",
                self.impute,
                {
                    "filled": {
                        c: int(m) for c, m in zip(self.numeric, n_missing, strict=True) if m
                    },
                    "values": {c: float(v) for c, v in zip(self.numeric, self.fill, strict=True)},
                },
            )
        )
        num = self._impute(num)
        if self.outliers == "cap":
            self.low, self.high = np.quantile(num, self.cap_quantiles, axis=0)
        detail: dict[str, Any] = {"columns": list(self.numeric)}
        if self.outliers == "cap":
            detail["quantiles"] = list(self.cap_quantiles)
            detail["clipped"] = int(((num < self.low) | (num > self.high)).sum())
        self.steps.append(PreprocessStep("outliers", self.outliers, detail))
        num = self._outliers(num)

        if self.uses_country:
            countries = df["country"].astype(str)
            shares = countries.value_counts(normalize=True)
            kept = sorted(shares[shares >= self.rare_country_share].index)
            self.countries = tuple(kept) + (OTHER,)
            self.steps.append(
                PreprocessStep(
                    "encode",
                    self.country_encoding,
                    {
                        "categories": list(self.countries),
                        "grouped_as_other": int((~countries.isin(kept)).sum()),
                        "rare_share_below": self.rare_country_share,
                    },
                )
            )
            codes = self._country_codes(countries.to_numpy())
            if self.country_encoding == "label":
                num = np.column_stack([num, codes.astype(np.float64)])

        if self.scaler == "standard":
            center, scale = num.mean(axis=0), num.std(axis=0)
        elif self.scaler == "minmax":
            center, scale = num.min(axis=0), num.max(axis=0) - num.min(axis=0)
        else:
            q1, med, q3 = np.quantile(num, [0.25, 0.5, 0.75], axis=0)
            center, scale = med, q3 - q1
        scale = np.where(scale > 1e-12, scale, 1.0)
        self.center, self.scale = center, scale
        self.steps.append(PreprocessStep("scale", self.scaler, {"columns": self._scaled_names()}))
        out = (num - center) / scale
        if self.uses_country and self.country_encoding == "onehot":
            out = np.column_stack([out, self._onehot(codes)])
        self.output_names = tuple(self._scaled_names()) + (
            tuple(f"country={c}" for c in self.countries)
            if self.uses_country and self.country_encoding == "onehot"
            else ()
        )
        return np.ascontiguousarray(out)

    def _scaled_names(self) -> list[str]:
        names = list(self.numeric)
        if self.uses_country and self.country_encoding == "label":
            names.append("country_code")
        return names

    # ------------------------------------------------------------- transforming
    def _impute(self, num: np.ndarray) -> np.ndarray:
        mask = np.isnan(num)
        if mask.any():
            assert self.fill is not None, "transform before fit"
            num = np.where(mask, self.fill, num)
        return num

    def _outliers(self, num: np.ndarray) -> np.ndarray:
        if self.outliers == "log1p":
            return signed_log1p(num)
        if self.outliers == "cap":
            return np.clip(num, self.low, self.high)
        return num

    def _country_codes(self, countries: np.ndarray) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.countries)}
        other = len(self.countries) - 1
        return np.fromiter((lookup.get(str(c), other) for c in countries), np.int64, len(countries))

    def _onehot(self, codes: np.ndarray) -> np.ndarray:
        out = np.zeros((len(codes), len(self.countries)))
        out[np.arange(len(codes)), codes] = 1.0
        return out

    def transform_arrays(self, num: np.ndarray, countries: np.ndarray | None) -> np.ndarray:
        """Transform a 2-D float array of the numeric features (+ country strings)."""
        num = self._outliers(self._impute(np.asarray(num, dtype=np.float64)))
        if self.uses_country:
            assert countries is not None, "this preprocessor needs the customers' countries"
            codes = self._country_codes(countries)
            if self.country_encoding == "label":
                num = np.column_stack([num, codes.astype(np.float64)])
        out = (num - self.center) / self.scale
        if self.uses_country and self.country_encoding == "onehot":
            out = np.column_stack([out, self._onehot(codes)])
        return out

    def transform(self, data: pd.DataFrame | Mapping | Sequence[Mapping]) -> np.ndarray:
        num, countries = self.raw_arrays(data)
        return self.transform_arrays(num, countries)

    def raw_arrays(
        self, data: pd.DataFrame | Mapping | Sequence[Mapping]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Pull the numeric matrix and the country vector out of a DataFrame or dicts.

        Missing keys / None become NaN (imputed like missing values)."""
        if isinstance(data, Mapping):
            data = [data]
        if isinstance(data, pd.DataFrame):
            missing = [c for c in self.features if c not in data.columns]
            if missing:
                raise KeyError(f"missing feature columns {missing}")
            num = data[list(self.numeric)].to_numpy(dtype=np.float64)
            countries = data["country"].astype(str).to_numpy() if self.uses_country else None
            return num, countries
        rows = list(data)
        num = np.array(
            [[_num(r.get(c)) for c in self.numeric] for r in rows], dtype=np.float64
        ).reshape(len(rows), len(self.numeric))
        countries = (
            np.array([str(r.get("country", OTHER)) for r in rows], dtype=object)
            if self.uses_country
            else None
        )
        return num, countries


def _num(v: Any) -> float:
    return np.nan if v is None else float(v)
