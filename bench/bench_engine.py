"""Benchmark the segmentation engine against a plain scikit-learn loop, in the same run.

    python bench/bench_engine.py [--quick]

Cases: the Online Retail customers (from the real file), and 100,000 and 1,000,000 synthetic
customers (clustering.engine.synthetic, heavy-tailed spend).  Each case runs in its own
subprocess, so its wall time and peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss`` reported by
the child at exit: imports, data and everything) are its own.  ``--quick`` runs only Online
Retail.

Engine = ``run_segmentation`` (7 algorithms, k=2..10, three metrics, choice, stability,
profiles, names, RFM grid, PCA).  Naive = for every algorithm and k the textbook call on the
same scaled matrix (``KMeans(k)``, ``GaussianMixture(k)`` on all rows, ``Birch(n_clusters=k)``
with the default threshold refitted per k, ``AgglomerativeClustering(k)``,
``SpectralClustering(k, affinity="nearest_neighbors")``, ``DBSCAN`` at the engine's three eps
values) followed by ``silhouette_score`` on all rows (sklearn's ``sample_size=10000`` above
20,000 rows, where the full score takes about a minute per candidate), Davies-Bouldin and
Calinski-Harabasz.  Quadratic algorithms are skipped above the sizes where they exhaust
memory (see docs/PERFORMANCE-NOTES.md) and reported as n/a.  A naive case that exceeds its
time budget is killed and reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from sample_files import ONLINE_RETAIL

ROOT = Path(__file__).resolve().parents[1]
RETAIL = Path(os.environ.get("ONLINE_RETAIL_CSV", ONLINE_RETAIL))
NAIVE_BUDGET_S = int(os.environ.get("BENCH_NAIVE_BUDGET_S", "420"))
# above these sizes the textbook call runs out of memory / time (PERFORMANCE-NOTES.md)
NAIVE_LIMITS = {"agglomerative": 30_000, "spectral": 15_000, "dbscan": 50_000}


def emit(**kw) -> None:
    print("BENCH " + json.dumps(kw), flush=True)


def load_case(name: str):
    """(data for run_segmentation, n customers) - synthetic aggregates or real lines."""
    if name == "retail":
        from clustering.engine.loaders import read_online_retail

        return read_online_retail(RETAIL)
    from clustering.engine.synthetic import make_customer_aggregates

    n = {"synth100k": 100_000, "synth1m": 1_000_000}[name]
    return make_customer_aggregates(n, seed=1)[0]


def synthetic_calibration(case: str, data):
    """The synthetic case's holdout input, so its value stage checks a holdout as a worker's
    run does (the database's calibration GROUP BYs are not the engine's time): the same
    customers' invoice lines (synthetic.make_transactions, same seed) aggregated as of the
    last 25% of days, and their purchase days per day."""
    import pandas as pd

    from clustering.engine.features import aggregate_transactions
    from clustering.engine.synthetic import REFERENCE_DATE, make_transactions
    from clustering.engine.types import Calibration
    from clustering.engine.value import calibration_end, daily_purchase_days

    lines = make_transactions(len(data), seed=1)
    end = calibration_end(pd.to_datetime(lines["timestamp"]).min(), REFERENCE_DATE)
    return Calibration(
        aggregate_transactions(lines, end)[0], end, daily_purchase_days(lines, end, REFERENCE_DATE)
    )


def run_engine(case: str) -> None:
    from clustering.engine import SegmentationParams, run_segmentation

    t = time.perf_counter()
    data = load_case(case)
    calibration = synthetic_calibration(case, data) if case != "retail" else None
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    r = run_segmentation(data, SegmentationParams(), calibration=calibration)
    wall = time.perf_counter() - t
    c = r.chosen
    emit(
        method="engine",
        customers=r.n_customers,
        load_s=load_s,
        wall_s=wall,
        candidates=len(r.candidates),
        chosen=f"{c.algorithm} k={c.n_clusters} sil={c.silhouette:.3f} "
        f"DB={c.davies_bouldin:.3f} CH={c.calinski_harabasz:,.0f}",
        segments=", ".join(f"{s.name} {s.share_customers:.0%}" for s in r.segments),
        stability=r.stability.mean_adjusted_rand,
        timings={k: round(v, 2) for k, v in r.timings.items()},
        holdout_error=r.value.holdout["error"] if r.value and r.value.holdout else None,
    )


def run_naive(case: str) -> None:
    import numpy as np
    from sklearn.cluster import (
        DBSCAN,
        AgglomerativeClustering,
        Birch,
        KMeans,
        MiniBatchKMeans,
        SpectralClustering,
    )
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
    from sklearn.mixture import GaussianMixture

    from clustering.engine.algorithms import DBSCAN_EPS_FACTORS, dbscan_eps
    from clustering.engine.features import aggregate_transactions, features_from_aggregates
    from clustering.engine.preprocess import Preprocessor
    from clustering.engine.types import AGGREGATE_COLUMNS, ALGORITHM_NAMES, DEFAULT_FEATURES

    t = time.perf_counter()
    data = load_case(case)
    load_s = time.perf_counter() - t
    t0 = time.perf_counter()
    agg = data if set(AGGREGATE_COLUMNS) <= set(data.columns) else aggregate_transactions(data)[0]
    feats = features_from_aggregates(agg).features
    X = Preprocessor(DEFAULT_FEATURES).fit_transform(feats)
    n = len(X)
    ks = range(2, 11)
    d = X.shape[1]
    min_samples = max(5, 2 * d)

    def score(labels):
        if len(set(labels.tolist())) < 2:
            return
        if n <= 20_000:
            silhouette_score(X, labels)
        else:
            silhouette_score(X, labels, sample_size=10_000, random_state=0)
        davies_bouldin_score(X, labels)
        calinski_harabasz_score(X, labels)

    makers = {
        "kmeans": lambda k: KMeans(n_clusters=k, random_state=0),
        "minibatch_kmeans": lambda k: MiniBatchKMeans(n_clusters=k, random_state=0),
        "gmm": lambda k: GaussianMixture(n_components=k, random_state=0),
        "agglomerative": lambda k: AgglomerativeClustering(n_clusters=k),
        "birch": lambda k: Birch(n_clusters=k),
        "spectral": lambda k: SpectralClustering(
            n_clusters=k, affinity="nearest_neighbors", random_state=0
        ),
    }
    done = 0
    skipped = []
    for name in ALGORITHM_NAMES:  # the baseline keeps all seven, MiniBatch included
        t = time.perf_counter()
        if n > NAIVE_LIMITS.get(name, 10**12):
            skipped.append(name)
            emit(method="naive-progress", algorithm=name, skipped="n/a: exceeds memory")
            continue
        if name == "dbscan":
            eps0 = dbscan_eps(X, min_samples)
            for f in DBSCAN_EPS_FACTORS:
                score(DBSCAN(eps=eps0 * f, min_samples=min_samples).fit_predict(X))
                done += 1
        else:
            for k in ks:
                est = makers[name](k)
                labels = (
                    est.fit_predict(X) if hasattr(est, "fit_predict") else est.fit(X).predict(X)
                )
                score(np.asarray(labels))
                done += 1
        emit(method="naive-progress", algorithm=name, seconds=time.perf_counter() - t)
    emit(
        method="naive",
        customers=n,
        load_s=load_s,
        wall_s=time.perf_counter() - t0,
        candidates=done,
        skipped=skipped,
    )


def preprocessing_report() -> None:
    """Why log1p + Standard is the default: per-feature variance share after scaling, how much
    each feature drives a K-Means (k=5) split (its share of the between-cluster sum of
    squares), and how well the segments separate customers on each raw feature (eta^2 of the
    feature's ranks against the segments), on the Online Retail customers."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    from clustering.engine.features import customer_features
    from clustering.engine.loaders import read_online_retail
    from clustering.engine.preprocess import Preprocessor
    from clustering.engine.types import DEFAULT_FEATURES

    feats = customer_features(read_online_retail(RETAIL)).features
    cols = list(DEFAULT_FEATURES)
    ranks = feats[cols].rank().to_numpy()
    short = {
        "recency_days": "R",
        "frequency": "F",
        "monetary_total": "M",
        "tenure_days": "T",
        "avg_basket_value": "B",
    }
    head = " / ".join(short[c] for c in cols)
    print(f"Online Retail, {len(feats):,} customers, features {head} = " + ", ".join(cols))
    print(
        f"| preprocessing | variance share {head} | between-cluster SS share {head} "
        f"| eta2 of raw ranks {head} | silhouette k=5 | F,M below 0.05 |"
    )
    print("|---|---|---|---|---|---|")
    for outliers, scaler in (
        ("none", "minmax"),
        ("none", "standard"),
        ("cap", "standard"),
        ("log1p", "minmax"),
        ("log1p", "standard"),
    ):
        X = Preprocessor(tuple(cols), outliers=outliers, scaler=scaler).fit_transform(feats)
        var = X.var(axis=0)
        with threadpool_limits(1):
            lab = KMeans(n_clusters=5, n_init=4, random_state=42).fit_predict(X)
        mu = X.mean(axis=0)
        between = np.zeros(X.shape[1])
        eta = np.zeros(X.shape[1])
        for k in range(5):
            m = lab == k
            between += m.sum() * (X[m].mean(axis=0) - mu) ** 2
            eta += m.sum() * (ranks[m].mean(axis=0) - ranks.mean(axis=0)) ** 2
        eta /= ((ranks - ranks.mean(axis=0)) ** 2).sum(axis=0)
        low = ""
        if scaler == "minmax":
            low = " / ".join(
                f"{np.mean(X[:, cols.index(c)] < 0.05):.0%}"
                for c in ("frequency", "monetary_total")
            )
        fmt = lambda v: " / ".join(f"{x:.2f}" for x in v)  # noqa: E731
        sil = silhouette_score(X, lab)
        print(
            f"| {outliers} + {scaler} | {fmt(var / var.sum())} | "
            f"{fmt(between / between.sum())} | {fmt(eta)} | {sil:.3f} | {low} |"
        )


def child(case_spec: str) -> None:
    method, case = case_spec.split(":")
    (run_engine if method == "engine" else run_naive)(case)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    emit(method="peak", peak_rss_mib=peak)


def run_case(spec: str, budget: int | None) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--case", spec],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    # peak of the (finished or killed) child, from the kernel's accounting of our children
    info: dict = {"process_s": time.perf_counter() - t, "timed_out": timed_out, "progress": []}
    for line in out.splitlines():
        if line.startswith("BENCH "):
            rec = json.loads(line[6:])
            if rec["method"] == "naive-progress":
                info["progress"].append(rec)
            else:
                info.update(rec)
    if proc.returncode not in (0, None) and not timed_out:
        info["error"] = err.strip().splitlines()[-1] if err.strip() else f"rc={proc.returncode}"
    return info


def fmt_row(case: str, spec: str, info: dict) -> str:
    method = spec.split(":")[0]
    n = f"{info['customers']:,}" if "customers" in info else "?"
    if info.get("timed_out"):
        done = ", ".join(
            f"{p['algorithm']} {p['seconds']:.0f}s" if "seconds" in p else f"{p['algorithm']} n/a"
            for p in info["progress"]
        )
        wall = f"> {NAIVE_BUDGET_S} (killed)"
        note = f"timed out; finished: {done or 'none'}"
    elif "error" in info:
        wall, note = "error", info["error"]
    else:
        wall = f"{info['wall_s']:.1f}"
        if method == "engine":
            note = f"{info['chosen']}; stability ARI {info['stability']:.2f}; {info['segments']}"
        else:
            parts = [
                f"{p['algorithm']} {p['seconds']:.1f}s"
                if "seconds" in p
                else f"{p['algorithm']} n/a: exceeds memory"
                for p in info["progress"]
            ]
            note = "; ".join(parts)
    peak = f"{info['peak_rss_mib']:,.0f}" if "peak_rss_mib" in info else "n/a (killed)"
    cands = info.get("candidates", "-")
    return f"| {case} | {n} | {method} | {wall} | {peak} | {cands} | {note} |"


def print_value_stage(
    stages: dict[str, dict], walls: dict[str, float], errors: dict[str, float | None]
) -> None:
    """The value stage (models, holdout check) beside the rest of the engine's run: what it
    adds to the run without it (target: at most 15% on Online Retail)."""
    print(
        "\n| case | value stage s (fit + holdout check) | engine run s | adds to the run "
        "without it | holdout error |"
    )
    print("|---|---:|---:|---:|---:|")
    for case, timings in stages.items():
        value, wall = timings.get("value", 0.0), walls[case]
        error = errors.get(case)
        shown = "n/a" if error is None else f"{error:+.1%}"
        print(
            f"| {case} | {value:.2f} | {wall:.1f} | {value / max(wall - value, 1e-9):.1%} "
            f"| {shown} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="only the Online Retail case")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument(
        "--preprocessing", action="store_true", help="only the default-preprocessing evidence"
    )
    args = ap.parse_args()
    if args.preprocessing:
        preprocessing_report()
        return
    if args.case:
        child(args.case)
        return
    cases = ["retail"] if args.quick else ["retail", "synth100k", "synth1m"]
    labels = {
        "retail": "Online Retail",
        "synth100k": "synthetic 100k",
        "synth1m": "synthetic 1M",
    }
    print("| case | customers | method | wall s | peak RSS MiB | candidates | result / notes |")
    print("|---|---|---|---|---|---|---|")
    stages, walls, errors = {}, {}, {}
    for case in cases:
        for method in ("engine", "naive"):
            spec = f"{method}:{case}"
            info = run_case(spec, NAIVE_BUDGET_S if method == "naive" else None)
            print(fmt_row(labels[case], spec, info), flush=True)
            if method == "engine" and "timings" in info:
                stages[labels[case]] = info["timings"]
                walls[labels[case]] = info["wall_s"]
                errors[labels[case]] = info.get("holdout_error")
    if stages:
        print("\nEngine stage timings (s):\n")
        for case, t in stages.items():
            print(f"- {case}: " + ", ".join(f"{k} {v}" for k, v in t.items()))
        print_value_stage(stages, walls, errors)
    print(
        "\nwall s = the sweep after loading (features, preprocessing, all candidates and, for "
        "the engine, choice/stability/profiles/RFM/PCA); peak RSS = the case's own process."
    )


if __name__ == "__main__":
    main()
