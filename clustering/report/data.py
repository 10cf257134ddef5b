"""Everything stored for a segmentation run, as plain JSON-ready data.

The run report page, its JSON download and the REST API all read a run through
``run_report_data`` so they agree on names and shapes. It only reads what the run stored
(no recomputation over the customers), in three queries: the run, its candidates, its
segments. Assignments (one row per customer) are not included: they are downloaded as CSV.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from clustering.models import SegmentationRun

from .axes import stability_with_words

#: Stored run fields, in the order a reader meets them in the report.
RUN_FIELDS = (
    "id",
    "name",
    "status",
    "stage",
    "progress",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "attempts",
    "worker_hostname",
    "params",
    "reference_date",
    "lookback_days",
    "data_fingerprint",
    "data_summary",
    "library_versions",
    "n_customers",
    "excluded",
    "flagged",
    "preprocessing",
    "chosen_algorithm",
    "chosen_k",
    "chosen_setting",
    "justification",
    "elbow",
    "stability",
    "surrogate_agreement",
    "timings",
    "pca",
    "rfm_comparison",
    "activity_rhythm",
    "value_ahead",
    "notes",
    "is_published",
    "published_at",
    "members_removed_at",
)

CANDIDATE_FIELDS = (
    "algorithm",
    "k",
    "setting",
    "n_clusters",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "inertia",
    "bic",
    "noise_share",
    "min_segment_share",
    "eligible",
    "reason",
    "fit_seconds",
    "fitted_on",
    "silhouette_sampled",
    "consensus_rank",
    "is_chosen",
)

SEGMENT_FIELDS = (
    "number",
    "name",
    "size",
    "share_customers",
    "share_revenue",
    "medians",
    "means",
    "lift",
    "distinguishing",
    "rule",
    "rule_accuracy",
    "rule_precision",
    "rule_recall",
    "action",
    "rationale",
    "top_country",
    "value",
    "engagement",
    "activity",
    "activity_shares",
    "activity_evidence",
    "why",
    "conditions",
    "expected_value",
    "share_expected_value",
    "value_per_customer",
    "median_p_alive",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def run_candidate_rows(run: SegmentationRun) -> list[dict[str, Any]]:
    """The candidates table, one dict per fitted (algorithm, setting), in table order."""
    rows = run.candidates.order_by("algorithm", "n_clusters", "setting")
    return list(rows.values(*CANDIDATE_FIELDS))


def run_segment_rows(run: SegmentationRun) -> list[dict[str, Any]]:
    """The segment profiles, by segment number."""
    return list(run.segments.order_by("number").values(*SEGMENT_FIELDS))


def run_report_data(run: SegmentationRun) -> dict[str, Any]:
    """The whole stored run: its fields, who made and published it, candidates, segments."""
    data = {name: _plain(getattr(run, name)) for name in RUN_FIELDS}
    # Runs stored before the stability verdict was saved: its words from their mean ARI.
    data["stability"] = stability_with_words(run.stability)
    data["status_display"] = run.get_status_display()
    data["created_by"] = run.created_by.get_username() if run.created_by_id else None
    data["published_by"] = run.published_by.get_username() if run.published_by_id else None
    data["candidates"] = run_candidate_rows(run)
    data["segments"] = run_segment_rows(run)
    return data
