"""The run's technical record in a manager's words: candidate settings, parameters with their
units, preprocessing steps as sentences, timings and the worker's stages.

Algorithm and feature names come from clustering.engine.vocabulary (the one label source);
this module only words what the engine stores around them (settings, steps, stage names).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.forms.utils import pretty_name

from clustering.engine.vocabulary import algorithm_label, feature_label
from clustering.params import K_MAX_BY_SHOP_SIZE, PARAMETERS_BY_NAME

# ------------------------------------------------------------------ candidate settings


def _setting_part(name: str, value: str) -> str:
    if name in ("n_clusters", "n_components"):
        return f"{value} segments"
    if name == "eps":
        return f"radius {value}"
    if name == "min_samples":
        return f"at least {value} neighbours"
    if name == "threshold":
        return f"threshold {value}"
    if name == "linkage":
        return f"{value.capitalize()} linkage"
    if name == "affinity" and value.startswith("knn"):
        return f"{value[3:]} nearest neighbours"
    return f"{name.replace('_', ' ')} {value}".strip()


def setting_words(setting: str | None) -> str:
    """An algorithm's stored setting in words: "n_clusters=5" -> "5 segments",
    "eps=0.5,min_samples=5" -> "radius 0.5, at least 5 neighbours"."""
    parts = []
    for item in (setting or "").split(","):
        name, _, value = item.strip().partition("=")
        if name:
            parts.append(_setting_part(name, value))
    return ", ".join(p for p in parts if p)


def candidate_label(algorithm: str, setting: str | None = "") -> str:
    """ "Gaussian mixture, 5 segments"; the algorithm's label alone without a setting."""
    words = setting_words(setting)
    name = algorithm_label(algorithm)
    return f"{name}, {words}" if words else name


def candidate_key_label(key: str) -> str:
    """A stored candidate key "gmm:n_components=5" as its label."""
    algorithm, _, setting = key.partition(":")
    return candidate_label(algorithm, setting)


_BRACKETED_SETTING = re.compile(r"\(([a-z_]+=[^)]*)\)")


def reason_words(reason: str | None) -> str:
    """Why a candidate was not eligible, without the engine's settings or signs."""
    text = _BRACKETED_SETTING.sub(lambda m: f"({setting_words(m.group(1))})", reason or "")
    text = text.replace(" > ", ", more than ").replace(" < ", ", less than ")
    return text.replace("segment(s)", "segment")


# ------------------------------------------------------------------ stages and timings

#: What the worker is doing at each of the engine's stages (and of the run's own steps);
#: the timings table names the same stages the same way.
STAGE_WORDS: dict[str, str] = {
    "": "Waiting for the worker",
    "queued": "Waiting in the queue",
    "waiting for the queue": "Waiting for the queue to take the run",
    "waiting to retry": "Waiting to try again",
    "re-queued after a worker stopped": "Queued again after a worker stopped",
    "starting": "Starting",
    "reading data": "Reading the transactions",
    "read data": "Reading the transactions",
    "read calibration": "Reading the earlier period for the value check",
    "validate": "Checking the parameters",
    "features": "Working out each customer's features",
    "preprocess": "Preparing the features",
    "silhouette_matrix": "Preparing the quality scores",
    "metrics": "Scoring the segmentations tried",
    "candidates": "Trying the methods",
    "choose": "Choosing the segmentation and checking its stability",
    "stability": "Checking the stability of the leading segmentations",
    "predictor": "Fitting the rule that places new customers",
    "profiles": "Describing the segments",
    "value": "Estimating the value ahead",
    "rfm": "Comparing with the classic RFM grid",
    "pca": "Drawing the customer map",
    "saving": "Saving the results",
    "save results": "Saving the results",
    "done": "Done",
    "succeeded": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def stage_words(stage: str | None) -> str:
    """A stored progress stage in words: "candidates:gmm:n_components=8" -> "Trying Gaussian
    mixture with 8 segments"; an unknown stage readable as it is."""
    stage = (stage or "").strip()
    phase, _, rest = stage.partition(":")
    if phase == "candidates" and rest:
        algorithm, _, setting = rest.partition(":")
        words = setting_words(setting)
        name = algorithm_label(algorithm.strip())
        if words.endswith("segments") and "," not in words:
            return f"Trying {name} with {words}"
        return f"Trying {name} ({words})" if words else f"Trying {name}"
    if stage in STAGE_WORDS:
        return STAGE_WORDS[stage]
    return pretty_name(stage.replace(":", " "))


def timing_rows(timings: dict | None) -> list[tuple[str, float]]:
    """(what, seconds) per stored stage timing, in the order the run went through them."""
    return [(STAGE_WORDS.get(k) or pretty_name(k), v) for k, v in (timings or {}).items()]


# ------------------------------------------------------------------ parameters

#: Shares shown as percentages.
SHARES = {
    "min_segment_share",
    "max_noise_share",
    "value_discount_rate",
    "value_margin",
    "value_holdout_share",
    "rare_country_share",
}
#: Counts of days, shown with their unit (the label then needs no "(days)").
DAYS = {"lookback_days", "value_horizon_days"}
#: Counts of customers (thousands separators).
CUSTOMERS = {
    "silhouette_sample_size",
    "quadratic_sample_size",
    "linear_sample_size",
    "stability_sample_size",
    "pca_sample_size",
}

#: Settings a user cannot change, in the words of the report's parameters table.
FIXED_SETTING_LABELS: dict[str, str] = {
    "cap_quantiles": "Outlier caps, when capping",
    "rare_country_share": "Countries grouped as “Other” below",
    "practical_k": "Preferred number of segments",
    "silhouette_sample_size": "Customers sampled for the silhouette score",
    "quadratic_sample_size": "Customers sampled for Spectral, Agglomerative and DBSCAN",
    "linear_sample_size": "Customers sampled for Gaussian mixture and BIRCH",
    "stability_resamples": "Resamples for the stability check",
    "stability_sample_size": "Customers per stability resample",
    "pca_sample_size": "Customers shown on the map",
    "blas_threads": "Processor threads per run",
}

_DEFAULT_WORDS = {
    "reference_date": "the day after the last purchase",
    "lookback_days": "all purchases",
    "blas_threads": "as many as the machine has",
}


def _percent(value: float) -> str:
    text = f"{100 * float(value):.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _value_text(name: str, value: Any, choices: dict) -> str:
    if value is None or value == "":
        return _DEFAULT_WORDS.get(name, "default")
    if name == "reference_date":
        return str(value)[:10]
    if name == "cap_quantiles" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{_percent(value[0])} and {_percent(value[1])} of the values"
    if name == "practical_k" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]} to {value[1]}"
    if name in SHARES:
        return _percent(value)
    if name in DAYS:
        return f"{intcomma(value)} days"
    if name in CUSTOMERS:
        return f"{intcomma(value)} customers"
    values = value if isinstance(value, list | tuple) else [value]
    return ", ".join(str(choices.get(v, v)) for v in values)


