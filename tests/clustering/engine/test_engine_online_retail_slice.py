"""One end-to-end run on a committed slice of the real Online Retail file (230 customers with
at most 45 lines each, all their lines, Description dropped to keep it small)."""

from pathlib import Path

import numpy as np

from clustering.engine import SegmentationParams, run_segmentation
from clustering.engine.loaders import detect_format, read_transactions

SLICE = Path(__file__).resolve().parents[2] / "fixtures" / "engine_online_retail_slice.csv"


def test_online_retail_slice_end_to_end():
    assert detect_format(SLICE) == "online_retail"
    lines = read_transactions(SLICE)
    assert lines["customer_id"].str.fullmatch(r"\d+").all()  # "17850.0" -> "17850"
    assert lines["is_return"].sum() > 0 and lines["is_non_product"].sum() > 0
    assert (lines.loc[lines["invoice"].str.startswith("C"), "quantity"] < 0).all()
    params = SegmentationParams(k_max=6, stability_resamples=2)
    r = run_segmentation(lines, params)
    assert r.n_customers + sum(r.excluded.values()) == lines["customer_id"].nunique()
    assert r.reference_date == lines["timestamp"].max().normalize() + np.timedelta64(1, "D")
    names = [s.name for s in r.segments]
    assert len(set(names)) == len(names) >= 3
    assert abs(sum(s.share_revenue for s in r.segments) - 1) < 1e-9
    assert r.choice.justification
