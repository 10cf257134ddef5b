"""The normaliser on its own (no database): text cleaning and the work done once per
distinct value (dates, customer ids), which must still give each line its own result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from transaction_files.normalise import Normaliser, _may_need_trim

MAPPING = {
    "invoice": "InvoiceNo",
    "product_code": "StockCode",
    "description": "Description",
    "quantity": "Quantity",
    "timestamp": "InvoiceDate",
    "unit_price": "UnitPrice",
    "customer_id": "CustomerID",
    "country": "Country",
}


def run(rows: list[list[str | None]], *, date_order=None):
    frame = pd.DataFrame(rows, columns=list(MAPPING.values()), dtype="str")
    normaliser = Normaliser(mapping=MAPPING, date_order=date_order, time_zone="Europe/London")
    return normaliser.run(frame, np.arange(2, 2 + len(rows), dtype=np.int64))


def test_cells_are_trimmed_of_ascii_and_unicode_whitespace():
    result = run(
        [
            # A tab, a no-break space and an ideographic space around the values.
            ["\t536365", "85123A\u00a0", " WHITE  HEART ", "6", "2010-12-01 08:26:00", "2.55"]
            + ["17850.0\u3000", "\u00a0United Kingdom"],
            # Only inner spaces: nothing to trim.
            ["536366", "22633", "HAND WARMER", "2", "2010-12-01 08:28:00", "1.85"]
            + ["17850.0", "United Kingdom"],
        ]
    )
    lines = result.lines
    assert lines["invoice"].tolist() == ["536365", "536366"]
    assert lines["product_code"].tolist() == ["85123A", "22633"]
    assert lines["description"].tolist() == ["WHITE  HEART", "HAND WARMER"]
    assert lines["customer_ext"].tolist() == ["17850", "17850"]
    assert lines["country"].tolist() == ["United Kingdom", "United Kingdom"]
    assert result.rows_read == 2 and not result.rejections


def test_a_cell_of_whitespace_is_empty():
    result = run(
        [
            ["536365", "85123A", "HEART", "6", "2010-12-01 08:26:00", "2.55", " \u00a0", "France"],
            ["536366", "85123A", "HEART", "6", "2010-12-01 08:26:00", "2.55", "12345", "\t"],
            [" ", "\t", "", None, " ", "  ", "\u3000", ""],  # a blank row: not read at all
        ]
    )
    assert result.rows_read == 2
    assert result.rows_skipped == 1  # no customer id
    assert result.lines["customer_ext"].tolist() == ["12345"]
    assert result.lines["country"].tolist() == [""]


def test_values_parsed_once_per_distinct_value_reach_every_line():
    december, july = "2010-12-01 08:26:00", "2011-07-01 09:41:00"
    times = [december, july, december, "2011-02-30 10:00", july]
    customers = ["17850.0", "12345", "17850.0", "17850.0", "12345.00"]
    rows = [
        [f"53636{i}", "85123A", "HEART", "1", t, "2.55", c, "United Kingdom"]
        for i, (t, c) in enumerate(zip(times, customers, strict=True))
    ]
    result = run(rows)
    # 30 February is not a date: that line alone is rejected, with its own line number.
    assert [(r.line_number, r.column, r.value) for r in result.rejections] == [
        (5, "InvoiceDate", "2011-02-30 10:00")
    ]
    lines = result.lines
    assert lines["line_no"].tolist() == [2, 3, 4, 6]
    assert lines["customer_ext"].tolist() == ["17850", "12345", "17850", "12345"]
    # London time to UTC: GMT in December, BST (UTC+1) in July.
    assert lines["ts"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2010-12-01 08:26",
        "2011-07-01 08:41",
        "2010-12-01 08:26",
        "2011-07-01 08:41",
    ]


def test_a_code_longer_than_64_characters_is_rejected_counting_characters_not_bytes():
    row = ["536365", "", "HEART", "6", "2010-12-01 08:26:00", "2.55", "17850", "France"]
    rows = []
    for code in ["é" * 64, "é" * 65, "A" * 64, "A" * 65]:  # 128, 130, 64 and 65 bytes
        rows.append(row[:1] + [code] + row[2:])
    result = run(rows)
    assert [(r.line_number, r.column) for r in result.rejections] == [
        (3, "StockCode"),
        (5, "StockCode"),
    ]
    assert {r.message for r in result.rejections} == {"Longer than 64 characters."}
    assert result.reasons["rejected_too_long"] == 2
    assert result.lines["product_code"].str.len().tolist() == [64, 64]


def test_the_trim_check_finds_whitespace_at_either_end_of_any_value():
    assert not _may_need_trim(pa.array(["A1", "", None, "B 2", "C3"]))
    assert not _may_need_trim(pa.array(["", None, ""]))
    assert not _may_need_trim(pa.array([], type=pa.string()))
    for odd in [" A", "A ", "\tA", "A\n", "A\u00a0", "\u3000A", "é"]:
        assert _may_need_trim(pa.array(["", "X", odd, None]))
        assert _may_need_trim(pa.array([odd, ""]))
    # A slice looks at its own values only.
    values = pa.array([" padded", "A1", "B2", "tail "])
    assert not _may_need_trim(values.slice(1, 2))
    assert _may_need_trim(values.slice(2, 2))


def test_a_value_of_the_other_order_is_found_in_either_direction():
    from transaction_files.dates import DAYFIRST, ISO, MONTHFIRST, contradicting_example

    values = pd.Series(["2016-11-08", "11/8/2016", "11/22/2016 10:00", "31/1/2016"])
    assert contradicting_example(values, DAYFIRST) == "11/22/2016 10:00"
    assert contradicting_example(values, MONTHFIRST) == "31/1/2016"
    assert contradicting_example(values.iloc[:2], DAYFIRST) == ""  # nothing tells
    assert contradicting_example(values, ISO) == ""


def test_times_with_their_utc_offset_are_stored_at_that_instant():
    """Platforms export times with an offset (Shopify: "2024-01-05 10:15:00 -0500"); each is
    stored at its own instant, whatever the shop's zone, and one without an offset stays the
    shop's local time."""
    times = [
        "2024-01-05 10:15:00 -0500",  # Shopify
        "2024-07-05T10:15:00-05:00",
        "2024-07-05T15:15:00Z",
        "2024-07-05 20:45:00.5+0530",
        "2024-07-05 15:15:00 UTC",
        "2024-07-05 16:15:00",  # London summer time, no offset
        "2024-07-05 16:15:00 +9999",  # no such offset
    ]
    rows = [
        [f"9{i}", "A1", "MUG", "1", t, "2.00", "c1", "United Kingdom"] for i, t in enumerate(times)
    ]
    result = run(rows)
    assert [(r.line_number, r.value) for r in result.rejections] == [(8, times[-1])]
    assert result.lines["ts"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist() == [
        "2024-01-05 15:15:00",
        *["2024-07-05 15:15:00"] * 5,
    ]


def test_customer_ids_that_are_e_mail_addresses_are_stored_as_pseudonyms():
    """The same address (whatever its case) is one customer; another shop's key gives
    another id; the address is nowhere in the id; other ids are kept as they are."""
    from transaction_files.pseudonyms import PREFIX

    ids = ["Ann@Example.com", "17850.0", "ann@example.com ", "bob@example.org", "ann@example"]
    rows = [
        [f"9{i}", "A1", "MUG", "1", "2024-07-05 10:00", "2.00", c, "United Kingdom"]
        for i, c in enumerate(ids)
    ]
    frame = pd.DataFrame(rows, columns=list(MAPPING.values()), dtype="str")

    def stored(key: str):
        normaliser = Normaliser(
            mapping=MAPPING, date_order=None, time_zone="UTC", pseudonym_key=key
        )
        return normaliser.run(frame, np.arange(2, 2 + len(rows), dtype=np.int64))

    result = stored("a" * 64)
    got = result.lines["customer_ext"].tolist()
    assert got[0] == got[2] != got[3]
    assert got[0].startswith(PREFIX) and len(got[0]) == len(PREFIX) + 16
    assert "ann" not in got[0] and "example" not in got[0]
    assert got[1] == "17850" and got[4] == "ann@example"  # not an address: kept as given
    assert result.reasons["customer_id_from_email"] == 3
    other_shop = stored("b" * 64).lines["customer_ext"].tolist()
    assert other_shop[0] != got[0] and other_shop[1] == "17850"
    # no key (the engine's command line): ids as given
    assert run(rows).lines["customer_ext"].tolist()[0] == "Ann@Example.com"


def test_orders_whose_status_says_they_were_no_sale_are_skipped_across_chunks():
    """A status on an order's first row holds for its other rows, even in the next chunk;
    a partial refund keeps the order; a chunk read again takes what was carried into it."""
    mapping = {"customer_id": "c", "timestamp": "t", "invoice": "i", "amount": "a", "status": "s"}
    normaliser = Normaliser(mapping=mapping, date_order=None, time_zone="UTC")

    def chunk(first_line, rows):
        frame = pd.DataFrame(rows, columns=["c", "t", "i", "a", "s"], dtype="str")
        numbers = np.arange(first_line, first_line + len(rows), dtype=np.int64)
        return normaliser.run(frame, numbers)

    first = [
        ["x", "2024-01-01", "#1", "1", "paid"],
        ["x", "2024-01-01", "#1", "2", None],
        ["y", "2024-01-02", "#2", "3", "Refunded"],
        ["y", "2024-01-02", "#2", "4", None],
        ["z", "2024-01-03", "#3", "5", "partially_refunded"],
        ["w", "2024-01-04", "#4", "6", "CANCELLED"],
    ]
    second = [
        ["w", "2024-01-04", "#4", "7", None],  # #4 goes on: still cancelled
        ["v", "2024-01-05", "#5", "8", None],  # a new order with no status: a sale
        ["u", "2024-01-06", "#6", "9", "voided"],
        ["t", "2024-01-07", "#7", "1", "payment failed"],
    ]
    a = chunk(2, first)
    assert a.lines["invoice"].tolist() == ["#1", "#1", "#3"]
    assert a.reasons["skipped_cancelled_order"] == 3 and a.rows_skipped == 3
    b = chunk(8, second)
    assert b.lines["invoice"].tolist() == ["#5"]
    again = chunk(8, second)  # as after a date order found in this chunk
    assert again.lines["invoice"].tolist() == ["#5"]
    assert again.reasons["skipped_cancelled_order"] == 3


def test_twelve_hour_times_and_month_names_are_read():
    """US exports write "1/5/2024 1:15 PM"; PayPal and formatted spreadsheets "Jan 5, 2024"
    or "05-Jan-2024": the month's name says which number is the day, so no order is needed
    for them."""
    from transaction_files import dates

    def read(values, order):
        return dates.parse_timestamps(pd.Series(values, dtype="str"), order=order).tolist()

    us = ["1/5/2024 1:15 PM", "1/5/2024 12:05 AM", "1/5/2024 12:05 p.m.", "1/5/2024 13:05 PM"]
    got = read(us, dates.MONTHFIRST)
    assert [str(t) for t in got[:3]] == [
        "2024-01-05 13:15:00",
        "2024-01-05 00:05:00",  # 12 AM is midnight
        "2024-01-05 12:05:00",
    ]
    assert pd.isna(got[3])  # no 13 o'clock in the afternoon
    named = [
        "Jan 5, 2024",
        "Friday, January 5, 2024 10:15 AM",
        "5 Jan 2024",
        "05-Jan-2024",
        "5-Jan-24",
        "Sept 3, 2024",
        "March 1st, 2024 9:00 p.m.",
    ]
    got = [str(t) for t in read(named, None)]
    assert got == [
        "2024-01-05 00:00:00",
        "2024-01-05 10:15:00",
        "2024-01-05 00:00:00",
        "2024-01-05 00:00:00",
        "2024-01-05 00:00:00",
        "2024-09-03 00:00:00",
        "2024-03-01 21:00:00",
    ]
    assert all(pd.isna(t) for t in read(["Foo 5, 2024", "Feb 30, 2024"], None))


def test_year_first_dates_with_a_twelve_hour_time_are_read():
    """A till's date and its "1:15 PM" joined (Date + Time columns): year first, so no
    order is needed; 24-hour times stay ISO, and 13 PM is no time."""
    from transaction_files import dates

    values = [
        "2024-03-05 1:15 PM",
        "2024/03/05 12:05 am",
        "2024-3-5T9:00 a.m.",
        "2024-03-05 13:15 PM",
    ]
    got = dates.parse_timestamps(pd.Series(values, dtype="str"), order=None).tolist()
    assert [str(t) for t in got[:3]] == [
        "2024-03-05 13:15:00",
        "2024-03-05 00:05:00",
        "2024-03-05 09:00:00",
    ]
    assert pd.isna(got[3])


def test_ebays_month_day_year_with_dashes_is_read():
    """eBay's reports write "Jan-05-24" and "Mar-15-2023": the month's name first, so the
    next number is the day, whatever the order the shop's other dates are in."""
    from transaction_files import dates

    values = pd.Series(["Jan-05-24", "Mar-15-2023", "Mar-15-23 10:15", "Foo-15-23"], dtype="str")
    got = dates.parse_timestamps(values, order=dates.DAYFIRST).tolist()
    assert [str(t) for t in got[:3]] == [
        "2024-01-05 00:00:00",
        "2023-03-15 00:00:00",
        "2023-03-15 10:15:00",
    ]
    assert pd.isna(got[3])


def test_year_first_dates_with_dots_are_read():
    """Hungarian spreadsheets write 2024.01.05; the separators must agree."""
    from transaction_files import dates

    values = pd.Series(["2024.01.05", "2024.1.5 10:15", "2024.01/05", "2024.13.05"], dtype="str")
    got = [str(t) for t in dates.parse_timestamps(values, order=None)]
    assert got == ["2024-01-05 00:00:00", "2024-01-05 10:15:00", "NaT", "NaT"]


def test_czech_and_hungarian_dates_with_a_space_or_a_dot_after_each_part_are_read():
    """Czech and Slovak write "5. 12. 2024", Hungarian "2024. 12. 05." (and without the spaces
    in spreadsheets); both were "Not a date"."""
    from transaction_files import dates

    written = {
        "5. 12. 2024": "2024-12-05 00:00:00",
        "13. 5. 2024 9:05": "2024-05-13 09:05:00",
        "2024. 12. 05.": "2024-12-05 00:00:00",
        "2024.12.05. 14:30": "2024-12-05 14:30:00",
        "2024.02.30.": "NaT",  # no such day
        "5.  12. 2024": "NaT",  # one space at most
    }
    values = pd.Series(list(written), dtype="str")
    got = [str(t) for t in dates.parse_timestamps(values, order=dates.DAYFIRST)]
    assert got == list(written.values())
    czech = pd.Series(["5. 12. 2024", "13. 5. 2024"], dtype="str")
    assert dates.order_evidence(czech) == (True, False) and dates.dotted_only(czech)


def test_month_names_are_read_in_the_languages_european_shops_write():
    from transaction_files import dates

    written = {
        "5. März 2024": "2024-03-05 00:00:00",
        "Montag, 5. Februar 2024 um 10:15": "2024-02-05 10:15:00",
        "1er janvier 2024": "2024-01-01 00:00:00",
        "5 juil. 2024 à 14:30": "2024-07-05 14:30:00",
        "05-déc-2023": "2023-12-05 00:00:00",
        "5 de enero de 2024": "2024-01-05 00:00:00",
        "5 de março de 2024 10:15": "2024-03-05 10:15:00",
        "5 gennaio 2024": "2024-01-05 00:00:00",
        "5 mei 2024": "2024-05-05 00:00:00",
        "5 Okt 2024": "2024-10-05 00:00:00",
        "1 października 2024": "2024-10-01 00:00:00",  # Polish, twelve letters
        "5 grudnia 2024 14:30": "2024-12-05 14:30:00",
        "17. září 2024": "2024-09-17 00:00:00",  # Czech
        "5. prosince 2024": "2024-12-05 00:00:00",
        "5 augusti 2024": "2024-08-05 00:00:00",  # Swedish
        "5. marts 2024": "2024-03-05 00:00:00",  # Danish
        "2024. december 5.": "2024-12-05 00:00:00",  # Hungarian: year first
        "2024. máj. 17. 14:30": "2024-05-17 14:30:00",
        "17. maaliskuuta 2024": "2024-03-17 00:00:00",  # Finnish, partitive
        "Sept 3, 2024": "2024-09-03 00:00:00",  # English as before
    }
    values = pd.Series([*written, "5 Foo 2024", "5 abcdefghijklm 2024"], dtype="str")
    got = [str(t) for t in dates.parse_timestamps(values, order=dates.MONTHFIRST)]
    assert got == [*written.values(), "NaT", "NaT"]


def test_absurd_numbers_are_rejected_without_overflowing(recwarn):
    """An API client's 1e226 units at 1e240 each: out of range, rejected like any other,
    with no overflow warning on the way (the schema test's fuzzer sends such lines)."""
    mapping = {"customer_id": "c", "timestamp": "t", "quantity": "q", "unit_price": "p"}
    frame = pd.DataFrame(
        [["x", "2024-01-01", "6.3e226", "1.6e240"], ["x", "2024-01-02", "2", "1e305"]],
        columns=["c", "t", "q", "p"],
        dtype="str",
    )
    normaliser = Normaliser(mapping=mapping, date_order=None, time_zone="UTC")
    result = normaliser.run(frame, np.arange(2, 4, dtype=np.int64))
    assert result.lines.empty and len(result.rejections) >= 2
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
