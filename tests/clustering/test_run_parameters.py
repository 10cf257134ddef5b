"""The run parameters, the run's JSON fields and the assignment's feature columns are each
declared once; the form, the API and the queries use those declarations."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clustering.engine.preprocess import ENCODINGS, IMPUTE, OUTLIERS, SCALERS
from clustering.engine.types import (
    ALGORITHM_NAMES,
    ALL_FEATURES,
    NUMERIC_FEATURES,
    SegmentationParams,
)
from clustering.engine.vocabulary import ALGORITHM_LABELS
from clustering.forms import ADVANCED_FIELDS, RunForm
from clustering.models import SegmentAssignment, SegmentationRun
from clustering.params import FORM_PARAMETERS, RUN_PARAMETERS, USER_PARAMETERS
from clustering.serializers import RunCreateSerializer


def test_every_run_parameter_is_a_field_of_the_engines_params_with_its_default():
    fields = {f.name: f for f in dataclasses.fields(SegmentationParams)}
    assert len(USER_PARAMETERS) == len(set(USER_PARAMETERS)) == 18
    for parameter in RUN_PARAMETERS:
        assert parameter.name in fields
        assert parameter.default == getattr(SegmentationParams(), parameter.name)
        assert parameter.label and parameter.kind in ("multiple", "choice", "int", "float", "date")


def test_choices_are_the_engines_allowed_values():
    allowed = {
        "algorithms": ALGORITHM_NAMES,
        "features": ALL_FEATURES,
        "non_positive_monetary": ("exclude", "keep"),
        "impute": IMPUTE,
        "outliers": OUTLIERS,
        "scaler": SCALERS,
        "country_encoding": ENCODINGS,
    }
    with_choices = {p.name: p for p in RUN_PARAMETERS if p.choices}
    assert set(with_choices) == set(allowed)
    for name, values in allowed.items():
        assert tuple(value for value, _label in with_choices[name].choices) == tuple(values)


def test_the_form_exposes_exactly_the_declared_form_parameters():
    form = RunForm()
    assert list(form.fields) == ["name", *(p.name for p in FORM_PARAMETERS)]
    assert tuple(p.name for p in FORM_PARAMETERS) == ADVANCED_FIELDS
    for parameter in FORM_PARAMETERS:
        field = form.fields[parameter.name]
        assert field.label == parameter.label and not field.required
        if parameter.choices:
            assert list(field.choices) == list(parameter.choices)
    # The algorithm choices say each algorithm as the vocabulary does, with the form's note.
    algorithms = dict(form.fields["algorithms"].choices)
    assert {a: label.split(" (")[0] for a, label in algorithms.items()} == ALGORITHM_LABELS


def test_the_api_exposes_exactly_the_declared_parameters():
    fields = RunCreateSerializer().fields
    assert set(fields) == {"name", *USER_PARAMETERS}
    assert fields["k_max"].max_value == 100 and fields["seed"].max_value == 2**31 - 1
    assert fields["lookback_days"].allow_null and fields["reference_date"].allow_null
    assert not fields["k_min"].allow_null


def test_the_assignments_feature_columns_are_the_engines_numeric_features():
    assert SegmentAssignment.FEATURE_FIELDS == NUMERIC_FEATURES
    columns = [f.name for f in SegmentAssignment._meta.concrete_fields]
    assert [c for c in columns if c in NUMERIC_FEATURES] == list(NUMERIC_FEATURES)
    # every numeric feature has its own nullable float column, in the engine's order
    start = columns.index(NUMERIC_FEATURES[0])
    assert columns[start : start + len(NUMERIC_FEATURES)] == list(NUMERIC_FEATURES)


def test_report_data_fields_are_the_runs_json_fields():
    json_fields = [
        f.name
        for f in SegmentationRun._meta.concrete_fields
        if f.get_internal_type() == "JSONField"
    ]
    assert SegmentationRun.report_data_fields() == json_fields
    assert {"params", "pca", "rfm_comparison", "activity_rhythm"} <= set(json_fields)
    assert SegmentationRun.report_data_fields(through="run__", keep=("params",)) == [
        f"run__{name}" for name in json_fields if name != "params"
    ]


@pytest.mark.django_db
def test_without_report_data_leaves_the_json_fields_behind(django_user_model, shop):
    user = django_user_model.objects.create(username="someone")
    SegmentationRun.objects.create(
        workspace=shop, created_by=user, params={"k_min": 2}, pca={"points": []}
    )
    with CaptureQueriesContext(connection) as queries:
        (run,) = SegmentationRun.objects.in_workspace(shop).without_report_data("params")
        assert run.params == {"k_min": 2}
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert '"params"' in sql and '"pca"' not in sql and '"stability"' not in sql
    assert run.get_deferred_fields() == set(SegmentationRun.report_data_fields(keep=("params",)))
