"""Run parameters: the ones a user may set, declared once, and the way from a form or an API
payload to the engine's SegmentationParams and back.

``RUN_PARAMETERS`` says for each parameter what the run form and the API show (label, help,
choices) and the API's documented bounds; its default is the engine's. The engine's
validate_params stays the one authority on what a run accepts: bad parameters raise its
InvalidParameters(field, message) before anything queues.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from .engine.preprocess import ENCODINGS, IMPUTE, OUTLIERS, SCALERS
from .engine.types import InvalidParameters, SegmentationParams
from .engine.validation import validate_params
from .engine.vocabulary import algorithm_choices, feature_choices

DEFAULTS = SegmentationParams()


@dataclass(frozen=True)
class RunParameter:
    """A parameter a user may set on a run (a field of the engine's SegmentationParams)."""

    name: str
    kind: str  # "multiple" | "choice" | "int" | "float" | "date"
    label: str
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for "multiple" and "choice"
    minimum: float | None = None  # the API's documented bounds; ranges are the engine's
    maximum: float | None = None
    on_form: bool = True  # the run form shows it (under "Advanced parameters")
    step: str | None = None  # the form's number input step

    @property
    def default(self) -> Any:
        return getattr(DEFAULTS, self.name)


def _labelled(values: tuple[str, ...], labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The engine's allowed values, each with its label (the engine's list decides which)."""
    return tuple((v, labels.get(v, v)) for v in values)


#: Parameters a user may set (form, API, command line), in the form's order; everything else
#: keeps the engine's default.
RUN_PARAMETERS: tuple[RunParameter, ...] = (
    RunParameter(
        "algorithms",
        "multiple",
        "Algorithms",
        "Each is tried for every number of segments in the range; the best is chosen.",
        choices=tuple(algorithm_choices()),
    ),
    # The engine needs two segments at least; the bounds say so before it does.
    RunParameter("k_min", "int", "Fewest segments", minimum=2, maximum=100),
    RunParameter("k_max", "int", "Most segments", minimum=2, maximum=100),
    RunParameter(
        "features",
        "multiple",
        "Features",
        "What customers are compared on. Country is off by default: most customers are in "
        "one country, so it would dominate the split.",
        choices=tuple(feature_choices()),
    ),
    RunParameter(
        "seed",
        "int",
        "Seed",
        "The same seed on the same data gives the same segments.",
        minimum=0,
        maximum=2**31 - 1,
    ),
    RunParameter(
        "reference_date",
        "date",
        "Reference date",
        "Measure recency as of this day. Empty: the day after the last purchase.",
    ),
    RunParameter(
        "lookback_days",
        "int",
        "Look-back window (days)",
        "Only count purchases this many days before the reference date. Empty: all.",
        minimum=1,
        maximum=36500,
    ),
    RunParameter(
        "non_positive_monetary",
        "choice",
        "Customers with no net spend",
        "Customers whose revenue net of returns is zero or less: left out or kept.",
        choices=_labelled(("exclude", "keep"), {"exclude": "Leave out", "keep": "Keep"}),
        on_form=False,
    ),
    RunParameter(
        "impute",
        "choice",
        "Missing values",
        "How a missing feature value is filled in.",
        choices=_labelled(IMPUTE, {"median": "The median", "mean": "The mean", "zero": "Zero"}),
        on_form=False,
    ),
    RunParameter(
        "outliers",
        "choice",
        "Outlier handling",
        choices=_labelled(
            OUTLIERS,
            {
                "log1p": "Log scale (recommended)",
                "cap": "Cap at the 1st and 99th percentiles",
                "none": "None",
            },
        ),
    ),
    RunParameter(
        "scaler",
        "choice",
        "Scaler",
        choices=_labelled(
            SCALERS,
            {
                "standard": "Standard (mean 0, spread 1)",
                "minmax": "Min-max (0 to 1)",
                "robust": "Robust (median and quartiles)",
            },
        ),
    ),
    RunParameter(
        "country_encoding",
        "choice",
        "Country encoding",
        "Used only when Country is among the features.",
        choices=_labelled(
            ENCODINGS, {"onehot": "One column per country", "label": "One number per country"}
        ),
    ),
    RunParameter(
        "min_segment_share",
        "float",
        "Smallest segment share",
        "A result with a segment smaller than this share of customers is not chosen.",
        minimum=0,
        maximum=1,
        step="0.005",
    ),
    RunParameter(
        "max_noise_share",
        "float",
        "Largest noise share",
        "A result that leaves more than this share of customers in no segment (DBSCAN's "
        "noise) is not chosen.",
        minimum=0,
        maximum=1,
        on_form=False,
    ),
    RunParameter(
        "value_horizon_days",
        "int",
        "Value horizon (days)",
        "How far ahead each customer's expected purchases and value are estimated. "
        "0 turns the estimate off.",
        minimum=0,
        maximum=3650,
    ),
    RunParameter(
        "value_discount_rate",
        "float",
        "Annual discount rate",
        "Money expected later counts for less: 0.10 counts a sale a year ahead as 91% of one "
        "today.",
        minimum=0,
        maximum=0.99,
        step="0.01",
    ),
    RunParameter(
        "value_margin",
        "float",
        "Margin (share of revenue counted as value)",
        "1.0 (the default) counts the whole revenue as value; 0.3 counts a 30% margin.",
        minimum=0.01,
        maximum=1,
        step="0.01",
    ),
    RunParameter(
        "value_holdout_share",
        "float",
        "Share of days held out to check the value estimate",
        "The model is first fitted without the last part of the period and its forecast "
        "compared with what customers bought in it.",
        minimum=0.05,
        maximum=0.95,
        on_form=False,
    ),
)
PARAMETERS_BY_NAME: dict[str, RunParameter] = {p.name: p for p in RUN_PARAMETERS}
USER_PARAMETERS: tuple[str, ...] = tuple(PARAMETERS_BY_NAME)
FORM_PARAMETERS: tuple[RunParameter, ...] = tuple(p for p in RUN_PARAMETERS if p.on_form)

#: Stored as JSON lists, tuples in the engine.
_TUPLE_FIELDS = {
    f.name for f in dataclasses.fields(SegmentationParams) if isinstance(f.default, tuple)
}


def params_from_input(data: dict[str, Any]) -> SegmentationParams:
    """Build and validate parameters from user input (unknown keys are refused)."""
    unknown = sorted(set(data) - set(USER_PARAMETERS))
    if unknown:
        raise InvalidParameters(unknown[0], "is not a parameter a run accepts")
    values: dict[str, Any] = {}
    for name, value in data.items():
        kind = PARAMETERS_BY_NAME[name].kind
        if value is None or (value == "" and kind != "multiple"):
            continue
        try:
            if kind == "multiple":
                if isinstance(value, str):
                    value = [v.strip() for v in value.split(",") if v.strip()]
                value = tuple(str(v) for v in value)
            elif kind == "int":
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise ValueError
                value = int(float(value))
            elif kind == "float":
                value = float(value)
            elif kind == "date":
                value = pd.Timestamp(date.fromisoformat(str(value)))
            else:
                value = str(value)
        except (TypeError, ValueError) as error:
            raise InvalidParameters(name, f"{value!r} is not a valid value") from error
        values[name] = value
    params = SegmentationParams(**values)
    validate_params(params)
    return params


#: Stored beside a run's parameters when its "most segments" is the shop's size limit
#: (runs.lifecycle.shop_k_max): a schedule repeating the run takes the limit of the day.
K_MAX_BY_SHOP_SIZE = "k_max_by_shop_size"


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
