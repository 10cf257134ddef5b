"""A header that repeats a name ("Date" for the order and for the shipping) or leaves one
empty: each column gets a name of its own, so the mapping can choose any of them."""

from __future__ import annotations

import io

import openpyxl

from transaction_files.reader import read_lines
from transaction_files.sources import inspect_source

TEXT = (
    "Customer,Date,Amount,Date,,Notes\n"
    "c1,2024-01-05,3.50,2024-01-09,x,a\n"
    "c2,2024-01-06,4,2024-01-10,y,b\n"
)


def test_repeated_and_empty_names_are_told_apart(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(TEXT)
    assert inspect_source(path).columns == [
        "Customer", "Date", "Amount", "Date (2)", "Column 5", "Notes",
    ]  # fmt: skip
    mapping = {"customer_id": "Customer", "amount": "Amount"}
    first = read_lines(path, mapping={**mapping, "timestamp": "Date"})
    second = read_lines(path, mapping={**mapping, "timestamp": "Date (2)"})
    assert [t.day for t in first.lines["ts"]] == [5, 6]
    assert [t.day for t in second.lines["ts"]] == [9, 10]


def test_a_workbooks_header_is_told_apart_the_same_way(tmp_path):
    workbook = openpyxl.Workbook()
    for row in [["Customer", "Date", "Amount", "Date", None], ["c1", "2024-01-05", 3.5, "x", 1]]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "orders.xlsx"
    path.write_bytes(buffer.getvalue())
    assert inspect_source(path).columns == ["Customer", "Date", "Amount", "Date (2)", "Column 5"]
