"""Transaction lines -> customer aggregate table -> customer feature matrix.

Two steps so the database can replace the first one:

(a) :func:`aggregate_transactions` builds the customer aggregate table described in
    :mod:`clustering.engine.types` (``AGGREGATE_COLUMNS``).  Non-product lines are ignored;
    purchase lines and return lines are aggregated separately.
(b) :func:`features_from_aggregates` turns that table into features as of a reference date.

Feature definitions (days are whole calendar days, ``day(x)`` = x at midnight):

* ``recency_days``   = day(reference_date) - day(last_purchase)
* ``frequency``      = invoices (distinct purchase invoices)
* ``monetary_total`` = gross_revenue - returned_revenue (net spend)
* ``tenure_days``    = day(reference_date) - day(first_purchase)
* ``avg_basket_value`` = gross_revenue / invoices
* ``distinct_products`` = distinct product codes bought
* ``return_rate``    = min(1, returned_revenue / gross_revenue)
* ``mean_days_between_purchases`` = (day(last) - day(first)) / (purchase_days - 1), missing
  (NaN, imputed later) for customers with a single purchase day
* ``country``        = as in the aggregate table

Customers whose net ``monetary_total`` is not positive (they returned as much as they bought
in the window, or bought only zero-priced items) are excluded by default and counted under the
reason ``non_positive_monetary``; with ``non_positive_monetary="keep"`` they are kept and
counted under ``flagged``.
"""

from __future__ import annotations

import pandas as pd

from .types import AGGREGATE_COLUMNS, ALL_FEATURES, FeatureTable, InvalidParameters

DAY = pd.Timedelta(days=1)


def default_reference_date(last_timestamp: pd.Timestamp) -> pd.Timestamp:
    """The day after the last transaction (midnight)."""
    return pd.Timestamp(last_timestamp).normalize() + DAY


