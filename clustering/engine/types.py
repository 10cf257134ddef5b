"""Plain data passed into and out of the segmentation engine.

Everything here is a frozen dataclass (or holds pandas / numpy data), so the Django side can
store it without knowing anything about scikit-learn.

Input contracts
---------------

Transaction lines (``TRANSACTION_COLUMNS``), one row per invoice line:

==================  =============  ==========================================================
column              dtype          meaning
==================  =============  ==========================================================
customer_id         str            customer key; rows with a missing id must be dropped first
invoice             str            invoice number
product_code        str            stock code
quantity            float          units (negative on returns)
unit_price          float          price per unit
amount              float          quantity * unit_price (negative on returns)
timestamp           datetime64     time of the line
country             str            customer's country on this line
is_return           bool           cancellation / negative quantity
is_non_product      bool           postage, fees, manual adjustments, bad-debt lines ...
==================  =============  ==========================================================

Customer aggregate table (``AGGREGATE_COLUMNS``), one row per customer, what the database
can compute with one ``GROUP BY customer_id`` instead of calling
:func:`clustering.engine.features.aggregate_transactions`.  **Non-product lines
(``is_non_product``) are ignored in every column.**  "Purchase line" means a product line with
``is_return = false``; "return line" means a product line with ``is_return = true``.  Only
lines with ``window_start <= timestamp < reference_date`` are counted (window_start = no limit
when there is no look-back window).

===================  ==========  ================================================================
column               dtype       SQL definition
===================  ==========  ================================================================
customer_id          str         the customer key
country              str         country of the customer's latest purchase line (any
                                 deterministic choice is acceptable; ties are not significant)
first_purchase       datetime64  MIN(timestamp) over purchase lines
last_purchase        datetime64  MAX(timestamp) over purchase lines
invoices             int         COUNT(DISTINCT invoice) over purchase lines
distinct_products    int         COUNT(DISTINCT product_code) over purchase lines
gross_revenue        float       SUM(amount) over purchase lines
returned_revenue     float       SUM(ABS(amount)) over return lines (>= 0)
lines                int         COUNT(*) over purchase lines
return_lines         int         COUNT(*) over return lines
purchase_days        int         COUNT(DISTINCT DATE(timestamp)) over purchase lines
===================  ==========  ================================================================

One row per customer with any line in the window.  A customer who only has return or
non-product lines there has ``invoices = 0`` and NULL purchase dates (a LEFT JOIN / FILTER
clause in SQL); such customers are excluded and counted (reason ``no_purchases``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TRANSACTION_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "invoice",
    "product_code",
    "quantity",
    "unit_price",
    "amount",
    "timestamp",
    "country",
    "is_return",
    "is_non_product",
)

AGGREGATE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "country",
    "first_purchase",
    "last_purchase",
    "invoices",
    "distinct_products",
    "gross_revenue",
    "returned_revenue",
    "lines",
    "return_lines",
    "purchase_days",
)

#: Numeric customer features the engine can compute (see features.py for definitions).
NUMERIC_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary_total",
    "tenure_days",
    "avg_basket_value",
    "distinct_products",
    "return_rate",
    "mean_days_between_purchases",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("country",)
#: Recency, frequency and monetary value: the RFM grid's axes, in its order, and what the
#: segment names rest on.
RFM_FEATURES: tuple[str, ...] = ("recency_days", "frequency", "monetary_total")
ALL_FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES

#: Default feature set: RFM plus tenure and basket size.  Country is off by default because
#: about 90% of Online Retail customers are in one country, so it would dominate the split.
DEFAULT_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary_total",
    "tenure_days",
    "avg_basket_value",
)

#: A customer's activity status against the shop's rhythm (see ActivityRhythm).
ACTIVITY_STATUSES: tuple[str, ...] = ("active", "cooling", "lapsed")
#: A segment's activity: the most specific label whose statuses cover >= 90% of its members.
ACTIVITY_LABELS: dict[str, tuple[str, ...]] = {
    "active": ("active",),
    "cooling": ("cooling",),
    "lapsed": ("lapsed",),
    "slipping": ("active", "cooling"),
    "inactive": ("cooling", "lapsed"),
    "mixed": ACTIVITY_STATUSES,
}
ACTIVITY_WORDS: dict[str, str] = {
    "active": "active",
    "cooling": "cooling",
    "lapsed": "lapsed",
    "slipping": "active or cooling",
    "inactive": "cooling or lapsed",
    "mixed": "mixed activity",
}
#: Value: where the segment's median spend stands among all customers.
VALUE_TIERS: tuple[str, ...] = ("top", "high", "mid", "low")
#: Engagement: the segment's median number of purchases.
ENGAGEMENT_TIERS: tuple[str, ...] = ("frequent", "repeat", "one-time")

ALGORITHM_NAMES: tuple[str, ...] = (
    "kmeans",
    "minibatch_kmeans",
    "gmm",
    "dbscan",
    "agglomerative",
    "birch",
    "spectral",
)


#: MiniBatch K-Means is an option, not a rival of K-Means by default: near-identical partitions
#: would compete on noise.
DEFAULT_ALGORITHMS: tuple[str, ...] = tuple(a for a in ALGORITHM_NAMES if a != "minibatch_kmeans")


class InvalidParameters(ValueError):
    """A parameter of a segmentation run is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SegmentationCancelled(RuntimeError):
    """Raised by the pipeline when ``should_cancel()`` returns true."""


