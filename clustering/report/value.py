"""The value stage on the run report, in words a manager can read: the assumptions (horizon,
discount rate, margin), the models' parameters, the holdout check and its two charts (the
week-by-week tracking and the conditional expectation), and why
there is nothing to show when the stage did not run.

Everything reads what the run stored (``run.value_ahead``, clustering.engine.value's
ValueSummary as JSON). Runs stored before the stage existed hold ``{}``.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

#: Holdout error (predicted / actual - 1) within which the forecast is called close, and
#: beyond which it is called unreliable; in between it is rough.
CLOSE_ERROR = 0.10
ROUGH_ERROR = 0.25
#: Correlation of repeat buyers' purchases and spend per purchase beyond which the spend
#: model's independence assumption is called into question (Cohen's "medium" effect).
SPEND_CORRELATION_WARN = 0.3


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _value_notes(notes: list[str] | None) -> list[str]:
    """The run's notes about the value stage ("value ahead ..."), as written by the engine."""
    return [n for n in notes or [] if str(n).lower().startswith("value ahead")]


def value_view(
    value_ahead: dict | None,
    params: dict | None,
    notes: list[str] | None,
    data_summary: dict | None,
    reference_date: date | None,
) -> dict[str, Any]:
    """The "Value ahead" section: ``ran`` False with ``reason`` when there is nothing to show;
    otherwise the assumptions, the models and the holdout check (``holdout`` None with
    ``holdout_reason`` when the run could not hold out a period)."""
    value_ahead = value_ahead or {}
    params = params or {}
    stage_notes = _value_notes(notes)
    if not value_ahead:
        if "value_horizon_days" not in params:
            reason = "This run was made before value estimates existed; run it again to see them."
        elif not params.get("value_horizon_days"):
            reason = "The value estimate was turned off for this run (value horizon 0 days)."
        else:
            reason = "The value models could not be fitted on these customers."
        return {"ran": False, "reason": reason, "notes": stage_notes}

    discount = _finite(value_ahead.get("discount_rate")) or 0.0
    margin = _finite(value_ahead.get("margin"))
    purchases = value_ahead.get("purchase_model") or {}
    spend = value_ahead.get("spend_model") or {}
    p, q, v = (_finite(spend.get(k)) for k in ("p", "q", "v"))
    mean_spend = p * v / (q - 1) if p is not None and v is not None and q and q > 1 else None
    return {
        "ran": True,
        "horizon_days": value_ahead.get("horizon_days"),
        "discount_rate": discount,
        # what a sale a year ahead counts for today
        "year_ahead_worth": 1 / (1 + discount),
        "margin": margin,
        "margin_is_revenue": margin is not None and margin >= 1,
        "total_expected_value": _finite(value_ahead.get("total_expected_value")),
        "customers": value_ahead.get("customers"),
        "purchase_model": _purchase_words(purchases),
        "spend_model": {"p": p, "q": q, "v": v, "mean_spend": mean_spend},
        "spend_independence": _spend_independence(value_ahead.get("spend_frequency_correlation")),
        "holdout": holdout_view(value_ahead.get("holdout"), data_summary, reference_date),
        "holdout_reason": _holdout_reason(value_ahead.get("holdout"), stage_notes),
        "notes": stage_notes,
    }


def _purchase_words(model: dict) -> dict[str, float | None]:
    """BG/NBD's parameters, with what they mean: the weekly purchase rate of a typical active
    customer (r / alpha) and the chance of stopping after a purchase (a / (a + b))."""
    r, alpha, a, b = (_finite(model.get(k)) for k in ("r", "alpha", "a", "b"))
    return {
        "r": r,
        "alpha": alpha,
        "a": a,
        "b": b,
        "weekly_rate": r / alpha if r is not None and alpha else None,
        "dropout": a / (a + b) if a is not None and b is not None and a + b > 0 else None,
    }


def _spend_independence(correlation: Any) -> dict[str, Any] | None:
    """The spend model's assumption checked: the correlation in words; None when the run
    did not measure it."""
    r = _finite(correlation)
    if r is None:
        return None
    if abs(r) < SPEND_CORRELATION_WARN:
        return {"correlation": r, "level": "ok", "words": "weak, as the spend model assumes"}
    side = "more" if r > 0 else "less"
    return {
        "correlation": r,
        "level": "warn",
        "words": f"customers who buy more often spend {side} per purchase, which the spend "
        "model does not allow for: read each customer's expected spend with care",
    }


def _holdout_reason(holdout: dict | None, stage_notes: list[str]) -> str:
    if holdout:
        return ""
    for note in stage_notes:
        if "holdout" in note:
            return note.split(":", 1)[-1].strip().capitalize()
    return "The run had no holdout period to check the forecast on."


def value_check(run) -> dict[str, Any] | None:
    """How far to trust a run's values, for the pages that show them beside its segments:
    its holdout check in words (``holdout_view``); None when it had none."""
    value_ahead = run.value_ahead or {}
    return holdout_view(value_ahead.get("holdout"), run.data_summary, run.reference_date)


