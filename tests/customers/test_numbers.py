"""Numbers as shops write them (transaction_files.numbers): pure functions, no database."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from transaction_files.numbers import read_number, to_numbers


@pytest.mark.parametrize(
    ("text", "value", "mark"),
    [
        ("15.00", 15.0, ""),
        ("$15.00", 15.0, "$"),
        ("-$15.00", -15.0, "$"),
        ("$-15.00", -15.0, "$"),
        ("£1,234.50", 1234.5, "£"),
        ("(15.00)", -15.0, ""),  # accounting brackets
        ("(£15.00)", -15.0, "£"),
        ("15.00-", -15.0, ""),  # a trailing minus (SAP's and other ERP exports)
        ("1,234.50 -", -1234.5, ""),
        ("£15.00-", -15.0, "£"),
        ("USD 15.00", 15.0, "USD"),
        ("15.00 USD", 15.0, "USD"),
        ("CA$ 12.50", 12.5, "CA$"),
        ("1,234,567", 1234567.0, ""),
        ("1 234 567.8", 1234567.8, ""),
        ("1'234.50", 1234.5, ""),  # Swiss
        ("1.234", 1.234, ""),  # a plain number reads as the fast path reads it
        (".5", 0.5, ""),
    ],
)
def test_money_in_a_comma_separated_file(text, value, mark):
    assert read_number(text, decimal_comma=False, money=True) == (value, mark)


@pytest.mark.parametrize(
    ("text", "value", "mark"),
    [
        ("15,00 €", 15.0, "€"),
        ("1.234,50", 1234.5, ""),
        ("1 234,50", 1234.5, ""),
        ("R$ 9,90", 9.9, "R$"),
        ("-12,5", -12.5, ""),
        ("1.234,50-", -1234.5, ""),
        ("15.00", 15.0, ""),  # a point still reads as one
    ],
)
def test_money_in_a_decimal_comma_file(text, value, mark):
    assert read_number(text, decimal_comma=True, money=True) == (value, mark)


@pytest.mark.parametrize(
    "text",
    [
        "1,23",
        "1.234,50",
        "15,00 €",
        "--5",
        "1,2,3",
        "$5 $",
        "- (5)",
        "(-5)",
        "abc",
        "-12-",
        "(5)-",
        "-",
    ],
)
def test_what_a_comma_separated_file_cannot_mean_is_not_read(text):
    value, _ = read_number(text, decimal_comma=False, money=True)
    assert math.isnan(value)


def test_a_quantity_takes_no_currency():
    assert read_number("1,000", decimal_comma=False, money=False) == (1000.0, "")
    assert math.isnan(read_number("$3", decimal_comma=False, money=False)[0])


def test_amounts_in_another_currency_are_told_apart():
    values = pd.Series(["£2.50", "GBP 3", "4", None, "€1.00", "$5", "(£1,000.00)"], dtype="str")
    numbers, foreign = to_numbers(
        values, decimal_comma=False, money=True, marks=frozenset({"GBP", "£"})
    )
    assert numbers.tolist()[:3] == [2.5, 3.0, 4.0] and numbers.tolist()[-1] == -1000.0
    assert numbers[[3, 4, 5]].isna().all()
    assert foreign.tolist() == ["", "", "", "", "€", "$", ""]
    # no marks given (the command line): any currency is read
    anything, none = to_numbers(values, decimal_comma=False, money=True)
    assert anything[4] == 1.0 and none is None


def test_plain_columns_take_the_fast_path_unchanged():
    values = pd.Series(["1", "2.5", "-3", None], dtype="str")
    numbers, foreign = to_numbers(values, decimal_comma=False, money=True, marks=frozenset({"£"}))
    assert numbers.tolist()[:3] == [1.0, 2.5, -3.0] and math.isnan(numbers[3])
    assert foreign is None  # nothing to compare on the fast path
    commas, _ = to_numbers(pd.Series(["1,5", "2"], dtype="str"), decimal_comma=True)
    assert commas.tolist() == [1.5, 2.0]


def test_only_currency_symbols_or_letters_mark_money():
    assert math.isnan(read_number("#1001", decimal_comma=False, money=True)[0])
    assert math.isnan(read_number("15%", decimal_comma=False, money=True)[0])
    assert read_number("¥1500", decimal_comma=False, money=True) == (1500.0, "¥")
    assert read_number("₹ 99", decimal_comma=False, money=True) == (99.0, "₹")
    assert math.isnan(read_number("2.5x", decimal_comma=False, money=True)[0])
    assert math.isnan(read_number("12 kg", decimal_comma=False, money=True)[0])
    assert read_number("129 kr", decimal_comma=False, money=True) == (129.0, "kr")
