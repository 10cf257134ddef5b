"""python -m clustering.engine FILE [--mapping field=Column,...] [--date-order ORDER]
                            [--algorithms ...] [--k-min 2 --k-max 10] [--seed 42]

Reads a transaction file (CSV, gzip CSV or XLSX) as the web import reads it: Online Retail,
CDNOW and other headers the import recognises need no mapping; for any other layout,
--mapping names the column of each field, e.g.
customer_id=household_id,invoice=basket_id,product_code=product_id,quantity=quantity,
amount=sales_value,timestamp=transaction_timestamp. Then runs the segmentation and prints
the candidate table, the choice with its justification and the segments. A file or mapping
that cannot be used is reported on stderr, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from transaction_files.code_pages import CODE_PAGES, DEFAULT_CODE_PAGE
from transaction_files.columns import FIELDS, parse_mapping_text
from transaction_files.dates import ORDERS
from transaction_files.errors import ImportFileError, MappingNeeded
from transaction_files.reader import FileLines

from .loaders import read_file, to_transaction_lines
from .pipeline import describe_candidates, run_segmentation
from .types import (
    ALGORITHM_NAMES,
    DEFAULT_ALGORITHMS,
    DEFAULT_FEATURES,
    InvalidParameters,
    SegmentationParams,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m clustering.engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("file")
    ap.add_argument(
        "--mapping",
        default="",
        help="field=Column pairs, comma-separated, for the columns the header does not "
        f"name recognisably; fields: {', '.join(FIELDS)} (customer_id, timestamp and "
        "unit_price or amount are needed)",
    )
    ap.add_argument(
        "--date-order",
        choices=ORDERS,
        default=None,
        help="how to read dates such as 01/02/2011 (default: decided from the dates)",
    )
    ap.add_argument("--sheet", default="", help="the sheet of an XLSX workbook")
    ap.add_argument(
        "--code-page",
        choices=list(CODE_PAGES),
        default=DEFAULT_CODE_PAGE,
        help="what a file that is not UTF-8 is written in (default: Windows-1252)",
    )
    ap.add_argument(
        "--algorithms", nargs="+", default=list(DEFAULT_ALGORITHMS), choices=ALGORITHM_NAMES
    )
    ap.add_argument("--features", nargs="+", default=list(DEFAULT_FEATURES))
    ap.add_argument("--k-min", type=int, default=2)
    ap.add_argument("--k-max", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scaler", default="standard")
    ap.add_argument("--outliers", default="log1p")
    ap.add_argument("--lookback-days", type=int, default=None)
    ap.add_argument("--save-predictor", default=None, help="write the predictor (joblib)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    try:
        read = read_file(
            args.file,
            mapping=parse_mapping_text(args.mapping),
            date_order=args.date_order,
            sheet=args.sheet,
            code_page=args.code_page,
        )
    except MappingNeeded as exc:
        fields = [f if f in FIELDS else "amount" for f in exc.missing]  # or unit_price
        example = ",".join(f"{f}=<column>" for f in fields)
        print(
            f"{args.file}: {exc}\nName them with --mapping, e.g. --mapping "
            f"{example} (fields: {', '.join(FIELDS)}).",
            file=sys.stderr,
        )
        return 2
    except ImportFileError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{args.file}: cannot read the file: {exc.strerror or exc}", file=sys.stderr)
        return 2
    lines = to_transaction_lines(read.lines)
    _print_reading(read)
    if lines.empty:
        print(f"{args.file}: no line could be read; nothing to segment.", file=sys.stderr)
        return 2
    params = SegmentationParams(
        features=tuple(args.features),
        algorithms=tuple(args.algorithms),
        k_min=args.k_min,
        k_max=args.k_max,
        seed=args.seed,
        scaler=args.scaler,
        outliers=args.outliers,
        lookback_days=args.lookback_days,
    )
    try:
        result = run_segmentation(lines, params)
    except InvalidParameters as exc:
        print(f"invalid parameter {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0

    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(
            f"{len(lines):,} lines -> {result.n_customers:,} customers "
            f"(reference date {result.reference_date.date()}); {elapsed:.1f} s\n"
        )
        print(describe_candidates(result).round(3).to_string(index=False))
        print("\nChoice:", result.choice.justification, "\n")
        rows = [
            {
                "segment": s.name,
                "customers": s.size,
                "share": f"{s.share_customers:.1%}",
                "revenue": f"{s.share_revenue:.1%}",
                "recency": s.medians["recency_days"],
                "orders": s.medians["frequency"],
                "spend": round(s.medians["monetary_total"]),
                "rule": f"{s.rule} ({s.rule_accuracy:.0%})",
            }
            for s in result.segments
        ]
        print(pd.DataFrame(rows).to_string(index=False))
        print()
        for s in result.segments:
            print(f"- {s.name}: {s.action}")
        print(f"\nRFM grid vs clusters: adjusted Rand {result.rfm.adjusted_rand:.2f}")
        for note in result.notes:
            print("note:", note)
    if args.save_predictor:
        result.predictor.save(args.save_predictor)
        print("predictor saved to", args.save_predictor)
    return 0


def _print_reading(read: FileLines) -> None:
    mapped = ", ".join(f"{field}={column}" for field, column in read.mapping.items())
    print(f"columns: {mapped}")
    if read.date_order:
        print(f"date order: {read.date_order}")
    print(
        f"{read.rows_read:,} rows read, {len(read.lines):,} lines kept, "
        f"{read.rows_skipped:,} skipped (no customer id, or an order that was no sale), "
        f"{read.rows_rejected:,} rejected"
    )
    for notice in read.notices:
        print("notice:", notice)
    for r in read.rejections[:5]:
        where = f"line {r.line_number}" + (f", column {r.column}" if r.column else "")
        print(f"rejected ({where}): {r.message} {r.value!r}")
    print()


if __name__ == "__main__":
    sys.exit(main())