@dataclass(frozen=True)
class SegmentationParams:
    """Everything that controls a run.  Defaults are the recommended settings."""

    features: tuple[str, ...] = DEFAULT_FEATURES
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    k_min: int = 2
    k_max: int = 10
    seed: int = 42
    reference_date: pd.Timestamp | None = None  # default: day after the last purchase
    lookback_days: int | None = None  # only used when transaction lines are given
    non_positive_monetary: str = "exclude"  # "exclude" | "keep"
    impute: str = "median"  # "median" | "mean" | "zero"
    outliers: str = "log1p"  # "log1p" | "cap" | "none"
    cap_quantiles: tuple[float, float] = (0.01, 0.99)
    scaler: str = "standard"  # "standard" | "minmax" | "robust"
    country_encoding: str = "onehot"  # "onehot" | "label"
    rare_country_share: float = 0.01
    min_segment_share: float = 0.01
    max_noise_share: float = 0.10
    practical_k: tuple[int, int] = (3, 8)
    silhouette_sample_size: int = 10_000
    quadratic_sample_size: int = 5_000  # Spectral / Agglomerative / DBSCAN above this: sample
    linear_sample_size: int = 20_000  # GMM / Birch fit on a sample above this
    stability_resamples: int = 5
    stability_sample_size: int = 5_000
    pca_sample_size: int = 2_000
    # 1 thread: on a shared 2-core box OpenMP/BLAS spin-waiting against a busy core made
    # K-Means 50x slower; one thread per Celery worker is also what the prefork pool needs.
    blas_threads: int | None = 1
    # value ahead (value.py): horizon in days (0 turns the stage off), annual discount rate,
    # the share of revenue counted as value (1.0 = revenue), the share of days held out
    value_horizon_days: int = 90
    value_discount_rate: float = 0.10
    value_margin: float = 1.0
    value_holdout_share: float = 0.25
    # written before amounts in the names' sentences (the shop's currency symbol, "£");
    # set by whoever knows the shop's currency, not a user parameter
    money_prefix: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if self.reference_date is not None:
            data["reference_date"] = pd.Timestamp(self.reference_date).isoformat()
        return data


@dataclass(frozen=True)
class FeatureTable:
    """Customer features (one row per kept customer, index = customer_id)."""

    features: pd.DataFrame
    reference_date: pd.Timestamp
    excluded: dict[str, int]  # reason -> number of customers dropped
    flagged: dict[str, int] = field(default_factory=dict)  # reason -> kept but flagged


