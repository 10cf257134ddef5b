"""The value stage: from the customer aggregate table to each customer's P(alive), expected
purchases, spend and value over a horizon, and the holdout check a manager can read.

Histories come from the aggregate table (types.AGGREGATE_COLUMNS): ``x`` = purchase days - 1,
``t_x`` = last - first purchase day, ``T`` = reference day - first purchase day, in weeks; the
mean spend per purchase is gross revenue / purchase days.  The holdout check calibrates on all
but the last ``holdout_share`` of the days and compares predicted with actual repeat purchases
in the rest, in total, by number of calibration purchases and week by week (the paper's
tracking chart: the calibration cohort's cumulative repeat purchases against the model's
unconditional expectation, over both periods).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .clv import (
    BgNbd,
    GammaGamma,
    ValueModelError,
    discounted_value,
    fit_bgnbd,
    fit_gamma_gamma,
    spend_frequency_correlation,
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


#: What the value stage knows of each customer (ValueFit.per_customer's columns).
PER_CUSTOMER_COLUMNS = (
    "repeat_purchases", "p_alive", "expected_purchases", "expected_spend", "expected_value",
    "next_purchase_days",
)  # fmt: skip
#: What of it each customer's assignment carries: stored with a run, listed, exported and
#: answered by the API. next_purchase_days: the days until half of the customers with this
#: history buy again, if still active (the "expected next order" marketers know).
ASSIGNED_VALUE_COLUMNS = ("p_alive", "expected_purchases", "expected_value", "next_purchase_days")


#: The raw features a customer's history can be read back from (see ValueModels.from_features).
HISTORY_FEATURES = ("recency_days", "frequency", "tenure_days")


@dataclass(frozen=True)
class ValueModels:
    """The fitted models and the run's settings: what turns a history into value ahead."""

    purchases: BgNbd
    spend: GammaGamma
    horizon_days: int
    annual_discount: float
    margin: float

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any] | None) -> ValueModels | None:
        """The models a run stored (ValueSummary as a dict); None when it estimated none."""
        if not summary or not summary.get("purchase_model") or not summary.get("spend_model"):
            return None
        return cls(
            BgNbd(**summary["purchase_model"]),
            GammaGamma(**summary["spend_model"]),
            int(summary["horizon_days"]),
            float(summary["discount_rate"]),
            float(summary["margin"]),
        )

    def estimate(
        self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, mean_spend: np.ndarray
    ) -> dict[str, np.ndarray]:
        """PER_CUSTOMER_COLUMNS for each history (weeks; mean spend per purchase day)."""
        weeks = self.horizon_days / 7
        expected_spend = self.spend.expected_spend(x, mean_spend)
        return {
            "repeat_purchases": x,
            "p_alive": self.purchases.p_alive(x, t_x, T),
            "expected_purchases": self.purchases.expected_purchases(weeks, x, t_x, T),
            "expected_spend": expected_spend,
            "expected_value": discounted_value(
                self.purchases,
                expected_spend,
                x,
                t_x,
                T,
                weeks,
                self.annual_discount,
                self.margin,
            ),
            "next_purchase_days": 7 * self.purchases.median_weeks_to_next_purchase(x, T),
        }

    def from_features(
        self,
        recency_days: npt.ArrayLike,
        frequency: npt.ArrayLike,
        tenure_days: npt.ArrayLike,
        mean_spend: npt.ArrayLike,
    ) -> dict[str, np.ndarray]:
        """ASSIGNED_VALUE_COLUMNS from raw features, NaN for a customer with no purchase.

        The features are the history's sufficient statistics as of the reference date, with
        invoices standing in for purchase days: two invoices on one day make one purchase
        day in a run, so such a customer's figures are a little higher than the run's.
        ``mean_spend``: gross spend per invoice (avg_basket_value), NaN if not known (the
        population's mean is used)."""
        recency, frequency, tenure = (
            np.asarray(v, dtype=float) for v in (recency_days, frequency, tenure_days)
        )
        # T counts to the day before the reference date (histories())
        T = np.maximum(tenure - 1, 0) / 7
        t_x = np.clip((tenure - recency) / 7, 0, T)
        x = np.maximum(frequency - 1, 0)
        estimated = self.estimate(x, t_x, T, np.asarray(mean_spend, dtype=float))
        bought = frequency >= 1
        return {c: np.where(bought, estimated[c], np.nan) for c in ASSIGNED_VALUE_COLUMNS}