def aggregate_transactions(
    df: pd.DataFrame,
    reference_date: pd.Timestamp | None = None,
    lookback_days: int | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Aggregate transaction lines into the customer aggregate table.

    Lines at or after ``reference_date`` are ignored; with ``lookback_days`` only lines on or
    after ``reference_date - lookback_days`` count.  Returns ``(table, reference_date)``.
    Fully vectorised (no per-group Python callbacks).
    """
    missing = [
        c
        for c in ("customer_id", "invoice", "product_code", "amount", "timestamp")
        if c not in df.columns
    ]
    if missing:
        raise InvalidParameters("transactions", f"missing columns {missing}")
    ts = pd.to_datetime(df["timestamp"])
    if reference_date is None:
        reference_date = default_reference_date(ts.max())
    reference_date = pd.Timestamp(reference_date)
    keep = (ts < reference_date) & df["customer_id"].notna()
    if lookback_days is not None:
        keep &= ts >= reference_date - pd.Timedelta(days=int(lookback_days))
    # every customer with any line in the window gets a row (only-fee customers: invoices 0)
    all_customers = pd.Index(df.loc[keep, "customer_id"].astype(str).unique(), name="customer_id")
    if "is_non_product" in df.columns:
        keep &= ~df["is_non_product"].astype(bool)
    d = df.loc[keep, ["customer_id", "invoice", "product_code", "amount"]].copy()
    d["customer_id"] = d["customer_id"].astype(str)
    d["timestamp"] = ts[keep]
    d["country"] = df.loc[keep, "country"] if "country" in df.columns else "Unknown"
    if "is_return" in df.columns:
        is_return = df.loc[keep, "is_return"].astype(bool)
    else:
        is_return = d["amount"] < 0
    buy = d[~is_return.to_numpy()]
    ret = d[is_return.to_numpy()]

    g = buy.groupby("customer_id", sort=True)
    out = pd.DataFrame(
        {
            "first_purchase": g["timestamp"].min(),
            "last_purchase": g["timestamp"].max(),
            "invoices": g["invoice"].nunique(),
            "distinct_products": g["product_code"].nunique(),
            "gross_revenue": g["amount"].sum(),
            "lines": g.size(),
        }
    )
    out["purchase_days"] = (
        buy.assign(_day=buy["timestamp"].dt.normalize())
        .drop_duplicates(["customer_id", "_day"])
        .groupby("customer_id")
        .size()
    )
    # Country of the latest purchase line: sort once, then take the last row per customer.
    last_country = (
        buy.sort_values(["customer_id", "timestamp"], kind="stable")
        .drop_duplicates("customer_id", keep="last")
        .set_index("customer_id")["country"]
    )
    rg = ret.groupby("customer_id", sort=True)
    returns = pd.DataFrame(
        {"returned_revenue": rg["amount"].sum().abs(), "return_lines": rg.size()}
    )
    out = out.join(returns, how="outer").reindex(all_customers.sort_values())
    out["country"] = last_country
    only_returns = out["invoices"].isna()
    if only_returns.any():
        ret_country = ret.drop_duplicates("customer_id", keep="last").set_index("customer_id")[
            "country"
        ]
        out.loc[only_returns, "country"] = ret_country
    for col in ("invoices", "distinct_products", "lines", "return_lines", "purchase_days"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("gross_revenue", "returned_revenue"):
        out[col] = out[col].fillna(0.0).astype("float64")
    out.index.name = "customer_id"
    out = out.reset_index()
    out["customer_id"] = out["customer_id"].astype(str)
    out["country"] = out["country"].fillna("Unknown").astype(str)
    return out[list(AGGREGATE_COLUMNS)], reference_date


def features_from_aggregates(
    agg: pd.DataFrame,
    reference_date: pd.Timestamp | None = None,
    features: tuple[str, ...] = ALL_FEATURES,
    non_positive_monetary: str = "exclude",
) -> FeatureTable:
    """Customer features as of ``reference_date`` from the aggregate table (see module doc)."""
    missing = [c for c in AGGREGATE_COLUMNS if c not in agg.columns]
    if missing:
        raise InvalidParameters("aggregates", f"missing columns {missing}")
    unknown = [f for f in features if f not in ALL_FEATURES]
    if unknown:
        raise InvalidParameters("features", f"unknown features {unknown}")
    first = pd.to_datetime(agg["first_purchase"])
    last = pd.to_datetime(agg["last_purchase"])
    if reference_date is None:
        reference_date = default_reference_date(last.max())
    ref_day = pd.Timestamp(reference_date).normalize()
    invoices = agg["invoices"].to_numpy(dtype="float64")
    gross = agg["gross_revenue"].to_numpy(dtype="float64")
    returned = agg["returned_revenue"].to_numpy(dtype="float64")
    days = agg["purchase_days"].to_numpy(dtype="float64")
    first_day = first.dt.normalize()
    last_day = last.dt.normalize()

    f = pd.DataFrame(index=pd.Index(agg["customer_id"].astype(str), name="customer_id"))
    f["recency_days"] = ((ref_day - last_day).dt.days).to_numpy(dtype="float64")
    f["frequency"] = invoices
    f["monetary_total"] = gross - returned
    f["tenure_days"] = ((ref_day - first_day).dt.days).to_numpy(dtype="float64")
    safe_inv = pd.Series(invoices).where(invoices > 0)
    f["avg_basket_value"] = (gross / safe_inv).to_numpy()
    f["distinct_products"] = agg["distinct_products"].to_numpy(dtype="float64")
    safe_gross = pd.Series(gross).where(gross > 0)
    f["return_rate"] = (pd.Series(returned) / safe_gross).clip(upper=1.0).fillna(0.0).to_numpy()
    span = (last_day - first_day).dt.days.to_numpy(dtype="float64")
    gaps = pd.Series(days - 1).where(days > 1)
    f["mean_days_between_purchases"] = (pd.Series(span) / gaps).to_numpy()
    f["country"] = agg["country"].astype(str).to_numpy()

    excluded: dict[str, int] = {}
    flagged: dict[str, int] = {}
    no_purchase = (invoices <= 0) | last.isna().to_numpy()
    if no_purchase.any():
        excluded["no_purchases"] = int(no_purchase.sum())
    f = f[~no_purchase]
    non_pos = (f["monetary_total"] <= 0).to_numpy()
    if non_positive_monetary == "exclude":
        if non_pos.any():
            excluded["non_positive_monetary"] = int(non_pos.sum())
        f = f[~non_pos]
    elif non_positive_monetary == "keep":
        if non_pos.any():
            flagged["non_positive_monetary"] = int(non_pos.sum())
    else:
        raise InvalidParameters("non_positive_monetary", "must be 'exclude' or 'keep'")
    return FeatureTable(
        features=f[list(features)].copy(),
        reference_date=pd.Timestamp(ref_day),
        excluded=excluded,
        flagged=flagged,
    )


def customer_features(
    transactions: pd.DataFrame,
    reference_date: pd.Timestamp | None = None,
    lookback_days: int | None = None,
    features: tuple[str, ...] = ALL_FEATURES,
    non_positive_monetary: str = "exclude",
) -> FeatureTable:
    """Convenience: (a) then (b)."""
    agg, ref = aggregate_transactions(transactions, reference_date, lookback_days)
    return features_from_aggregates(agg, ref, features, non_positive_monetary)


#: Tenure is left out when the middle 90% of first purchases fall within this share of the
#: history: it would then record the week a cohort joined, not how customers behave.
COHORT_SPREAD = 0.25


def acquisition_spread(features: pd.DataFrame) -> float:
    """Days between the 5th and 95th percentile of first purchases, as a share of the
    history (the oldest first purchase to the reference date)."""
    tenure = features["tenure_days"].to_numpy(dtype="float64")
    history = float(tenure.max()) if len(tenure) else 0.0
    if history <= 0:
        return 0.0
    lo, hi = pd.Series(tenure).quantile([0.05, 0.95])
    return float((hi - lo) / history)


def used_features(
    features: pd.DataFrame, requested: tuple[str, ...], notes: list[str]
) -> tuple[str, ...]:
    """The requested features, less tenure on a cohort shop (see COHORT_SPREAD); a note
    says why."""
    if "tenure_days" not in requested or len(requested) == 1:
        return tuple(requested)
    spread = acquisition_spread(features)
    if spread >= COHORT_SPREAD:
        return tuple(requested)
    tenure = features["tenure_days"]
    lo, hi = tenure.quantile([0.05, 0.95])
    notes.append(
        f"tenure_days left out: 90% of customers made their first purchase within "
        f"{hi - lo:,.0f} days of each other ({spread:.0%} of the {tenure.max():,.0f}-day "
        f"history, under {COHORT_SPREAD:.0%}), so tenure would split customers by when they "
        "joined rather than by how they buy"
    )
    return tuple(f for f in requested if f != "tenure_days")
