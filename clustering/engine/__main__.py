"""python -m clustering.engine FILE [--algorithms ...] [--k-min 2 --k-max 10] [--seed 42]

Reads an Online Retail or CDNOW CSV(.gz) (detected by its header), runs the segmentation and
prints the candidate table, the choice with its justification and the segments.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from .loaders import read_transactions
from .pipeline import describe_candidates, run_segmentation
from .types import ALGORITHM_NAMES, DEFAULT_FEATURES, InvalidParameters, SegmentationParams


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clustering.engine", description=__doc__)
    ap.add_argument("file")
    ap.add_argument("--algorithms", nargs="+", default=list(ALGORITHM_NAMES))
    ap.add_argument("--features", nargs="+", default=list(DEFAULT_FEATURES))
    ap.add_argument("--k-min", type=int, default=2)
    ap.add_argument("--k-max", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scaler", default="standard")
    ap.add_argument("--outliers", default="log1p")
    ap.add_argument("--lookback-days", type=int, default=None)
    ap.add_argument("--save-predictor", default=None, help="write the predictor (joblib)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    lines = read_transactions(args.file)
    params = SegmentationParams(
        features=tuple(args.features),
        algorithms=tuple(args.algorithms),
        k_min=args.k_min,
        k_max=args.k_max,
        seed=args.seed,
        scaler=args.scaler,
        outliers=args.outliers,
        lookback_days=args.lookback_days,
    )
    try:
        result = run_segmentation(lines, params)
    except InvalidParameters as exc:
        print(f"invalid parameter {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0

    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(
            f"{len(lines):,} lines -> {result.n_customers:,} customers "
            f"(reference date {result.reference_date.date()}); {elapsed:.1f} s\n"
        )
        print(describe_candidates(result).round(3).to_string(index=False))
        print("\nChoice:", result.choice.justification, "\n")
        rows = [
            {
                "segment": s.name,
                "customers": s.size,
                "share": f"{s.share_customers:.1%}",
                "revenue": f"{s.share_revenue:.1%}",
                "recency": s.medians["recency_days"],
                "orders": s.medians["frequency"],
                "spend": round(s.medians["monetary_total"]),
                "rule": f"{s.rule} ({s.rule_accuracy:.0%})",
            }
            for s in result.segments
        ]
        print(pd.DataFrame(rows).to_string(index=False))
        print()
        for s in result.segments:
            print(f"- {s.name}: {s.action}")
        print(f"\nRFM grid vs clusters: adjusted Rand {result.rfm.adjusted_rand:.2f}")
        for note in result.notes:
            print("note:", note)
    if args.save_predictor:
        result.predictor.save(args.save_predictor)
        print("predictor saved to", args.save_predictor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