@dataclass(frozen=True)
class ValueFit:
    purchases: BgNbd
    spend: GammaGamma
    per_customer: pd.DataFrame  # index customer_id: p_alive, expected_purchases, ...
    horizon_days: int
    annual_discount: float
    margin: float
    spend_correlation: float | None  # the spend model's independence check


def fit_value(
    agg: pd.DataFrame,
    reference_date: pd.Timestamp,
    horizon_days: int = 90,
    annual_discount: float = 0.10,
    margin: float = 1.0,
) -> ValueFit:
    h = histories(agg, reference_date)
    models = ValueModels(
        fit_bgnbd(h.x, h.t_x, h.T),
        fit_gamma_gamma(h.x, h.mean_spend),
        horizon_days,
        annual_discount,
        margin,
    )
    per_customer = pd.DataFrame(
        models.estimate(h.x, h.t_x, h.T, h.mean_spend),
        index=pd.Index(h.customer_id, name="customer_id"),
    )[list(PER_CUSTOMER_COLUMNS)]
    correlation = spend_frequency_correlation(h.x, h.mean_spend)
    return ValueFit(
        models.purchases,
        models.spend,
        per_customer,
        horizon_days,
        annual_discount,
        margin,
        correlation,
    )


@dataclass(frozen=True)
class HoldoutCheck:
    calibration_end: pd.Timestamp  # first day of the holdout
    holdout_weeks: float
    predicted: float
    actual: int
    by_purchases: pd.DataFrame  # calibration repeat purchases (0..7+): customers, actual, predicted
    # one row per week (week_end, actual, predicted cumulative repeat purchases, holdout);
    # None when the purchase days by day were not given
    tracking: pd.DataFrame | None = None

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


def daily_purchase_days(
    lines: pd.DataFrame, cal_end: pd.Timestamp, reference_date: pd.Timestamp
) -> pd.Series:
    """Purchase days (distinct customer-days of purchase lines) per day before
    ``reference_date``, of the customers who bought before ``cal_end`` (the cohort the
    holdout check follows), indexed by day."""
    ts = pd.to_datetime(lines["timestamp"])
    keep = (ts < pd.Timestamp(reference_date)) & lines["customer_id"].notna()
    if "is_non_product" in lines.columns:
        keep &= ~lines["is_non_product"].astype(bool)
    keep &= ~(
        lines["is_return"].astype(bool) if "is_return" in lines.columns else lines["amount"] < 0
    )
    days = pd.DataFrame(
        {"customer_id": lines.loc[keep, "customer_id"].astype(str), "day": ts[keep].dt.normalize()}
    ).drop_duplicates()
    cohort = days.loc[days["day"] < pd.Timestamp(cal_end), "customer_id"].unique()
    days = days[days["customer_id"].isin(cohort)]
    return days.groupby("day").size().rename("purchase_days")


