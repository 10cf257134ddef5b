"""The value stage: from the customer aggregate table to each customer's P(alive), expected
purchases, spend and value over a horizon, and the holdout check a manager can read.

Histories come from the aggregate table (types.AGGREGATE_COLUMNS): ``x`` = purchase days - 1,
``t_x`` = last - first purchase day, ``T`` = reference day - first purchase day, in weeks; the
mean spend per purchase is gross revenue / purchase days.  The holdout check calibrates on all
but the last ``holdout_share`` of the days and compares predicted with actual repeat purchases
in the rest, in total and by number of calibration purchases.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clv import (
    BgNbd,
    GammaGamma,
    ValueModelError,
    discounted_value,
    fit_bgnbd,
    fit_gamma_gamma,
)
from .features import aggregate_transactions
from .types import Calibration, SegmentationParams, SegmentProfile, ValueSummary

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Histories:
    customer_id: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    mean_spend: np.ndarray


def histories(agg: pd.DataFrame, reference_date: pd.Timestamp) -> Histories:
    """BG/NBD inputs (weeks) of the customers with at least one purchase."""
    agg = agg[agg["purchase_days"] > 0]
    first = pd.to_datetime(agg["first_purchase"]).dt.normalize()
    last = pd.to_datetime(agg["last_purchase"]).dt.normalize()
    ref = pd.Timestamp(reference_date).normalize()
    days = agg["purchase_days"].to_numpy(dtype=float)
    return Histories(
        customer_id=agg["customer_id"].astype(str).to_numpy(),
        x=days - 1,
        t_x=((last - first).dt.days / 7).to_numpy(dtype=float),
        # the reference date is the day after the last day counted
        T=(((ref - DAY) - first).dt.days / 7).to_numpy(dtype=float),
        mean_spend=agg["gross_revenue"].to_numpy(dtype=float) / days,
    )


@dataclass(frozen=True)
class ValueFit:
    purchases: BgNbd
    spend: GammaGamma
    per_customer: pd.DataFrame  # index customer_id: p_alive, expected_purchases, ...
    horizon_days: int
    annual_discount: float
    margin: float


def fit_value(
    agg: pd.DataFrame,
    reference_date: pd.Timestamp,
    horizon_days: int = 90,
    annual_discount: float = 0.10,
    margin: float = 1.0,
) -> ValueFit:
    h = histories(agg, reference_date)
    purchases = fit_bgnbd(h.x, h.t_x, h.T)
    spend = fit_gamma_gamma(h.x, h.mean_spend)
    weeks = horizon_days / 7
    expected_spend = spend.expected_spend(h.x, h.mean_spend)
    per_customer = pd.DataFrame(
        {
            "p_alive": purchases.p_alive(h.x, h.t_x, h.T),
            "expected_purchases": purchases.expected_purchases(weeks, h.x, h.t_x, h.T),
            "expected_spend": expected_spend,
            "expected_value": discounted_value(
                purchases, expected_spend, h.x, h.t_x, h.T, weeks, annual_discount, margin
            ),
        },
        index=pd.Index(h.customer_id, name="customer_id"),
    )
    return ValueFit(purchases, spend, per_customer, horizon_days, annual_discount, margin)


@dataclass(frozen=True)
class HoldoutCheck:
    calibration_end: pd.Timestamp  # first day of the holdout
    holdout_weeks: float
    predicted: float
    actual: int
    by_purchases: pd.DataFrame  # calibration repeat purchases (0..7+): customers, actual, predicted

    @property
    def error(self) -> float:
        return self.predicted / self.actual - 1 if self.actual else float("nan")


def calibration_end(
    first_day: pd.Timestamp, reference_date: pd.Timestamp, holdout_share: float = 0.25
) -> pd.Timestamp:
    """First day of the holdout: the last ``holdout_share`` of the days are held out."""
    ref = pd.Timestamp(reference_date).normalize()
    days = (ref - pd.Timestamp(first_day).normalize()).days
    return ref - pd.Timedelta(days=int(round(days * holdout_share)))


def holdout_from_aggregates(
    full: pd.DataFrame,
    calibration: pd.DataFrame,
    cal_end: pd.Timestamp,
    reference_date: pd.Timestamp,
) -> HoldoutCheck:
    """Fit on the calibration aggregates (reference date ``cal_end``) and compare predicted
    repeat purchases with the purchase days each customer added by ``reference_date``."""
    h = histories(calibration, cal_end)
    model = fit_bgnbd(h.x, h.t_x, h.T)
    weeks = (pd.Timestamp(reference_date).normalize() - pd.Timestamp(cal_end)).days / 7
    predicted = model.expected_purchases(weeks, h.x, h.t_x, h.T)
    total_days = full.assign(customer_id=full["customer_id"].astype(str)).set_index("customer_id")[
        "purchase_days"
    ]
    cal_days = pd.Series(h.x + 1, index=h.customer_id)
    actual = (total_days.reindex(cal_days.index).fillna(0) - cal_days).clip(lower=0).to_numpy()
    bucket = np.minimum(h.x, 7).astype(int)
    by = (
        pd.DataFrame({"purchases": bucket, "actual": actual, "predicted": predicted})
        .groupby("purchases")
        .agg(
            customers=("actual", "size"),
            actual=("actual", "mean"),
            predicted=("predicted", "mean"),
        )
    )
    return HoldoutCheck(pd.Timestamp(cal_end), weeks, float(predicted.sum()), int(actual.sum()), by)


def holdout_check(
    lines: pd.DataFrame, reference_date: pd.Timestamp | None = None, holdout_share: float = 0.25
) -> HoldoutCheck:
    """The holdout check straight from transaction lines."""
    ts = pd.to_datetime(lines["timestamp"])
    ref = (
        pd.Timestamp(reference_date).normalize()
        if reference_date is not None
        else ts.max().normalize() + DAY
    )
    cal_end = calibration_end(ts.min(), ref, holdout_share)
    full, _ = aggregate_transactions(lines, ref)
    calibration, _ = aggregate_transactions(lines, cal_end)
    return holdout_from_aggregates(full, calibration, cal_end, ref)


def value_stage(
    agg: pd.DataFrame,
    reference_date: pd.Timestamp,
    params: SegmentationParams,
    notes: list[str],
    lines: pd.DataFrame | None = None,
    calibration: Calibration | None = None,
) -> tuple[ValueSummary | None, pd.DataFrame | None]:
    """Fit on the whole period for the numbers shown; check on a holdout when the lines, or
    the calibration aggregates, allow it.  A model that cannot be fitted is a note, not a
    failed run."""
    if params.value_horizon_days == 0:
        return None, None
    try:
        fit = fit_value(
            agg,
            reference_date,
            params.value_horizon_days,
            params.value_discount_rate,
            params.value_margin,
        )
    except ValueModelError as error:
        notes.append(f"value ahead not estimated: {error}")
        return None, None
    holdout = None
    try:
        if lines is not None and calibration is None:
            # the whole period's aggregates are ``agg`` already: aggregate the calibration only
            first = pd.to_datetime(lines["timestamp"]).min()
            end = calibration_end(first, reference_date, params.value_holdout_share)
            calibration = Calibration(aggregate_transactions(lines, end)[0], end)
        if calibration is not None:
            holdout = holdout_from_aggregates(
                agg, calibration.aggregates, calibration.end, reference_date
            )
        else:
            notes.append("value ahead: no holdout check (no calibration period was given)")
    except ValueModelError as error:
        notes.append(f"value ahead: holdout check not possible: {error}")
    pc = fit.per_customer
    summary = ValueSummary(
        horizon_days=params.value_horizon_days,
        discount_rate=params.value_discount_rate,
        margin=params.value_margin,
        purchase_model=dataclasses.asdict(fit.purchases),
        spend_model=dataclasses.asdict(fit.spend),
        total_expected_value=float(pc["expected_value"].sum()),
        customers=len(pc),
        holdout=_holdout_dict(holdout) if holdout is not None else None,
    )
    return summary, pc


def _holdout_dict(check: HoldoutCheck) -> dict:
    return {
        "calibration_end": check.calibration_end.date().isoformat(),
        "holdout_weeks": round(check.holdout_weeks, 2),
        "predicted": round(check.predicted, 1),
        "actual": check.actual,
        "error": round(check.error, 4),
        "by_purchases": [
            {
                "purchases": int(k),
                "customers": int(row["customers"]),
                "actual": round(float(row["actual"]), 4),
                "predicted": round(float(row["predicted"]), 4),
            }
            for k, row in check.by_purchases.iterrows()
        ],
    }


def with_value(
    profiles: list[SegmentProfile], per_customer: pd.DataFrame, segment_ids: pd.Series
) -> list[SegmentProfile]:
    """Each segment's expected value (sum, share, per customer) and median P(alive);
    ``segment_ids`` is indexed by customer_id."""
    pc = per_customer.reindex(segment_ids.index)
    total = float(pc["expected_value"].sum())
    out = []
    for p in profiles:
        members = pc[segment_ids.to_numpy() == p.segment_id]
        value = float(members["expected_value"].sum())
        out.append(
            dataclasses.replace(
                p,
                expected_value=value,
                share_expected_value=value / total if total > 0 else 0.0,
                value_per_customer=value / max(len(members), 1),
                median_p_alive=float(members["p_alive"].median()),
            )
        )
    return out
