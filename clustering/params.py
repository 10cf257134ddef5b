"""Run parameters: from a form or an API payload to the engine's SegmentationParams and back.

Bad parameters raise the engine's InvalidParameters(field, message) before anything queues.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pandas as pd

from .engine.pipeline import validate_params
from .engine.types import InvalidParameters, SegmentationParams

#: Parameters a user may set (form, API); everything else keeps the engine's default.
USER_PARAMETERS = (
    "features",
    "algorithms",
    "k_min",
    "k_max",
    "seed",
    "reference_date",
    "lookback_days",
    "non_positive_monetary",
    "impute",
    "outliers",
    "scaler",
    "country_encoding",
    "min_segment_share",
    "max_noise_share",
)
_TUPLE_FIELDS = {"features", "algorithms", "cap_quantiles", "practical_k"}
_INT_FIELDS = {"k_min", "k_max", "seed", "lookback_days"}
_FLOAT_FIELDS = {"min_segment_share", "max_noise_share"}


def params_from_input(data: dict[str, Any]) -> SegmentationParams:
    """Build and validate parameters from user input (unknown keys are refused)."""
    unknown = sorted(set(data) - set(USER_PARAMETERS))
    if unknown:
        raise InvalidParameters(unknown[0], "is not a parameter a run accepts")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if value is None or (value == "" and name not in _TUPLE_FIELDS):
            continue
        try:
            if name in _TUPLE_FIELDS:
                if isinstance(value, str):
                    value = [v.strip() for v in value.split(",") if v.strip()]
                value = tuple(str(v) for v in value)
            elif name in _INT_FIELDS:
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise ValueError
                value = int(float(value))
            elif name in _FLOAT_FIELDS:
                value = float(value)
            elif name == "reference_date":
                value = pd.Timestamp(date.fromisoformat(str(value)))
            else:
                value = str(value)
        except (TypeError, ValueError) as error:
            raise InvalidParameters(name, f"{value!r} is not a valid value") from error
        values[name] = value
    params = SegmentationParams(**values)
    validate_params(params)
    return params


def params_to_json(params: SegmentationParams) -> dict[str, Any]:
    data = params.to_dict()
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def params_from_json(data: dict[str, Any]) -> SegmentationParams:
    """The stored parameters back into the engine's type (the worker's side)."""
    fields = {f.name for f in dataclasses.fields(SegmentationParams)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in fields:
            continue
        if name in _TUPLE_FIELDS and value is not None:
            value = tuple(value)
        elif name == "reference_date" and value is not None:
            value = pd.Timestamp(value)
        values[name] = value
    return SegmentationParams(**values)
