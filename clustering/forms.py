"""The form that starts a segmentation run.

Django checks the types (a number is a number); the engine's own validation
(clustering.params.params_from_input) checks everything else, and its
InvalidParameters(field, message) is shown beside that field.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms.utils import pretty_name

from .engine.types import ALGORITHM_NAMES, ALL_FEATURES, DEFAULT_FEATURES, SegmentationParams
from .params import params_from_input

ALGORITHM_LABELS = {
    "kmeans": "K-Means",
    "minibatch_kmeans": "Mini-batch K-Means",
    "gmm": "Gaussian mixture",
    "dbscan": "DBSCAN (finds its own number of segments)",
    "agglomerative": "Agglomerative (Ward)",
    "birch": "BIRCH",
    "spectral": "Spectral",
}
FEATURE_LABELS = {
    "recency_days": "Recency: days since last purchase",
    "frequency": "Frequency: number of orders",
    "monetary_total": "Monetary: total revenue",
    "tenure_days": "Tenure: days since first purchase",
    "avg_basket_value": "Average basket value",
    "distinct_products": "Distinct products bought",
    "return_rate": "Return rate",
    "mean_days_between_purchases": "Mean days between purchases",
    "country": "Country",
}
DEFAULTS = SegmentationParams()

#: Fields shown folded away under "Advanced parameters".
ADVANCED_FIELDS = (
    "algorithms",
    "k_min",
    "k_max",
    "features",
    "seed",
    "reference_date",
    "lookback_days",
    "outliers",
    "scaler",
    "country_encoding",
    "min_segment_share",
)


class RunForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        required=False,
        help_text="Optional, e.g. “Spring review”. Shown in lists and on the dashboard.",
    )
    algorithms = forms.MultipleChoiceField(
        choices=[(a, ALGORITHM_LABELS.get(a, a)) for a in ALGORITHM_NAMES],
        initial=list(DEFAULTS.algorithms),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each is tried for every number of segments in the range; the best is chosen.",
    )
    k_min = forms.IntegerField(
        label="Fewest segments", initial=DEFAULTS.k_min, required=False, min_value=0
    )
    k_max = forms.IntegerField(
        label="Most segments", initial=DEFAULTS.k_max, required=False, min_value=0
    )
    features = forms.MultipleChoiceField(
        choices=[(f, FEATURE_LABELS.get(f, f)) for f in ALL_FEATURES],
        initial=list(DEFAULT_FEATURES),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What customers are compared on. Country is off by default: most customers "
        "are in one country, so it would dominate the split.",
    )
    seed = forms.IntegerField(
        initial=DEFAULTS.seed,
        required=False,
        help_text="The same seed on the same data gives the same segments.",
    )
    reference_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Measure recency as of this day. Empty: the day after the last purchase.",
    )
    lookback_days = forms.IntegerField(
        label="Look-back window (days)",
        required=False,
        min_value=1,
        help_text="Only count purchases this many days before the reference date. Empty: all.",
    )
    outliers = forms.ChoiceField(
        label="Outlier handling",
        choices=[
            ("log1p", "Log scale (recommended)"),
            ("cap", "Cap at the 1st and 99th percentiles"),
            ("none", "None"),
        ],
        initial=DEFAULTS.outliers,
        required=False,
    )
    scaler = forms.ChoiceField(
        choices=[
            ("standard", "Standard (mean 0, spread 1)"),
            ("minmax", "Min-max (0 to 1)"),
            ("robust", "Robust (median and quartiles)"),
        ],
        initial=DEFAULTS.scaler,
        required=False,
    )
    country_encoding = forms.ChoiceField(
        choices=[("onehot", "One column per country"), ("label", "One number per country")],
        initial=DEFAULTS.country_encoding,
        required=False,
        help_text="Used only when Country is among the features.",
    )
    min_segment_share = forms.FloatField(
        label="Smallest segment share",
        initial=DEFAULTS.min_segment_share,
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.005"}),
        help_text="A result with a segment smaller than this share of customers is not chosen.",
    )

    def params_input(self) -> dict[str, Any]:
        """The cleaned values as params_from_input expects them (empty values left out)."""
        data = dict(self.cleaned_data)
        data.pop("name", None)
        if data.get("reference_date"):
            data["reference_date"] = data["reference_date"].isoformat()
        return {k: v for k, v in data.items() if v is not None and v != ""}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        from .engine.types import InvalidParameters

        try:
            self.params = params_from_input(self.params_input())
        except InvalidParameters as error:
            self.add_engine_error(error)
        return data

    def add_engine_error(self, error) -> None:
        """Show the engine's complaint beside the field it names (else above the form)."""
        field = error.field if error.field in self.fields else None
        message = error.message
        if field is None and error.field not in ("data", "__all__"):
            message = f"{error.field}: {message}"
        # The engine speaks of its parameters ("must be an integer >= k_min"); the page
        # shows their labels.
        for name, form_field in self.fields.items():
            label = str(form_field.label or pretty_name(name))
            message = re.sub(rf"\b{re.escape(name)}\b", f"“{label.lower()}”", message)
        message = message.replace(">=", "≥").replace("<=", "≤")
        message = message[:1].upper() + message[1:]
        self.add_error(field, message if message.endswith(".") else message + ".")

    @property
    def advanced_has_errors(self) -> bool:
        return any(name in self.errors for name in ADVANCED_FIELDS)

    def basic_fields(self):
        return [self[name] for name in self.fields if name not in ADVANCED_FIELDS]

    def advanced_fields(self):
        return [self[name] for name in ADVANCED_FIELDS]


def parameter_rows(params: dict) -> list[tuple[str, str, str]]:
    """A run's stored parameters as (label, name, value) rows: the run form's labels and
    choice labels where the form has the parameter, first in the form's order; the others
    (advanced settings the form leaves at their defaults) by name."""
    fields = {name: f for name, f in RunForm.base_fields.items() if name != "name"}
    order = list(fields) + sorted(name for name in params if name not in fields)
    rows = []
    for name in order:
        if name not in params:
            continue
        value, field = params[name], fields.get(name)
        choices = dict(getattr(field, "choices", None) or [])
        values = value if isinstance(value, list | tuple) else [value]
        shown = ", ".join(str(choices.get(v, v)) for v in values)
        text = "— (default)" if value is None else shown
        label = str(field.label or pretty_name(name)) if field else pretty_name(name)
        rows.append((label, name, text))
    return rows
