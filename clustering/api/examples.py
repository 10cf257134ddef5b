"""Example payloads for the clustering API's OpenAPI schema (Swagger UI shows them).

Plain literals, kept apart from the views so each view module reads as its behaviour;
tests/api/test_schema.py checks the schema they are part of.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

# ------------------------------------------------------------------------------ runs
RUN_EXAMPLE = {
    "id": 12,
    "name": "Spring review",
    "status": "running",
    "stage": "fitting kmeans",
    "progress": 42.0,
    "cancel_requested": False,
    "error": "",
    "created_by": "manager",
    "created_at": "2024-03-01T09:00:00Z",
    "started_at": "2024-03-01T09:00:02Z",
    "finished_at": None,
    "params": {"algorithms": ["kmeans"], "k_min": 2, "k_max": 6},
    "reference_date": None,
    "lookback_days": None,
    "n_customers": None,
    "chosen_algorithm": "",
    "chosen_k": None,
    "chosen_setting": "",
    "is_published": False,
    "published_at": None,
    "published_by": None,
    "trigger": "manager",
    "publication_hold": "",
}

CANDIDATE_EXAMPLE = {
    "algorithm": "kmeans",
    "k": 4,
    "setting": "k=4",
    "n_clusters": 4,
    "silhouette": 0.41,
    "davies_bouldin": 0.88,
    "calinski_harabasz": 912.3,
    "inertia": 1804.2,
    "bic": None,
    "noise_share": 0.0,
    "min_segment_share": 0.08,
    "eligible": True,
    "reason": "",
    "fit_seconds": 0.05,
    "fitted_on": 300,
    "silhouette_sampled": False,
    "consensus_rank": 1.0,
    "is_chosen": True,
}

REPORT_EXAMPLE = {
    **{k: v for k, v in RUN_EXAMPLE.items() if k != "cancel_requested"},
    "status": "succeeded",
    "status_display": "Succeeded",
    "attempts": 1,
    "worker_hostname": "worker@host",
    "data_fingerprint": "3f2a...",
    "data_summary": {"customers": 4338},
    "library_versions": {"scikit-learn": "1.6.1"},
    "excluded": {},
    "flagged": {},
    "preprocessing": [],
    "justification": "k=4 wins on three of four votes.",
    "elbow": {},
    "stability": {
        "mean_adjusted_rand": 0.78,
        "stable": False,
        "verdict": "moderate",
        "words": "moderately stable, review",
        "checked": {"kmeans:n_clusters=4": 0.78, "gmm:n_components=4": 0.64},
    },
    "surrogate_agreement": None,
    "timings": {"read data": 0.4},
    "pca": {"explained_variance_ratio": [0.52, 0.21], "points": []},
    "rfm_comparison": {
        "adjusted_rand": 0.31,
        "edges": {
            "frequency": [
                {"score": 1, "low": 1.0, "high": 1.0, "customers": 1493},
                {"score": 5, "low": 8.0, "high": 209.0, "customers": 868},
            ]
        },
    },
    "activity_rhythm": {
        "active_days": 113.0,
        "lapsed_days": 226.0,
        "repeat_customers": 2845,
        "basis": "4 in 5 repeat customers buy again within 113 days.",
    },
    "notes": [],
    "candidates": [],
    "segments": [],
    "currency": "GBP",
}

# ------------------------------------------------------------------------------ segments
SEGMENT_EXAMPLE = {
    "number": 0,
    "name": "High-value loyal",
    "size": 412,
    "share_customers": 0.095,
    "share_revenue": 0.61,
    "medians": {"recency_days": 9.0, "frequency": 14.0, "monetary_total": 5120.4},
    "means": {"recency_days": 14.2, "frequency": 18.9, "monetary_total": 8931.0},
    "lift": {"monetary_total": 6.4},
    "distinguishing": ["frequency", "monetary_total"],
    "rule": "frequency >= 9 and recency_days <= 30",
    "rule_accuracy": 0.94,
    "rule_precision": 0.9,
    "rule_recall": 0.88,
    "action": "Reward and retain: early access, loyalty perks; no discounts needed.",
    "rationale": "Buy often, recently, and spend the most.",
    "top_country": "United Kingdom",
    "value": "top",
    "engagement": "frequent",
    "activity": "active",
    "activity_shares": {"active": 0.96, "cooling": 0.03, "lapsed": 0.01},
    "why": "bought 9 days ago, 14 orders, £5,120 spent (medians): top 15% on spend, active",
    "conditions": [
        {"condition": "median spend in the top 15%", "observed": "top 9%", "holds": True},
        {"condition": "at least 90% of members active", "observed": "96% active", "holds": True},
    ],
    "expected_value": 412_530.0,
    "share_expected_value": 0.58,
    "value_per_customer": 1001.29,
    "median_p_alive": 0.97,
    "currency": "GBP",
}

MEMBER_EXAMPLE = {
    "customer_id": "17850",
    "country": "United Kingdom",
    "confidence": 0.72,
    "rfm_segment": "Champions",
    "recency_days": 2.0,
    "frequency": 34.0,
    "monetary_total": 5391.2,
    "tenure_days": 373.0,
    "avg_basket_value": 158.6,
    "distinct_products": 21.0,
    "return_rate": 0.02,
    "mean_days_between_purchases": 11.3,
    "p_alive": 0.98,
    "expected_purchases": 7.4,
    "expected_value": 1190.35,
    "next_purchase_days": 8.5,
    "currency": "GBP",
    "fit": "clear member, next closest to Loyal customers",
    "runner_up": "Loyal customers",
    "activity": "active",
    "activity_by": "p_alive",
    "activity_warning": "",
    "contact": {"email": "ann@example.com", "name": "Ann Smith"},
}

# ------------------------------------------------------------------------------ predict
PREDICT_EXAMPLES = [
    OpenApiExample(
        "Known customer",
        value={"customer_id": "17850"},
        request_only=True,
    ),
    OpenApiExample(
        "Raw features",
        value={
            "features": {
                "recency_days": 12,
                "frequency": 5,
                "monetary_total": 1200.5,
                "tenure_days": 300,
                "avg_basket_value": 240.1,
            }
        },
        request_only=True,
    ),
    OpenApiExample(
        "Batch",
        value={
            "customers": [
                {"customer_id": "17850"},
                {
                    "features": {
                        "recency_days": 200,
                        "frequency": 1,
                        "monetary_total": 80,
                        "tenure_days": 200,
                        "avg_basket_value": 80,
                    }
                },
            ]
        },
        request_only=True,
    ),
    OpenApiExample(
        "Stored segment",
        value={
            "run_id": 12,
            "customer_id": "17850",
            "segment_number": 0,
            "segment_id": 0,
            "segment_name": "High-value loyal",
            "action": "Reward and retain: early access, loyalty perks; no discounts needed.",
            "value": "top",
            "engagement": "frequent",
            "activity": "active",
            "why": "bought 9 days ago, 14 orders, £5,120 spent (medians): top 15% on spend, active",
            "confidence": 0.72,
            "source": "stored",
            "p_alive": 0.98,
            "expected_purchases": 7.4,
            "expected_value": 1190.35,
            "next_purchase_days": 8.5,
            "currency": "GBP",
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "Predicted from features",
        value={
            "run_id": 12,
            "customer_id": None,
            "segment_number": 1,
            "segment_id": 1,
            "segment_name": "Loyal regulars",
            "action": "Keep them buying: a thank-you and new arrivals.",
            "value": "high",
            "engagement": "frequent",
            "activity": "active",
            "why": "bought 15 days ago, 6 orders, £1,480 spent (medians): top 40% on spend, active",
            "confidence": 0.64,
            "source": "predicted",
            "p_alive": 0.97,
            "expected_purchases": 1.6,
            "expected_value": 371.2,
            "next_purchase_days": 41.0,
            "currency": "GBP",
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "Batch results",
        value={
            "run_id": 12,
            "currency": "GBP",
            "results": [
                {
                    "index": 0,
                    "customer_id": "17850",
                    "segment_number": 0,
                    "segment_id": 0,
                    "segment_name": "High-value loyal",
                    "action": "Reward and retain.",
                    "confidence": 0.72,
                    "source": "stored",
                    "p_alive": 0.98,
                    "expected_purchases": 7.4,
                    "expected_value": 1190.35,
                    "next_purchase_days": 8.5,
                    "currency": "GBP",
                    "error": None,
                },
                {
                    "index": 1,
                    "customer_id": "99999",
                    "segment_number": None,
                    "segment_id": None,
                    "segment_name": None,
                    "action": None,
                    "confidence": None,
                    "source": None,
                    "p_alive": None,
                    "expected_purchases": None,
                    "expected_value": None,
                    "currency": "GBP",
                    "error": "customer not in the published segmentation; send features instead",
                },
            ],
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "Feature out of range",
        value={
            "status": 400,
            "code": "invalid",
            "detail": "Some fields are not valid; see fields.",
            "fields": {
                "features": {"recency_days": ["Ensure this value is greater than or equal to 0."]}
            },
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Unknown customer",
        value={
            "status": 404,
            "code": "customer_not_in_segmentation",
            "detail": "customer not in the published segmentation; send features instead",
            "fields": {},
        },
        response_only=True,
        status_codes=["404"],
    ),
]
