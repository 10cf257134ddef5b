"""How an import's outcome is told: why it stopped without writing (in words a user can act
on), and the summary of what it stored, computed once when it finishes."""

from __future__ import annotations

import zoneinfo
from collections import Counter, defaultdict

from django.db.models import Count, Max, Min, Q, Sum

from transaction_files.errors import ImportFileError

from ..models import TransactionLine
from .figures import StoredTotals

EXAMPLES_PER_PROBLEM = 5
PROBLEMS_SHOWN = 10

# The rule a rejection broke, from the start of the Normaliser's (or the reader's) message.
_PHRASES = (
    ("Not a date", "an unreadable date"),
    ("Dated before", "a date before the earliest year accepted"),
    ("Dated after", "a date after the upload"),
    ("Not a number", "an unreadable number"),
    ("Number out of range", "a number out of range"),
    ("Not in ", "another currency than the workspace's"),
    ("Missing value", "a missing value"),
    ("Longer than", "text too long"),
    ("Holds a NUL", "binary data"),
    ("Expected", "the wrong number of columns"),
)


class ImportStopped(ImportFileError):
    """The import stopped before storing anything; `run` (an ImportPass) holds the counts
    and the rejected rows to keep, so the page can show why."""

    def __init__(self, message: str, run):
        super().__init__(message)
        self.run = run


def problem_phrase(message: str) -> str:
    for start, phrase in _PHRASES:
        if message.startswith(start):
            return phrase
    return f"“{message.rstrip('.')}”"


def commonest_problem(problems: Counter) -> str:
    """'an unreadable date in column 'week_no'' for the commonest (column, message)."""
    if not problems:
        return ""
    (column, message), _ = problems.most_common(1)[0]
    phrase = problem_phrase(message)
    return f"{phrase} in column '{column}'" if column else phrase


def advice(problems: Counter) -> str:
    """What to check for the commonest problem: a row of the wrong width is no mapping's
    fault."""
    if problems and not problems.most_common(1)[0][0][0]:
        return "check the file's delimiter and quoting"
    return "check the column mapping"


def nothing_stored_message(run) -> str:
    """Why an import that read rows stored none (nor found any already stored)."""
    parts = []
    if run.rows_rejected:
        problems = Counter((row.column, row.message) for row in run.rejected)
        parts.append(f"{run.rows_rejected:,} were rejected, most for {commonest_problem(problems)}")
    if run.reasons.get("skipped_no_customer_id"):
        parts.append(f"{run.reasons['skipped_no_customer_id']:,} had no customer id")
    if run.reasons.get("skipped_placeholder_customer_id"):
        ids = ", ".join(f"“{p['id']}”" for p in placeholder_ids(run))
        parts.append(
            f"{run.reasons['skipped_placeholder_customer_id']:,} had a customer id that stands "
            f"for no customer ({ids})"
        )
    if run.reasons.get("skipped_cancelled_order"):
        parts.append(
            f"{run.reasons['skipped_cancelled_order']:,} belonged to orders cancelled, refunded "
            "or voided, or to checkouts never finished"
        )
    why = "; ".join(parts) if parts else "none of them held a usable line"
    kept = (
        " If those ids are real customers of the shop, list them under “Customer ids to "
        "keep” in the shop's settings."
        if run.reasons.get("skipped_placeholder_customer_id")
        else ""
    )
    return (
        f"None of the {run.rows_read:,} rows could be stored: {why}. Check the column "
        f"mapping (the customer id, date and amount columns).{kept} Nothing was imported."
    )


def stored_totals(record) -> StoredTotals:
    """The totals of the lines `record` stored, read back from the line table (a scan of
    the workspace's lines: the import counts its own as they pass, see figures.py)."""
    lines = TransactionLine.objects.in_workspace(record.workspace).filter(
        import_record_id=record.pk
    )
    purchase = Q(is_return=False, is_non_product=False)
    totals = lines.aggregate(
        first=Min("timestamp"),
        last=Max("timestamp"),
        customers=Count("customer_id", distinct=True),
        orders=Count("invoice", distinct=True),
        revenue=Sum("amount", filter=purchase),
    )
    return StoredTotals(**totals)


def stored_figures(record, totals: StoredTotals | None = None) -> dict:
    """The period, customers, orders and revenue of the lines `record` stored, in its
    workspace (dates as the shop's local dates); from `totals` when the import counted them,
    else read back."""
    if totals is None:
        totals = stored_totals(record)
    tz = zoneinfo.ZoneInfo(record.workspace.time_zone)

    def day(value):
        return value.astimezone(tz).date().isoformat() if value is not None else None

    revenue = totals.revenue
    return {
        "first_date": day(totals.first),
        "last_date": day(totals.last),
        "customers": totals.customers,
        "orders": totals.orders,
        "revenue": f"{revenue:.2f}" if revenue is not None else "0.00",
    }


def rejected_examples(rejected) -> list[dict]:
    """The rejected rows grouped by problem (column and message), commonest first, each
    with its count among the kept rows and up to EXAMPLES_PER_PROBLEM examples."""
    counts: Counter = Counter()
    examples: dict[tuple, list] = defaultdict(list)
    for row in rejected:
        key = (row.column, row.message)
        counts[key] += 1
        if len(examples[key]) < EXAMPLES_PER_PROBLEM:
            examples[key].append({"line": row.line_number, "value": row.value[:80]})
    return [
        {"column": column, "problem": message, "count": n, "examples": examples[(column, message)]}
        for (column, message), n in counts.most_common(PROBLEMS_SHOWN)
    ]


def placeholder_ids(run) -> list[dict]:
    """The customer ids skipped as standing for no customer, commonest first, with their
    rows (at most PROBLEMS_SHOWN)."""
    common = run.placeholder_ids.most_common(PROBLEMS_SHOWN)
    return [{"id": value[:80], "rows": n} for value, n in common]


def import_summary(record, run=None, totals: StoredTotals | None = None) -> dict:
    """The figures the import's page shows; `run` (the ImportPass) gives the rejected rows'
    examples and the placeholder ids, else there are none; `totals`, the stored lines'
    totals if counted already."""
    summary = stored_figures(record, totals)
    summary["rejected"] = rejected_examples(run.rejected) if run is not None else []
    summary["placeholder_ids"] = placeholder_ids(run) if run is not None else []
    if run is not None and run.top_customers:
        # The file's largest customer by rows (summed over each chunk's largest few: exact
        # for one that stands out), against the rows that named a customer.
        [(top, rows)] = run.top_customers.most_common(1)
        of_rows = run.rows_read - run.rows_skipped
        summary["largest_customer"] = {"id": top[:80], "rows": rows, "of_rows": of_rows}
    return summary
