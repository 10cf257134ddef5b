"""Numbers as shops write them: plain ("1234.5"), with group separators ("1,234.50",
"1.234,50" in a decimal-comma file, "1 234,50", "1'234.50"), in accounting brackets or with
a trailing minus for a negative ("(15.00)", "15.00-") and, for money, with a currency mark
before or after ("$15.00", "-£3.20", "15,00 €", "USD 15.00").

Plain numbers take one pyarrow cast for the whole column; only the values it cannot read
are parsed one distinct value at a time.
"""

from __future__ import annotations

import math
import re
import unicodedata

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# A currency mark: a code or letters (USD, CHF, kr, zł), letters and a dollar sign (CA$,
# R$), or one or two symbols (€, £, $, ¥, ₹).
_MARK = r"[^\W\d_]{1,3}\$?|[^\w\s.,'+\-()]{1,2}"
_MONEY = re.compile(
    rf"(?P<sign>[+-]?)\s*(?P<before>{_MARK})?\s*(?P<sign2>[+-]?)\s*"
    r"(?P<number>[\d.][\d.,' \u00a0\u202f]*)"
    rf"\s*(?P<after>{_MARK})?"
)
_PLAIN = re.compile(r"(?P<sign>[+-]?)\s*(?P<number>[\d.][\d.,' \u00a0\u202f]*)")
_CODE = re.compile(r"[A-Z]{3}|[A-Za-z]{1,3}\$")
#: Currencies written with letters rather than a symbol or their code.
LETTER_SYMBOLS = frozenset({"kr", "Kr", "zł", "Kč", "Ft", "lei", "Rs", "Fr", "R"})
# What the fast path reads, read the same way whatever the file's decimal mark
_FLOAT = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_GROUPED = {
    False: re.compile(r"\d{1,3}(?:([,' \u00a0\u202f])\d{3})(?:\1\d{3})*(?:\.\d+)?"),
    True: re.compile(r"\d{1,3}(?:([.' \u00a0\u202f])\d{3})(?:\1\d{3})*(?:,\d+)?"),
}
_DECIMAL_COMMA = re.compile(r"\d+,\d+")


def to_numbers(
    values: pd.Series,
    *,
    decimal_comma: bool,
    money: bool = False,
    marks: frozenset[str] = frozenset(),
) -> tuple[pd.Series, pd.Series | None]:
    """(the values as floats, NaN where unreadable; the currency mark of each value written
    in another currency than `marks` allow, "" elsewhere, or None when there is none). With
    no `marks`, any currency mark is read."""
    text = values
    if decimal_comma:
        text = text.str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True)
    try:
        # Fast path: every cell is a plain number.
        arrow = pc.cast(pa.array(text, type=pa.string(), from_pandas=True), pa.float64())
        return pd.Series(arrow.to_numpy(zero_copy_only=False), index=values.index), None
    except pa.ArrowInvalid:
        pass
    distinct = pd.unique(values.dropna())
    read = {v: read_number(v, decimal_comma=decimal_comma, money=money) for v in distinct}
    allowed = {m.casefold() for m in marks}
    numbers = values.map(lambda v: read[v][0] if v in read else math.nan).astype(float)
    if not (money and allowed):
        return numbers, None
    found = values.map(lambda v: read[v][1] if v in read else "")
    other = (found != "") & ~found.str.casefold().isin(allowed)
    return numbers.where(~other), found.where(other, "")


def _currency_like(mark: str) -> bool:
    """A code (GBP), letters and a dollar sign (CA$), a currency's letters (kr, zł) or its
    symbols: "#1001" is an order number, "2.5x" and "12 kg" are not money."""
    return (
        bool(_CODE.fullmatch(mark))
        or mark in LETTER_SYMBOLS
        or all(unicodedata.category(ch) == "Sc" for ch in mark)
    )


def read_number(text: str, *, decimal_comma: bool, money: bool) -> tuple[float, str]:
    """(the number, NaN if unreadable; its currency mark, "" if none)."""
    t = text.strip()
    negative = False
    if len(t) > 2 and t[0] == "(" and t[-1] == ")":
        negative, t = True, t[1:-1].strip()
    elif len(t) > 1 and t[-1] == "-" and t[0] not in "+-(":
        # a trailing minus, as SAP's and other ERP systems' exports write a negative
        negative, t = True, t[:-1].rstrip()
    match = (_MONEY if money else _PLAIN).fullmatch(t)
    if match is None:
        return math.nan, ""
    parts = match.groupdict()
    marks = [m for m in (parts.get("before"), parts.get("after")) if m]
    signs = parts["sign"] + (parts.get("sign2") or "")
    if len(marks) > 1 or len(signs) > 1 or (negative and signs):
        return math.nan, ""
    if marks and not _currency_like(marks[0]):
        return math.nan, ""
    number = parts["number"].rstrip(" \u00a0\u202f")
    grouped = _GROUPED[decimal_comma].fullmatch(number)
    if _FLOAT.fullmatch(number):
        pass
    elif grouped:
        number = number.replace(grouped.group(1), "")
        if decimal_comma:
            number = number.replace(",", ".")
    elif decimal_comma and _DECIMAL_COMMA.fullmatch(number):
        number = number.replace(",", ".")
    else:
        return math.nan, ""
    value = float(number)
    if negative or signs == "-":
        value = -value
    return value, marks[0] if marks else ""


def other_currency(codes: pd.Series, marks: frozenset[str]) -> pd.Series:
    """Mask of a currency column's values (trimmed text, None where empty) that name another
    currency than `marks` allow: "EUR" in a GBP shop. A value that is no currency mark
    ("US Dollar") is not judged."""
    allowed = {m.casefold() for m in marks}
    distinct = pd.unique(codes.dropna())
    other = {
        v: _currency_like(v.upper() if len(v) == 3 else v) and v.casefold() not in allowed
        for v in distinct
    }
    return codes.map(lambda v: other.get(v, False)).astype(bool)