def holdout_view(
    holdout: dict | None, data_summary: dict | None, reference_date: date | None
) -> dict[str, Any] | None:
    """The holdout check in words: calibration dates, holdout weeks, predicted and actual
    repeat purchases, the error and how to read it; None when there was no check."""
    if not holdout:
        return None
    predicted = _finite(holdout.get("predicted"))
    actual = holdout.get("actual")
    error = _finite(holdout.get("error"))
    end = _date(holdout.get("calibration_end"))
    first = _date((data_summary or {}).get("window_start") or "") or _date(
        (data_summary or {}).get("first_purchase") or ""
    )
    if error is None:
        verdict, level = "no repeat purchases in the holdout to compare with", "warn"
    elif abs(error) <= CLOSE_ERROR:
        verdict, level = "close: the forecast can be relied on for planning", "ok"
    elif abs(error) <= ROUGH_ERROR:
        verdict, level = "rough: read the values as an order of magnitude", "warn"
    else:
        verdict, level = "unreliable: do not plan on these values without a review", "bad"
    return {
        "calibration_from": first,
        "calibration_to": end - timedelta(days=1) if end else None,
        "holdout_from": end,
        "holdout_to": reference_date - timedelta(days=1) if reference_date else None,
        "weeks": _finite(holdout.get("holdout_weeks")),
        "predicted": predicted,
        "actual": actual,
        "error": error,
        "error_text": "—" if error is None else f"{error:+.1%}",
        "error_words": _error_words(error),
        "verdict": verdict,
        "level": level,
        "rows": holdout_rows(holdout),
        "weeks_rows": tracking_rows(holdout),
    }


def _error_words(error: float | None) -> str:
    """The aggregate error as a manager says it: "7.4% fewer repeat purchases than customers
    made"."""
    if error is None:
        return ""
    if round(abs(error), 3) == 0:
        return "as many repeat purchases as customers made"
    side = "fewer" if error < 0 else "more"
    return f"{abs(error):.1%} {side} repeat purchases than customers made"


def tracking_rows(holdout: dict) -> list[dict[str, Any]]:
    """The tracking chart's weeks: the week's last day, cumulative actual and predicted repeat
    purchases of the calibration's customers, and whether the week is in the holdout."""
    return [
        {
            "week_end": _date(w.get("week_end")),
            "actual": w.get("actual"),
            "predicted": _finite(w.get("predicted")),
            "holdout": bool(w.get("holdout")),
        }
        for w in holdout.get("weekly") or []
    ]


def holdout_rows(holdout: dict) -> list[dict[str, Any]]:
    """Per number of calibration repeat purchases (the last row "7+"): customers, actual and
    predicted holdout purchases per customer."""
    rows = holdout.get("by_purchases") or []
    last = max((r["purchases"] for r in rows), default=0)
    return [
        {
            "label": f"{r['purchases']}+"
            if r["purchases"] == last and last >= 7
            else str(r["purchases"]),
            "customers": r.get("customers"),
            "actual": _finite(r.get("actual")),
            "predicted": _finite(r.get("predicted")),
        }
        for r in rows
    ]


def holdout_chart(view: dict[str, Any]) -> dict[str, Any]:
    """Conditional expectation: actual against predicted holdout purchases per customer, by
    number of repeat purchases in the calibration period (for static/js/charts.js)."""
    holdout = view.get("holdout") if view.get("ran") else None
    rows = holdout["rows"] if holdout else []
    return {
        "labels": [r["label"] for r in rows],
        "actual": [None if r["actual"] is None else round(r["actual"], 3) for r in rows],
        "predicted": [None if r["predicted"] is None else round(r["predicted"], 3) for r in rows],
    }


def tracking_chart(view: dict[str, Any]) -> dict[str, Any]:
    """Cumulative repeat purchases by week, actual and predicted, over the calibration period
    and the holdout (for static/js/charts.js); ``split`` is the last calibration week's index
    (None without weeks)."""
    holdout = view.get("holdout") if view.get("ran") else None
    rows = holdout["weeks_rows"] if holdout else []
    calibration = [i for i, r in enumerate(rows) if not r["holdout"]]
    return {
        "labels": [r["week_end"].isoformat() if r["week_end"] else "" for r in rows],
        "actual": [r["actual"] for r in rows],
        "predicted": [None if r["predicted"] is None else round(r["predicted"]) for r in rows],
        "split": calibration[-1] if calibration else None,
    }


def value_context(run) -> dict[str, Any]:
    """The run report's context for the section (views.py adds it to the page's)."""
    view = value_view(run.value_ahead, run.params, run.notes, run.data_summary, run.reference_date)
    return {
        "value": view,
        "holdout_chart": holdout_chart(view),
        "tracking_chart": tracking_chart(view),
    }