@dataclass(frozen=True)
class PreprocessStep:
    name: str  # "impute" | "outliers" | "encode" | "scale"
    method: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """One fitted (algorithm, k, setting) and its validation scores."""

    algorithm: str
    k: int | None  # requested k (None for DBSCAN)
    setting: str  # e.g. "n_clusters=5" or "eps=0.41,min_samples=10"
    n_clusters: int
    silhouette: float
    davies_bouldin: float
    calinski_harabasz: float
    inertia: float | None
    bic: float | None
    noise_share: float
    min_segment_share: float
    eligible: bool
    reason: str  # why ineligible ("" when eligible)
    fit_seconds: float
    fitted_on: int  # rows the algorithm itself saw (rest extended by a surrogate)
    silhouette_sampled: bool

    @property
    def key(self) -> str:
        return f"{self.algorithm}:{self.setting}"


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    justification: str
    elbow_k: dict[str, int]  # algorithm -> knee of its inertia curve (GMM: BIC minimum)
    ranking: pd.DataFrame  # eligible candidates with their ranks and consensus score
    # bootstrap stability (mean ARI) of the leading candidates measured before choosing
    stability_checked: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentProfile:
    segment_id: int
    name: str
    size: int
    share_customers: float
    share_revenue: float
    medians: dict[str, float]
    means: dict[str, float]
    lift: dict[str, float]  # segment mean / overall mean
    distinguishing: tuple[str, ...]  # features that most set it apart, strongest first
    rule: str
    rule_accuracy: float
    rule_precision: float
    rule_recall: float
    action: str
    rationale: str
    top_country: str | None = None
    # The three axes a marketer reads (see profiling.py for how each is measured):
    value: str = ""  # "top" | "high" | "mid" | "low": median spend's place among customers
    engagement: str = ""  # "frequent" | "repeat" | "one-time": median number of purchases
    activity: str = ""  # ACTIVITY_LABELS key: the status >= 90% of members share
    activity_shares: dict[str, float] = field(default_factory=dict)  # active/cooling/lapsed
    why: str = ""  # one sentence: the numbers behind the name
    # what named its activity: "recency" or "p_alive" (ActivityRhythm.evidence), also in ``why``
    activity_evidence: str = ""
    conditions: tuple[NameCheck, ...] = ()  # the name's conditions, each checked
    # value ahead over the run's horizon (None when the value stage did not run)
    expected_value: float | None = None  # sum over members
    share_expected_value: float | None = None
    value_per_customer: float | None = None
    median_p_alive: float | None = None  # of the repeat buyers; None when it has none


@dataclass(frozen=True)
class Calibration:
    """The customer aggregate table as of ``end``, the first day held out: with it the value
    stage checks its forecast against what customers bought from ``end`` on."""

    aggregates: pd.DataFrame
    end: pd.Timestamp
    # the calibration cohort's purchase days per day up to the reference date (value.py
    # daily_purchase_days), for the weekly tracking chart; None leaves the chart out
    daily_purchase_days: pd.Series | None = None


@dataclass(frozen=True)
class ValueSummary:
    """The value stage's models, settings and holdout check (see value.py)."""

    horizon_days: int
    discount_rate: float
    margin: float
    purchase_model: dict[str, float]  # BG/NBD r, alpha, a, b (weeks)
    spend_model: dict[str, float]  # Gamma-Gamma p, q, v
    total_expected_value: float
    customers: int
    # calibration_end, holdout_weeks, predicted, actual, error, by_purchases rows; None when
    # the run had no way to hold out a period
    holdout: dict[str, Any] | None
    # whose P(alive) each segment's median is over (runs stored before it: every member's)
    median_p_alive_of: str = "repeat_buyers"
    # repeat buyers' purchases against their spend per purchase, which the spend model
    # assumes independent; None when not measurable (and in runs stored before it)
    spend_frequency_correlation: float | None = None


@dataclass(frozen=True)
class NameCheck:
    """One condition of a segment's name, with the segment's value and whether it holds."""

    condition: str  # e.g. "at least 90% of members active"
    observed: str  # e.g. "96% active"
    holds: bool


