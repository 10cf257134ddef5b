"""Synthetic retail customers with realistic heavy tails, for tests and benchmarks.

Five latent behaviours (champions, loyal, new, at risk, lost one-timers) with negative
binomial order counts, lognormal basket values with a Pareto tail for a few big accounts,
exponential recency, and returns for about 15% of customers.  Everything is vectorised, so
1,000,000 customers take about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REFERENCE_DATE = pd.Timestamp("2024-01-01")
COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium")
COUNTRY_P = (0.89, 0.025, 0.022, 0.02, 0.015, 0.015, 0.013)

# name: (share, mean orders, recency low, recency high, span share of history, log basket)
GROUPS: dict[str, tuple[float, float, float, float, float, float]] = {
    "champions": (0.10, 14.0, 0, 25, 0.9, 6.0),
    "loyal": (0.20, 5.0, 5, 60, 0.7, 5.6),
    "new": (0.15, 0.3, 0, 40, 0.05, 5.3),
    "at_risk": (0.15, 4.0, 120, 250, 0.5, 5.6),
    "lost": (0.40, 0.15, 180, 370, 0.05, 5.0),
}


def make_customer_aggregates(
    n: int, seed: int = 0, reference_date: pd.Timestamp = REFERENCE_DATE
) -> tuple[pd.DataFrame, np.ndarray]:
    """The customer aggregate table (types.AGGREGATE_COLUMNS) for n customers, and the
    latent group of each customer (0..4 in GROUPS order)."""
    rng = np.random.default_rng(seed)
    names = list(GROUPS)
    shares = np.array([GROUPS[g][0] for g in names])
    group = rng.choice(len(names), size=n, p=shares / shares.sum())
    par = np.array([GROUPS[g][1:] for g in names])[group]
    mean_orders, r_lo, r_hi, span_share, log_basket = par.T
    # negative binomial (dispersion 2) around the group's mean extra orders
    extra = rng.negative_binomial(2, 2 / (2 + mean_orders))
    invoices = 1 + extra
    recency = rng.uniform(r_lo, r_hi).round()
    history = 373.0
    span = np.where(
        invoices > 1, np.minimum(history - recency, rng.uniform(0.5, 1.5, n) * span_share * 365), 0
    ).round()
    span = np.maximum(span, np.where(invoices > 1, 1, 0))
    tenure = recency + span
    purchase_days = np.minimum(invoices, span + 1).astype(np.int64)
    basket = rng.lognormal(log_basket, 0.7)
    whales = rng.random(n) < 0.01
    basket = np.where(whales, basket * (1 + rng.pareto(1.5, n)), basket)
    gross = (basket * invoices * rng.lognormal(0, 0.25, n)).round(2)
    returns = rng.random(n) < 0.15
    returned = np.where(returns, gross * rng.beta(1.2, 8, n), 0.0).round(2)
    lines = (invoices * rng.poisson(12, n) + invoices).astype(np.int64)
    distinct = np.maximum(1, (lines * rng.uniform(0.4, 0.9, n)).astype(np.int64))
    ref = pd.Timestamp(reference_date).normalize()
    last = (
        ref - pd.to_timedelta(recency, unit="D") + pd.to_timedelta(rng.integers(8, 18, n), unit="h")
    )
    first = ref - pd.to_timedelta(tenure, unit="D") + pd.Timedelta(hours=9)
    agg = pd.DataFrame(
        {
            "customer_id": pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(7).to_numpy(),
            "country": np.asarray(COUNTRIES, dtype=object)[rng.choice(7, n, p=COUNTRY_P)],
            "first_purchase": first,
            "last_purchase": last,
            "invoices": invoices.astype(np.int64),
            "distinct_products": distinct,
            "gross_revenue": gross,
            "returned_revenue": returned,
            "lines": lines,
            "return_lines": np.where(returns, rng.integers(1, 4, n), 0).astype(np.int64),
            "purchase_days": purchase_days,
        }
    )
    return agg, group


def make_transactions(
    n_customers: int, seed: int = 0, reference_date: pd.Timestamp = REFERENCE_DATE
) -> pd.DataFrame:
    """Canonical transaction lines (types.TRANSACTION_COLUMNS) for a few thousand customers:
    one line per invoice plus some postage lines and returns.  For tests."""
    agg, _ = make_customer_aggregates(n_customers, seed, reference_date)
    rng = np.random.default_rng(seed + 1)
    inv = agg["invoices"].to_numpy()
    cust = np.repeat(np.arange(n_customers), inv)
    first = agg["first_purchase"].to_numpy()[cust]
    last = agg["last_purchase"].to_numpy()[cust]
    frac = rng.random(len(cust))
    # first invoice of each customer at first_purchase, last at last_purchase
    starts = np.r_[0, np.cumsum(inv)[:-1]]
    frac[starts] = 0.0
    frac[starts + inv - 1] = 1.0
    ts = first + (last - first) * frac
    amount = rng.lognormal(4.5, 0.8, len(cust)).round(2)
    qty = rng.integers(1, 12, len(cust)).astype(float)
    lines = pd.DataFrame(
        {
            "customer_id": agg["customer_id"].to_numpy()[cust],
            "invoice": pd.Series(np.arange(len(cust)) + 500000).astype(str).to_numpy(),
            "product_code": pd.Series(rng.integers(10000, 10300, len(cust))).astype(str).to_numpy(),
            "quantity": qty,
            "unit_price": (amount / qty).round(4),
            "amount": amount,
            "timestamp": pd.to_datetime(ts),
            "country": agg["country"].to_numpy()[cust],
            "is_return": False,
            "is_non_product": False,
        }
    )
    post = lines.sample(frac=0.1, random_state=seed).assign(
        product_code="POST", amount=15.0, quantity=1.0, unit_price=15.0, is_non_product=True
    )
    ret = lines.sample(frac=0.05, random_state=seed + 2)
    ret = ret.assign(
        invoice="C" + ret["invoice"],
        amount=-(ret["amount"] * 0.5).round(2),
        quantity=-1.0,
        is_return=True,
        timestamp=ret["timestamp"] + pd.Timedelta(hours=1),
    )
    out = pd.concat([lines, post, ret], ignore_index=True)
    return out.sort_values(["timestamp", "invoice"], kind="stable").reset_index(drop=True)


# name: (share, orders low-high, recency low-high, log basket) - well apart on every axis,
# and each inside one activity band of the rhythm the repeat groups make (gaps of 10-25 days)
PLANTED: dict[str, tuple[float, tuple[int, int], tuple[int, int], float]] = {
    "champions": (0.15, (20, 30), (3, 10), 6.5),
    "new": (0.20, (1, 1), (8, 20), 3.5),
    "at_risk": (0.20, (6, 10), (120, 160), 5.0),
    "lost": (0.45, (1, 1), (280, 360), 2.5),
}


def make_planted_aggregates(
    n: int, seed: int = 0, reference_date: pd.Timestamp = REFERENCE_DATE
) -> tuple[pd.DataFrame, np.ndarray]:
    """Customer aggregates of four well-separated planted behaviours, and each customer's
    group (0..3 in PLANTED order): a segmentation should find exactly these."""
    rng = np.random.default_rng(seed)
    names = list(PLANTED)
    shares = np.array([PLANTED[g][0] for g in names])
    group = rng.choice(len(names), size=n, p=shares / shares.sum())
    orders_lo = np.array([PLANTED[g][1][0] for g in names])[group]
    orders_hi = np.array([PLANTED[g][1][1] for g in names])[group]
    rec_lo = np.array([PLANTED[g][2][0] for g in names])[group]
    rec_hi = np.array([PLANTED[g][2][1] for g in names])[group]
    log_basket = np.array([PLANTED[g][3] for g in names])[group]
    invoices = rng.integers(orders_lo, orders_hi + 1)
    recency = rng.integers(rec_lo, rec_hi + 1).astype(float)
    gap = rng.uniform(10, 25, n)
    span = np.where(invoices > 1, np.round(gap * (invoices - 1)), 0.0)
    tenure = recency + span
    basket = rng.lognormal(log_basket, 0.25)
    gross = (basket * invoices).round(2)
    ref = pd.Timestamp(reference_date).normalize()
    agg = pd.DataFrame(
        {
            "customer_id": pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(6).to_numpy(),
            "country": "United Kingdom",
            "first_purchase": ref - pd.to_timedelta(tenure, unit="D") + pd.Timedelta(hours=9),
            "last_purchase": ref - pd.to_timedelta(recency, unit="D") + pd.Timedelta(hours=15),
            "invoices": invoices.astype(np.int64),
            "distinct_products": (invoices * 3).astype(np.int64),
            "gross_revenue": gross,
            "returned_revenue": 0.0,
            "lines": (invoices * 4).astype(np.int64),
            "return_lines": np.zeros(n, dtype=np.int64),
            "purchase_days": invoices.astype(np.int64),
        }
    )
    return agg, group


def simulate_bgnbd(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    weeks: float,
    birth_weeks: float,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Purchases drawn from BG/NBD's own story: each customer's first purchase falls
    uniformly in the first ``birth_weeks``; while alive they buy at a Poisson rate drawn
    from Gamma(r, alpha) (per week) and after each repeat purchase stop with a probability
    drawn from Beta(a, b); observed until ``weeks``. Returns each purchase's customer (0..n-1)
    and time in weeks, first purchases included."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, n)
    stop = rng.beta(a, b, n)
    t = rng.uniform(0, birth_weeks, n)
    customers, times = [np.arange(n)], [t.copy()]
    alive = np.ones(n, dtype=bool)
    while True:
        t = t + rng.exponential(1 / np.maximum(rate, 1e-12))
        buying = alive & (t < weeks)
        if not buying.any():
            break
        customers.append(np.flatnonzero(buying))
        times.append(t[buying])
        # the chance to stop follows each repeat purchase (the first is the model's time 0)
        alive = buying & (rng.random(n) >= stop)
    return np.concatenate(customers), np.concatenate(times)


def bgnbd_lines(
    customer: np.ndarray,
    weeks: np.ndarray,
    start: pd.Timestamp,
    seed: int = 0,
    log_basket: float = 3.5,
) -> pd.DataFrame:
    """Canonical transaction lines, one per purchase of :func:`simulate_bgnbd`, from
    ``start``: each customer's basket is lognormal around their own mean."""
    rng = np.random.default_rng(seed)
    n = int(customer.max()) + 1
    own = rng.lognormal(log_basket, 0.5, n)
    amount = (own[customer] * rng.lognormal(0, 0.3, len(customer))).round(2)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(customer + 1).astype(str).str.zfill(7).to_numpy(),
            "invoice": pd.Series(np.arange(len(customer)) + 100000).astype(str).to_numpy(),
            "product_code": "P1",
            "quantity": 1.0,
            "unit_price": amount,
            "amount": amount,
            "timestamp": pd.Timestamp(start) + pd.to_timedelta(weeks * 7, unit="D"),
            "country": COUNTRIES[0],
            "is_return": False,
            "is_non_product": False,
        }
    ).sort_values("timestamp", kind="stable", ignore_index=True)


#: A shop of weekly buyers (a grocer's rhythm, unlike Online Retail's and CDNOW's): about a
#: purchase a week each, a 3% chance to stop after each, acquired over the whole two years.
WEEKLY_SHOP = {"r": 4.0, "alpha": 4.0, "a": 1.0, "b": 30.0, "weeks": 104, "birth_weeks": 104}


def make_weekly_shop_lines(n: int, seed: int = 0) -> pd.DataFrame:
    """Transaction lines of ``n`` weekly buyers (WEEKLY_SHOP) from 3 January 2022."""
    customer, weeks = simulate_bgnbd(n, **WEEKLY_SHOP, seed=seed)
    return bgnbd_lines(customer, weeks, pd.Timestamp("2022-01-03"), seed=seed, log_basket=3.7)
