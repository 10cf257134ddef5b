"""run_segmentation end to end on small synthetic data: shares, names, predictor, progress,
cancellation, validation, reproducibility, sampling at scale, and the no-Django rule."""

import subprocess
import sys
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import pytest

from clustering.engine import (
    InvalidParameters,
    SegmentationCancelled,
    SegmentationParams,
    run_segmentation,
)
from clustering.engine.features import aggregate_transactions
from clustering.engine.predictor import PredictorLoadError, SegmentPredictor
from clustering.engine.synthetic import make_customer_aggregates, make_transactions

ROOT = Path(__file__).resolve().parents[3]
SMALL = SegmentationParams(k_max=6, stability_resamples=2)


@pytest.fixture(scope="module")
def aggregates():
    return make_customer_aggregates(1500, seed=5)[0]


@pytest.fixture(scope="module")
def result(aggregates):
    return run_segmentation(aggregates, SMALL)


def test_every_algorithm_produced_candidates_with_scores_and_times(result):
    algs = {c.algorithm for c in result.candidates}
    assert algs == set(SMALL.algorithms)
    for c in result.candidates:
        assert c.fit_seconds >= 0 and c.fitted_on == result.n_customers
        if c.eligible:
            assert np.isfinite([c.silhouette, c.davies_bouldin, c.calinski_harabasz]).all()
        else:
            assert c.reason
    km = [c for c in result.candidates if c.algorithm == "kmeans"]
    assert all(c.inertia > 0 for c in km)
    assert all(c.bic is not None for c in result.candidates if c.algorithm == "gmm")
    assert result.choice.justification.count(".") >= 2


def test_shares_sum_to_one_and_names_are_unique(result):
    segs = result.segments
    assert sum(s.share_customers for s in segs) == pytest.approx(1.0)
    assert sum(s.share_revenue for s in segs) == pytest.approx(1.0)
    assert sum(s.size for s in segs) == result.n_customers
    names = [s.name for s in segs]
    assert len(set(names)) == len(names)
    for s in segs:
        assert s.action and s.rationale and s.rule
        assert 0 <= s.rule_accuracy <= 1
        assert len(s.distinguishing) == 3
        assert s.lift["monetary_total"] > 0
    splits = sum("was split" in note for note in result.notes)
    assert result.chosen.n_clusters + splits == len(segs)
    if splits:
        assert f"giving {len(segs)} segments" in result.choice.justification
    assert [s.size for s in segs] == sorted((s.size for s in segs), reverse=True)


def test_preprocessing_steps_are_recorded(result):
    steps = {s.name: s.method for s in result.preprocessing}
    assert steps == {"impute": "median", "outliers": "log1p", "scale": "standard"}


def test_predictor_reproduces_stored_segments(result):
    pred = result.predictor
    feats = result.features[list(pred.feature_names)]
    seg, conf = pred.predict(feats)
    np.testing.assert_array_equal(seg, result.assignments["segment_id"].to_numpy())
    assert ((conf >= 0) & (conf <= 1)).all()
    for cid, row in list(feats.iterrows())[:30]:
        one = pred.predict_one(row.to_dict())
        expected = result.assignments.set_index("customer_id").loc[cid, "segment_id"]
        assert one[0] == expected
    assert result.surrogate_agreement == pytest.approx(1.0)