def weekly_tracking(
    model: BgNbd,
    first_purchase: pd.Series,
    daily: pd.Series,
    cal_end: pd.Timestamp,
    reference_date: pd.Timestamp,
) -> pd.DataFrame:
    """Cumulative repeat purchases of the calibration cohort at the end of each week, actual
    and as the model expects from each customer's first purchase (unconditional, as in the
    paper's tracking chart), over the calibration period and the holdout.

    Weeks end on the day before ``cal_end`` and every 7 days before and after it, so the
    split falls between two weeks; the last point is the day before ``reference_date``.
    ``first_purchase``: one date per cohort customer; ``daily``: the cohort's purchase days
    per day (:func:`daily_purchase_days`)."""
    first = pd.to_datetime(first_purchase).dt.normalize()
    split = pd.Timestamp(cal_end).normalize() - DAY
    last = pd.Timestamp(reference_date).normalize() - DAY
    start = first.min()
    before = (split - start).days // 7
    ends = [split - pd.Timedelta(weeks=k) for k in range(before, 0, -1)]
    ends += list(pd.date_range(split, last, freq="7D"))
    if ends[-1] != last:
        ends.append(last)
    ends_index = pd.DatetimeIndex(ends)
    firsts = first.value_counts().sort_index()
    purchases = daily.copy()
    purchases.index = pd.DatetimeIndex(purchases.index).normalize()
    purchases = purchases.groupby(level=0).sum().sort_index()
    # repeat purchases up to each week's end: purchase days less the cohort's first ones
    upto = purchases.cumsum().reindex(ends_index, method="ffill").fillna(0).to_numpy()
    first_upto = firsts.cumsum().reindex(ends_index, method="ffill").fillna(0).to_numpy()
    # weeks from each distinct first purchase day to each week's end (0 before it)
    elapsed = (ends_index.to_numpy()[:, None] - firsts.index.to_numpy()[None, :]) / np.timedelta64(
        7, "D"
    )
    expected = model.expected_unconditional(np.maximum(elapsed, 0.0)) @ firsts.to_numpy(float)
    return pd.DataFrame(
        {
            "week_end": ends_index,
            "actual": upto - first_upto,
            "predicted": expected,
            "holdout": ends_index > split,
        }
    )


def holdout_from_aggregates(
    full: pd.DataFrame,
    calibration: pd.DataFrame,
    cal_end: pd.Timestamp,
    reference_date: pd.Timestamp,
    daily: pd.Series | None = None,
) -> HoldoutCheck:
    """Fit on the calibration aggregates (reference date ``cal_end``) and compare predicted
    repeat purchases with the purchase days each customer added by ``reference_date``; with
    ``daily`` (:func:`daily_purchase_days`), also week by week."""
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
    tracking = None
    if daily is not None:
        cohort = calibration[calibration["purchase_days"] > 0]
        tracking = weekly_tracking(model, cohort["first_purchase"], daily, cal_end, reference_date)
    return HoldoutCheck(
        pd.Timestamp(cal_end), weeks, float(predicted.sum()), int(actual.sum()), by, tracking
    )


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
    daily = daily_purchase_days(lines, cal_end, ref)
    return holdout_from_aggregates(full, calibration, cal_end, ref, daily)


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
            daily = daily_purchase_days(lines, end, reference_date)
            calibration = Calibration(aggregate_transactions(lines, end)[0], end, daily)
        if calibration is not None:
            holdout = holdout_from_aggregates(
                agg,
                calibration.aggregates,
                calibration.end,
                reference_date,
                calibration.daily_purchase_days,
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
        spend_frequency_correlation=None
        if fit.spend_correlation is None
        else round(fit.spend_correlation, 4),
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
        # the tracking chart's weeks; [] when the purchase days by day were not read
        "weekly": []
        if check.tracking is None
        else [
            {
                "week_end": row.week_end.date().isoformat(),
                "actual": int(row.actual),
                "predicted": round(float(row.predicted), 1),
                "holdout": bool(row.holdout),
            }
            for row in check.tracking.itertuples()
        ],
    }


def with_value(
    profiles: list[SegmentProfile], per_customer: pd.DataFrame, segment_ids: pd.Series
) -> list[SegmentProfile]:
    """Each segment's expected value (sum, share, per customer) and its repeat buyers' median
    P(alive) (None when it has none); ``segment_ids`` is indexed by customer_id.

    BG/NBD gives a customer with no repeat purchase P(alive) = 1 whatever their silence, so
    a median over everyone called a segment of lapsed one-time buyers 100% alive."""
    pc = per_customer.reindex(segment_ids.index)
    total = float(pc["expected_value"].sum())
    out = []
    for p in profiles:
        members = pc[segment_ids.to_numpy() == p.segment_id]
        repeat = members[members["repeat_purchases"] >= 1]
        value = float(members["expected_value"].sum())
        out.append(
            dataclasses.replace(
                p,
                expected_value=value,
                share_expected_value=value / total if total > 0 else 0.0,
                value_per_customer=value / max(len(members), 1),
                median_p_alive=_median_or_none(repeat["p_alive"]),
            )
        )
    return out


def _median_or_none(values: pd.Series) -> float | None:
    median = values.median()
    return None if pd.isna(median) else float(median)
