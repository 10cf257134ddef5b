"""`python -m clustering.engine FILE [--mapping ...]` reads files as the web import does
(transaction_files): recognised layouts without a mapping, any other layout with one; a
file or mapping it cannot use is a message on stderr and exit status 2, not a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clustering.engine import loaders
from clustering.engine.__main__ import main
from clustering.engine.loaders import read_transactions
from clustering.engine.types import TRANSACTION_COLUMNS
from transaction_files import normalise
from transaction_files.errors import ImportFileError

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
RETAIL_SLICE = FIXTURES / "engine_online_retail_slice.csv"
CDNOW_SLICE = FIXTURES / "cdnow_slice.csv"

HOUSEHOLD_MAPPING = (
    "customer_id=household_id,invoice=basket_id,product_code=product_id,"
    "quantity=quantity,amount=sales_value,timestamp=transaction_timestamp"
)
MAPPING = dict(pair.split("=") for pair in HOUSEHOLD_MAPPING.split(","))
FAST = ["--algorithms", "kmeans", "--k-min", "2", "--k-max", "4"]


def household_file(path: Path, *, households: int = 60, seed: int = 0) -> pd.DataFrame:
    """A basket-level export of another shop's layout (no column name the import knows),
    households of varied habits; every household buys at least once."""
    rng = np.random.default_rng(seed)
    rows = []
    basket = 1000
    start = pd.Timestamp("2023-01-02 09:00")
    for h in range(households):
        habit = h % 3  # occasional, regular, frequent big spenders
        visits = int(rng.integers(1, 4)) + 6 * habit
        days = np.sort(rng.choice(700, size=visits, replace=False))
        for day in days:
            basket += 1
            when = start + pd.Timedelta(days=int(day), minutes=int(rng.integers(0, 600)))
            for _ in range(int(rng.integers(1, 4 + 2 * habit))):
                qty = int(rng.integers(1, 4))
                price = round(float(rng.uniform(0.5, 8.0)) * (1 + habit), 2)
                rows.append(
                    {
                        "household_id": f"H{h:04d}",
                        "basket_id": basket,
                        "product_id": int(rng.integers(100, 160)),
                        "quantity": qty,
                        "sales_value": round(qty * price, 2),
                        "transaction_timestamp": when.strftime("%Y-%m-%d %H:%M:%S"),
                        "store_id": int(rng.integers(1, 5)),
                    }
                )
    frame = pd.DataFrame(rows)
    # A few returned lines: negative quantities, as such exports show them.
    returned = frame.sample(n=5, random_state=seed).copy()
    returned["basket_id"] += 100_000
    returned["quantity"] *= -1
    returned["sales_value"] *= -1
    frame = pd.concat([frame, returned], ignore_index=True)
    frame.to_csv(path, index=False)
    return frame


def test_a_file_of_another_layout_is_segmented_with_a_mapping(tmp_path, capsys):
    path = tmp_path / "households.csv"
    raw = household_file(path)

    assert main([str(path), "--mapping", HOUSEHOLD_MAPPING, *FAST]) == 0

    out = capsys.readouterr().out
    summary = re.search(r"^([\d,]+) lines -> ([\d,]+) customers", out, re.MULTILINE)
    assert summary, out
    assert int(summary[1].replace(",", "")) == len(raw)
    assert int(summary[2].replace(",", "")) == raw["household_id"].nunique()
    segments = re.findall(r"^- (.+?): ", out, re.MULTILINE)
    assert 2 <= len(segments) <= 4
    assert len(set(segments)) == len(segments)
    assert all(name.strip() for name in segments)


def test_mapped_lines_are_canonical_and_follow_the_import_rules(tmp_path):
    path = tmp_path / "households.csv"
    raw = household_file(path, households=12)

    lines = read_transactions(path, mapping=MAPPING)

    assert list(lines.columns) == list(TRANSACTION_COLUMNS)
    assert len(lines) == len(raw)
    assert set(lines["customer_id"]) == set(raw["household_id"])
    assert lines["is_return"].sum() == (raw["quantity"] < 0).sum()
    assert not lines["is_non_product"].any()
    # No unit price column: the import derives it from the line amount and the quantity.
    assert np.allclose(lines["unit_price"] * lines["quantity"], lines["amount"], atol=0.01)
    assert lines["timestamp"].min() == pd.Timestamp(raw["transaction_timestamp"].min())


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        ("customer_id=household_id,shop=store_id", "Unknown field(s) in the mapping: shop"),
        ("customer_id=household_id,amount=sales_total", "no column named sales_total"),
        ("customer_id=household_id,amount=sales_value", "Date / time"),
        ("customer_id household_id", "must look like field=Column"),
    ],
)
def test_a_bad_mapping_exits_2_naming_the_problem(tmp_path, capsys, mapping, problem):
    path = tmp_path / "households.csv"
    household_file(path, households=3)

    assert main([str(path), "--mapping", mapping, *FAST]) == 2

    captured = capsys.readouterr()
    assert problem in captured.err
    assert "Traceback" not in captured.err
    assert "customers" not in captured.out  # nothing was segmented


def test_an_unrecognised_header_without_mapping_asks_for_one(tmp_path, capsys):
    path = tmp_path / "households.csv"
    household_file(path, households=3)

    assert main([str(path), *FAST]) == 2

    err = capsys.readouterr().err
    assert "were not recognised" in err and "household_id" in err and "--mapping" in err


def test_an_unreadable_file_exits_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.csv"), *FAST]) == 2
    assert "missing.csv" in capsys.readouterr().err

    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02 not text" * 100)
    assert main([str(binary), *FAST]) == 2
    assert "binary data" in capsys.readouterr().err


def test_the_command_exits_2_without_a_traceback(tmp_path):
    """The real `python -m` entry point: status and stderr as a shell sees them."""
    path = tmp_path / "households.csv"
    household_file(path, households=3)
    done = subprocess.run(
        [sys.executable, "-m", "clustering.engine", str(path), "--mapping", "buyer=household_id"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Unknown field(s) in the mapping: buyer" in done.stderr
    assert "Traceback" not in done.stderr


def test_day_first_dates_need_the_date_order_when_ambiguous(tmp_path, capsys):
    path = tmp_path / "households.csv"
    raw = household_file(path, households=4)
    # Day-first dates whose days are all 12 or less: either order would read them.
    when = pd.to_datetime(raw["transaction_timestamp"])
    when = when.apply(lambda t: t.replace(day=min(t.day, 12)))
    raw["transaction_timestamp"] = when.dt.strftime("%d/%m/%Y %H:%M")
    raw.to_csv(path, index=False)

    with pytest.raises(ImportFileError, match="ambiguous"):
        read_transactions(path, mapping=MAPPING)
    assert main([str(path), "--mapping", HOUSEHOLD_MAPPING, *FAST]) == 2
    assert "Choose the date order" in capsys.readouterr().err

    lines = read_transactions(path, mapping=MAPPING, date_order="dayfirst")
    assert lines["timestamp"].sort_values().tolist() == sorted(when.dt.floor("min"))


def test_online_retail_slice_reads_without_a_mapping_by_the_import_rules():
    raw = pd.read_csv(RETAIL_SLICE, dtype=str)
    assert loaders.detect_format(RETAIL_SLICE) == "online_retail"

    lines = read_transactions(RETAIL_SLICE)

    assert list(lines.columns) == list(TRANSACTION_COLUMNS)
    kept = raw[raw["CustomerID"].notna()]
    assert len(lines) == len(kept)
    assert lines["customer_id"].nunique() == kept["CustomerID"].nunique()
    assert lines["customer_id"].str.fullmatch(r"\d+").all()  # "17850.0" -> "17850"
    # Returns: cancelled invoices ("C...") and negative quantities.
    returns = kept["InvoiceNo"].str.startswith("C") | (kept["Quantity"].astype(float) < 0)
    assert lines["is_return"].sum() == returns.sum() > 0
    # Non-product lines by the import's one list of stock codes (the engine has none).
    code = kept["StockCode"].str.upper()
    non_product = (
        code.isin(normalise.NON_PRODUCT_CODES)
        | code.str.startswith(normalise.NON_PRODUCT_PREFIXES)
        | kept["InvoiceNo"].str.startswith("A")
    )
    assert lines["is_non_product"].sum() == non_product.sum() > 0
    assert not hasattr(loaders, "NON_PRODUCT_CODES")
    assert lines["timestamp"].min() == pd.Timestamp(kept["InvoiceDate"].min())


def test_cdnow_slice_reads_without_a_mapping():
    raw = pd.read_csv(CDNOW_SLICE, dtype=str)
    assert loaders.detect_format(CDNOW_SLICE) == "cdnow"

    lines = read_transactions(CDNOW_SLICE)

    assert len(lines) == len(raw)
    assert lines["customer_id"].nunique() == raw["customer_id"].nunique()
    assert not lines["is_return"].any() and not lines["is_non_product"].any()
    # No invoice column: one purchase occasion per customer and day.
    occasions = raw.groupby(["customer_id", "date"]).ngroups
    assert lines["invoice"].nunique() == occasions
    assert np.isclose(lines["amount"].sum(), raw["dollar_value"].astype(float).sum())


def test_a_file_in_another_code_page_is_read_with_code_page(tmp_path, capsys):
    """A Polish shop's Excel saves Windows-1250: refused as Windows-1252 (a byte that code
    page leaves undefined), read as written with --code-page cp1250."""
    path = tmp_path / "households.csv"
    raw = household_file(path)
    raw["household_id"] = raw["household_id"].str.replace("H", "Ź")  # 0x8F in Windows-1250
    path.write_bytes(raw.to_csv(index=False).encode("cp1250"))

    assert main([str(path), "--mapping", HOUSEHOLD_MAPPING, *FAST]) == 2
    assert "neither UTF-8 nor Windows-1252" in capsys.readouterr().err
    assert main([str(path), "--mapping", HOUSEHOLD_MAPPING, "--code-page", "cp1250", *FAST]) == 0
    out = capsys.readouterr().out
    summary = re.search(r"^([\d,]+) lines -> ([\d,]+) customers", out, re.MULTILINE)
    assert summary and int(summary[2].replace(",", "")) == raw["household_id"].nunique()
    lines = read_transactions(path, mapping=MAPPING, code_page="cp1250")
    assert set(lines["customer_id"]) == set(raw["household_id"])