def test_rfm_grid_and_pca(result):
    scores = result.rfm.scores
    assert scores[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    assert scores["r_score"].value_counts().min() >= 0.19 * len(scores)
    assert result.rfm.crosstab.to_numpy().sum() == result.n_customers
    assert -1 <= result.rfm.adjusted_rand <= 1
    assert len(result.pca.coordinates) == min(result.n_customers, SMALL.pca_sample_size)
    assert 0 < sum(result.pca.explained_variance_ratio) <= 1


def test_predictor_round_trips_through_joblib(result, tmp_path):
    path = tmp_path / "predictor.joblib"
    result.predictor.save(path)
    fp = result.predictor.metadata["fingerprint"]
    loaded = SegmentPredictor.load(path, expected_fingerprint=fp)
    feats = result.features[list(loaded.feature_names)]
    np.testing.assert_array_equal(loaded.predict(feats)[0], result.predictor.predict(feats)[0])
    assert loaded.metadata["feature_names"] == list(SMALL.features)
    assert loaded.metadata["versions"]["scikit-learn"]
    assert loaded.segment_names == tuple(s.name for s in result.segments)


def test_mismatched_metadata_fails_clearly(result, tmp_path):
    path = tmp_path / "p.joblib"
    result.predictor.save(path)
    with pytest.raises(PredictorLoadError, match="fingerprint"):
        SegmentPredictor.load(path, expected_fingerprint="0" * 64)
    payload = joblib.load(path)
    payload["metadata"]["versions"]["scikit-learn"] = "0.24.2"
    joblib.dump(payload, tmp_path / "old.joblib")
    with pytest.raises(PredictorLoadError, match="scikit-learn 0.24.2"):
        SegmentPredictor.load(tmp_path / "old.joblib")
    payload["format_version"] = 999
    joblib.dump(payload, tmp_path / "future.joblib")
    with pytest.raises(PredictorLoadError, match="format version 999"):
        SegmentPredictor.load(tmp_path / "future.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(PredictorLoadError):
        SegmentPredictor.load(tmp_path / "junk.joblib")


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "birch", "spectral", "agglomerative"])
def test_each_model_kind_predicts_fast_and_consistently(aggregates, algorithm):
    params = SegmentationParams(algorithms=(algorithm,), k_min=3, k_max=5, stability_resamples=1)
    r = run_segmentation(aggregates.iloc[:600], params)
    pred = r.predictor
    feats = r.features[list(pred.feature_names)]
    np.testing.assert_array_equal(pred.predict(feats)[0], r.assignments["segment_id"])
    if algorithm in ("kmeans", "gmm", "birch"):
        assert r.surrogate_agreement == pytest.approx(1.0)
    else:
        assert r.surrogate_agreement >= 0.8
    row = feats.iloc[0].to_dict()
    # The single-customer path (the API's predict) builds no DataFrame and asks the model
    # once per call for one row; how fast it is, bench/bench_predict.py measures.
    no_pandas = mock.patch("pandas.DataFrame", side_effect=AssertionError("pandas on fast path"))
    asks = mock.patch.object(pred, "predict_transformed", wraps=pred.predict_transformed)
    with no_pandas, asks as model:
        for _ in range(3):
            seg, conf = pred.predict_one(row)
    assert [call.args[0].shape[0] for call in model.call_args_list] == [1, 1, 1]
    assert 0 <= conf <= 1
    seg_dicts, _ = pred.predict([row, {**row, "frequency": None}])
    assert seg_dicts[0] == seg


def test_same_seed_same_labels_and_other_seed_runs(aggregates):
    data = aggregates.iloc[:500]
    params = SegmentationParams(k_max=5, stability_resamples=1)
    a = run_segmentation(data, params)
    b = run_segmentation(data, params)
    np.testing.assert_array_equal(a.assignments["segment_id"], b.assignments["segment_id"])
    np.testing.assert_array_equal(
        [c.silhouette for c in a.candidates], [c.silhouette for c in b.candidates]
    )
    assert a.choice.justification == b.choice.justification


