"""Preprocessing steps, each a parameter and each recorded; country encoding in the predictor."""

import numpy as np
import pandas as pd
import pytest

from clustering.engine import SegmentationParams, run_segmentation
from clustering.engine.preprocess import Preprocessor
from clustering.engine.synthetic import make_customer_aggregates
from clustering.engine.types import InvalidParameters


@pytest.fixture
def feats():
    return pd.DataFrame(
        {
            "frequency": [1.0, 2.0, np.nan, 4.0, 100.0],
            "monetary_total": [10.0, 20.0, 30.0, 40.0, 10_000.0],
            "country": ["UK", "UK", "UK", "France", "Japan"],
        }
    )


def test_median_imputation_log_and_standard_scaling(feats):
    pre = Preprocessor(("frequency", "monetary_total"))
    X = pre.fit_transform(feats)
    assert pre.fill[0] == 3.0  # median of 1, 2, 4, 100
    expected = np.log1p(np.array([1, 2, 3, 4, 100.0]))
    np.testing.assert_allclose(X[:, 0], (expected - expected.mean()) / expected.std())
    assert [s.name for s in pre.steps] == ["impute", "outliers", "scale"]
    assert pre.steps[0].detail["filled"] == {"frequency": 1}


def test_quantile_capping_and_minmax(feats):
    pre = Preprocessor(
        ("monetary_total",), outliers="cap", cap_quantiles=(0.0, 0.75), scaler="minmax"
    )
    X = pre.fit_transform(feats)
    assert X.min() == 0 and X.max() == 1
    assert X[3, 0] == X[4, 0] == 1  # 10,000 capped at the 75th percentile (40)
    assert pre.steps[1].detail["clipped"] == 1


def test_robust_scaler_centres_on_the_median(feats):
    X = Preprocessor(("monetary_total",), outliers="none", scaler="robust").fit_transform(feats)
    assert X[2, 0] == 0.0  # the median customer


def test_one_hot_country_groups_rare_countries(feats):
    pre = Preprocessor(("monetary_total", "country"), rare_country_share=0.3)
    X = pre.fit_transform(feats)
    assert pre.countries == ("UK", "Other")
    assert X.shape == (5, 3)
    np.testing.assert_array_equal(X[:, 1:], [[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]])
    assert pre.steps[2].detail["grouped_as_other"] == 2
    unseen = pre.transform({"monetary_total": 5.0, "country": "Peru"})
    np.testing.assert_array_equal(unseen[0, 1:], [0, 1])


def test_label_encoding_is_one_scaled_column(feats):
    pre = Preprocessor(
        ("monetary_total", "country"), country_encoding="label", rare_country_share=0.3
    )
    X = pre.fit_transform(feats)
    assert X.shape == (5, 2) and pre.output_names == ("monetary_total", "country_code")


def test_unknown_methods_are_invalid():
    with pytest.raises(InvalidParameters) as err:
        Preprocessor(("frequency",), scaler="l2")
    assert err.value.field == "scaler"


def test_run_with_country_and_other_preprocessing_records_every_step():
    agg, _ = make_customer_aggregates(400, seed=3)
    params = SegmentationParams(
        features=("recency_days", "frequency", "monetary_total", "country"),
        algorithms=("kmeans",),
        k_max=5,
        outliers="cap",
        scaler="robust",
        stability_resamples=1,
    )
    r = run_segmentation(agg, params)
    assert [(s.name, s.method) for s in r.preprocessing] == [
        ("impute", "median"),
        ("outliers", "cap"),
        ("encode", "onehot"),
        ("scale", "robust"),
    ]
    row = r.features.iloc[0][list(params.features)].to_dict()
    seg, conf = r.predictor.predict_one(row)
    assert seg == r.assignments["segment_id"].iloc[0] and 0 <= conf <= 1
    seg2, _ = r.predictor.predict_one({**row, "country": "Atlantis"})
    assert 0 <= seg2 < len(r.segments)
