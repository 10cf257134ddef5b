"""The form that starts a segmentation run.

Its parameter fields come from clustering.params.RUN_PARAMETERS (labels, help, choices,
defaults). Django checks the types (a number is a number); the engine's own validation
(clustering.params.params_from_input) checks everything else, and its
InvalidParameters(field, message) is shown beside that field in the field's own words.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms.utils import pretty_name

from .params import (
    FORM_PARAMETERS,
    RunParameter,
    params_from_input,
)

#: Fields shown folded away under "Advanced parameters": every parameter on the form.
ADVANCED_FIELDS = tuple(p.name for p in FORM_PARAMETERS)


def _bounds(parameter: RunParameter) -> dict[str, str]:
    """The API's bounds as the browser's hints; the engine checks ranges, in the field's words."""
    attrs = {"min": parameter.minimum, "max": parameter.maximum, "step": parameter.step}
    return {k: str(v) for k, v in attrs.items() if v is not None}


def parameter_form_field(parameter: RunParameter) -> forms.Field:
    """The form field for a run parameter: optional, its initial value the engine's default."""
    default = parameter.default
    common: dict[str, Any] = {
        "label": parameter.label,
        "help_text": parameter.help,
        "required": False,
    }
    if parameter.kind == "multiple":
        return forms.MultipleChoiceField(
            choices=parameter.choices,
            initial=list(default),
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if parameter.kind == "choice":
        return forms.ChoiceField(choices=parameter.choices, initial=default, **common)
    if parameter.kind == "date":
        widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        return forms.DateField(initial=default, widget=widget, **common)
    if parameter.kind == "int":
        widget = forms.NumberInput(attrs=_bounds(parameter))
        return forms.IntegerField(initial=default, widget=widget, **common)
    if parameter.kind == "float":
        widget = forms.NumberInput(attrs=_bounds(parameter))
        return forms.FloatField(initial=default, widget=widget, **common)
    raise ValueError(f"{parameter.name}: no form field for kind {parameter.kind!r}")


class RunForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        required=False,
        help_text="Optional, e.g. “Spring review”. Shown in lists and on the dashboard.",
    )

    def __init__(self, *args, shop_k_max: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update({p.name: parameter_form_field(p) for p in FORM_PARAMETERS})
        # A small shop's most segments (clustering.runs.lifecycle.shop_k_max): the field is
        # left empty to take it (and a schedule's repeat, the limit of its day); a number
        # typed, even the same one, is the manager's.
        self.shop_k_max = shop_k_max
        self.k_max_by_shop_size = False
        if shop_k_max is not None:
            field = self.fields["k_max"]
            field.initial = None
            field.widget.attrs["placeholder"] = str(shop_k_max)
            field.help_text = (
                f"{field.help_text} Left empty: {shop_k_max}, the most this shop's customers "
                "allow, and more as the shop grows when a schedule repeats the run; a number "
                "typed here is kept."
            )

    def params_input(self) -> dict[str, Any]:
        """The cleaned values as params_from_input expects them (empty values left out)."""
        data = dict(self.cleaned_data)
        data.pop("name", None)
        if data.get("reference_date"):
            data["reference_date"] = data["reference_date"].isoformat()
        if data.get("k_max") in (None, "") and self.shop_k_max is not None:
            data["k_max"] = self.shop_k_max
            self.k_max_by_shop_size = True
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


class PlaybookForm(forms.Form):
    action = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        required=False,
        help_text="What marketing should do with a segment of this name. Empty: the default.",
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
        required=False,
        help_text="Why, in a sentence (shown under the action).",
    )
