"""Segment quality on five datasets: `make quality`.

For Online Retail, CDNOW (sample_data/), synthetic customers with planted groups, a shop of
weekly buyers whose purchases follow BG/NBD (a grocer's rhythm) and a large synthetic
heavy-tailed shop (400,000 customers: the algorithms' sampled paths), segments
each dataset with seeds 1..5 and prints the chosen algorithm and k, stability, sizes, names
with their conditions checked, the top segment's revenue against its customers, pairwise
agreement across seeds and, for the planted data, how well the groups are recovered.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from clustering.engine import quality  # noqa: E402
from clustering.engine.loaders import read_transactions  # noqa: E402
from clustering.engine.synthetic import (  # noqa: E402
    make_customer_aggregates,
    make_planted_aggregates,
    make_weekly_shop_lines,
)

SAMPLE_DATA = ROOT / "sample_data"
LARGE_SHOP = 400_000
WEEKLY_SHOP = 20_000
DATASETS = {
    "Online Retail": SAMPLE_DATA / "online_retail" / "online_retail.csv.gz",
    "CDNOW": SAMPLE_DATA / "cdnow" / "cdnow_master.csv.gz",
}


def main() -> int:
    sweeps = []
    with threadpool_limits(limits=1):
        for name, path in DATASETS.items():
            t = time.perf_counter()
            sweeps.append(quality.sweep(name, read_transactions(path)))
            print(f"[{name}: {time.perf_counter() - t:.0f} s]", file=sys.stderr)
        agg, groups = make_planted_aggregates(4000, seed=7)
        planted = pd.Series(groups, index=agg["customer_id"].to_numpy())
        sweeps.append(quality.sweep("Synthetic, 4 planted groups", agg, planted=planted))
        weekly = make_weekly_shop_lines(WEEKLY_SHOP, seed=11)
        sweeps.append(quality.sweep(f"Synthetic weekly buyers, {WEEKLY_SHOP:,} customers", weekly))
        # Over every sampling threshold (K-Means' 250,000 included); its latent groups
        # overlap by design, so they are not a truth to recover.
        t = time.perf_counter()
        large, _ = make_customer_aggregates(LARGE_SHOP, seed=7)
        sweeps.append(quality.sweep(f"Synthetic heavy-tailed, {LARGE_SHOP:,} customers", large))
        print(f"[large synthetic shop: {time.perf_counter() - t:.0f} s]", file=sys.stderr)
    for sw in sweeps:
        print(quality.report(sw), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