def parameter_view(params: dict | None) -> dict[str, list[tuple[str, str]]]:
    """The run's parameters as (label, value with its unit) rows: ``chosen`` are those a user
    may set (the run form's labels and choice labels, in its order), ``fixed`` the settings
    the engine keeps as they are."""
    params = params or {}
    chosen, fixed = [], []
    for name, parameter in PARAMETERS_BY_NAME.items():
        if name in params:
            label = parameter.label.replace(" (days)", "")
            text = _value_text(name, params[name], dict(parameter.choices))
            if name == "k_max" and params.get(K_MAX_BY_SHOP_SIZE):
                text += " (the most this shop's customers allowed)"
            chosen.append((label, text))
    for name in set(params) - set(PARAMETERS_BY_NAME) - {K_MAX_BY_SHOP_SIZE}:
        label = FIXED_SETTING_LABELS.get(name) or pretty_name(name)
        fixed.append((label, _value_text(name, params[name], {})))
    return {"chosen": chosen, "fixed": sorted(fixed)}


# ------------------------------------------------------------------ preprocessing


def _features(names: list | None) -> str:
    labels = [feature_label(str(n)) for n in names or []]
    if len(labels) > 1:
        return ", ".join(labels[:-1]) + " and " + labels[-1]
    return labels[0] if labels else "the features"


_SCALES = {
    "standard": "one scale (mean 0, spread 1)",
    "minmax": "one scale (0 to 1)",
    "robust": "one scale (by their median and quartiles)",
}


def _impute_sentence(method: str, detail: dict) -> str:
    filled = {k: v for k, v in (detail.get("filled") or {}).items() if v}
    if not filled:
        return "No feature value was missing."
    counts = ", ".join(f"{feature_label(k)} for {intcomma(v)}" for k, v in filled.items())
    if method == "zero":
        return f"Missing values were set to zero ({counts} customers)."
    return f"Missing values were filled with each feature's {method} ({counts} customers)."


def _step_sentence(name: str, method: str, detail: dict) -> str:
    columns = _features(detail.get("columns"))
    if name == "impute":
        return _impute_sentence(method, detail)
    if name == "outliers":
        if method == "log1p":
            return (
                f"{columns} were compressed on a log scale, so that a few very large values "
                "do not dominate."
            )
        if method == "cap":
            low, high = (detail.get("quantiles") or [0.01, 0.99])[:2]
            clipped = intcomma(detail.get("clipped", 0))
            return (
                f"{columns} were capped at {_percent(low)} and {_percent(high)} of their "
                f"values ({clipped} values capped)."
            )
        return "Very large values were kept as they are."
    if name == "encode":
        kept = [c for c in detail.get("categories") or [] if c != "OTHER"]
        how = "one column per country" if method == "onehot" else "one number per country"
        share = detail.get("rare_share_below")
        rare = f" under {_percent(share)} of customers" if share is not None else ""
        grouped = intcomma(detail.get("grouped_as_other", 0))
        return (
            f"Country was turned into {how}: {len(kept)} countries kept, {grouped} customers "
            f"from countries{rare} counted together as “Other”."
        )
    if name == "scale":
        how = _SCALES.get(method, f"one scale ({method})")
        return f"{columns} were put on {how}, so that each counts equally."
    return f"{pretty_name(name)}: {pretty_name(str(method)).lower()}."


def preprocessing_sentences(steps: list | None) -> list[str]:
    """Each stored preprocessing step as one sentence, in the order they were applied."""
    sentences = []
    for step in steps or []:
        if isinstance(step, dict):
            detail = step.get("detail") if isinstance(step.get("detail"), dict) else {}
            sentences.append(
                _step_sentence(str(step.get("name", "")), str(step.get("method", "")), detail)
            )
    return sentences


def knee_words(elbow: dict | None) -> str:
    """ "K-Means at 3 segments, Gaussian mixture at 4 segments" from the stored knees."""
    return ", ".join(f"{algorithm_label(a)} at {k} segments" for a, k in (elbow or {}).items())