def test_progress_is_reported_and_cancellation_stops_the_run(aggregates):
    seen = []
    params = SegmentationParams(algorithms=("kmeans", "birch"), k_max=4, stability_resamples=1)
    run_segmentation(aggregates.iloc[:400], params, progress=lambda s, p: seen.append((s, p)))
    percents = [p for _, p in seen]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any(s.startswith("candidates:kmeans") for s, _ in seen)
    calls = []

    def cancel_after_five():
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(SegmentationCancelled):
        run_segmentation(aggregates.iloc[:400], params, should_cancel=cancel_after_five)
    assert len(calls) == 6


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"k_min": 1}, "k_min"),
        ({"k_min": 5, "k_max": 4}, "k_max"),
        ({"k_max": 99}, "k_max"),
        ({"algorithms": ()}, "algorithms"),
        ({"algorithms": ("kmeans", "hdbscan")}, "algorithms"),
        ({"features": ("recency_days", "age")}, "features"),
        ({"features": ("country",)}, "features"),
        ({"scaler": "quantile"}, "scaler"),
        ({"outliers": "winsor"}, "outliers"),
        ({"min_segment_share": 1.5}, "min_segment_share"),
        ({"lookback_days": 0}, "lookback_days"),
        ({"seed": -1}, "seed"),
        ({"practical_k": (5, 3)}, "practical_k"),
    ],
)
def test_invalid_parameters_are_rejected(aggregates, changes, field):
    params = SegmentationParams(**changes)
    with pytest.raises(InvalidParameters) as err:
        run_segmentation(aggregates.iloc[:200], params)
    assert err.value.field == field


def test_too_few_customers_for_k(aggregates):
    with pytest.raises(InvalidParameters) as err:
        run_segmentation(aggregates.iloc[:50], SegmentationParams(k_max=10))
    assert err.value.field == "k_max" and "too few" in err.value.message


def test_transactions_and_aggregates_give_the_same_segments():
    lines = make_transactions(300, seed=2)
    params = SegmentationParams(algorithms=("kmeans",), k_max=5, stability_resamples=1)
    from_lines = run_segmentation(lines, params)
    agg, ref = aggregate_transactions(lines)
    from_agg = run_segmentation(
        agg, SegmentationParams(**{**params.__dict__, "reference_date": ref})
    )
    np.testing.assert_array_equal(
        from_lines.assignments["segment_id"], from_agg.assignments["segment_id"]
    )


def test_large_inputs_are_sampled_and_say_so():
    agg, _ = make_customer_aggregates(3000, seed=9)
    params = SegmentationParams(
        k_min=3,
        k_max=5,
        quadratic_sample_size=400,
        linear_sample_size=1000,
        silhouette_sample_size=800,
        stability_resamples=1,
        stability_sample_size=500,
    )
    r = run_segmentation(agg, params)
    by_alg = {c.algorithm: c.fitted_on for c in r.candidates}
    assert by_alg["spectral"] == by_alg["agglomerative"] == by_alg["dbscan"] == 400
    assert by_alg["gmm"] == by_alg["birch"] == 1000 and by_alg["kmeans"] == 3000
    assert all(c.silhouette_sampled for c in r.candidates)
    notes = " ".join(r.notes)
    assert "sample of 400" in notes and "sample of 800" in notes
    assert len(r.assignments) == 3000


def test_kept_non_positive_customers_are_flagged(aggregates):
    agg = aggregates.iloc[:300].copy()
    agg.loc[agg.index[:3], "returned_revenue"] = agg.loc[agg.index[:3], "gross_revenue"]
    kept = run_segmentation(
        agg, SegmentationParams(k_max=4, algorithms=("kmeans",), non_positive_monetary="keep")
    )
    assert kept.flagged == {"non_positive_monetary": 3} and kept.n_customers == 300
    dropped = run_segmentation(agg, SegmentationParams(k_max=4, algorithms=("kmeans",)))
    assert dropped.excluded == {"non_positive_monetary": 3} and dropped.n_customers == 297
    assert any("non positive" in n for n in dropped.notes)


def test_engine_never_imports_django():
    code = (
        "import importlib, pkgutil, sys\n"
        "import clustering.engine as e\n"
        "for m in pkgutil.iter_modules(e.__path__):\n"
        "    importlib.import_module('clustering.engine.' + m.name)\n"
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
        "assert not bad, bad\n"
        "print(len([m for m in sys.modules if m.startswith('clustering.engine')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 14