@dataclass(frozen=True)
class ActivityRhythm:
    """The shop's buying rhythm: how long after a purchase a customer still counts as active.

    ``active_days`` is the 80th percentile of repeat customers' mean gap between purchase days
    (4 in 5 repeat customers buy again within it); a customer is *active* when their last
    purchase is at most that many days old, *cooling* up to twice that, *lapsed* beyond."""

    active_days: float
    lapsed_days: float
    repeat_customers: int  # how many repeat customers the gaps come from
    basis: str  # one sentence on where the numbers come from
    # what named each customer's activity: "recency" (the days above) or "p_alive" (the
    # purchase model's P(alive) for repeat buyers, when it validated on the holdout; see
    # activity.activity_evidence), and one sentence on why
    evidence: str = "recency"
    evidence_basis: str = ""
    # with "p_alive": the P(alive) from which a repeat buyer is active, measured on the shop
    # (activity.p_alive_active_cut)
    p_alive_active: float | None = None


@dataclass(frozen=True)
class RfmGrid:
    scores: pd.DataFrame  # index customer_id: r_score, f_score, m_score, rfm_cell, rfm_segment
    crosstab: pd.DataFrame  # cluster segment names x grid segments (customer counts)
    adjusted_rand: float
    # per axis ("recency_days", "frequency", "monetary_total"): one (score, low, high,
    # customers) per score that occurs, the values its customers span
    edges: dict[str, tuple[tuple[int, float, float, int], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PcaProjection:
    coordinates: pd.DataFrame  # customer_id, pc1, pc2, segment_id (bounded seeded sample)
    explained_variance_ratio: tuple[float, float]


#: Bootstrap stability (mean adjusted Rand index) thresholds and the words for them.
STABLE_ARI = 0.85
MODERATE_ARI = 0.70
STABILITY_WORDS = {
    "stable": "stable",
    "moderate": "moderately stable, review",
    "unstable": "unstable",
}


def stability_verdict(mean_ari: float) -> str:
    """'stable' | 'moderate' | 'unstable' | '' (not measured); keys of STABILITY_WORDS."""
    if mean_ari != mean_ari:  # NaN: stability was not measured
        return ""
    if mean_ari >= STABLE_ARI:
        return "stable"
    return "moderate" if mean_ari >= MODERATE_ARI else "unstable"


@dataclass(frozen=True)
class Stability:
    mean_adjusted_rand: float
    scores: tuple[float, ...]
    resample_size: int
    stable: bool

    @property
    def verdict(self) -> str:
        return stability_verdict(self.mean_adjusted_rand)

    @property
    def words(self) -> str:
        return STABILITY_WORDS.get(self.verdict, "not measured")


@dataclass(frozen=True)
class SegmentationResult:
    params: SegmentationParams
    reference_date: pd.Timestamp
    n_customers: int
    excluded: dict[str, int]
    flagged: dict[str, int]
    features: pd.DataFrame  # raw feature values used (index customer_id)
    preprocessing: tuple[PreprocessStep, ...]
    candidates: tuple[Candidate, ...]
    choice: Choice
    assignments: pd.DataFrame  # customer_id, segment_id, segment_name, confidence
    segments: tuple[SegmentProfile, ...]
    rfm: RfmGrid
    pca: PcaProjection
    stability: Stability
    predictor: Any  # clustering.engine.predictor.SegmentPredictor
    surrogate_agreement: float  # predictor vs the algorithm's own labels on its fit rows
    notes: tuple[str, ...]
    timings: dict[str, float]
    activity: ActivityRhythm | None = None  # the shop's rhythm the activity status uses
    value: ValueSummary | None = None  # value ahead; None when the stage is off or failed

    def candidates_table(self) -> pd.DataFrame:
        rows = [dataclasses.asdict(c) for c in self.candidates]
        return pd.DataFrame(rows)

    @property
    def chosen(self) -> Candidate:
        return self.choice.candidate


def as_float_array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
