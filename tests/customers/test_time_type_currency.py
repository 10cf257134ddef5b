"""The optional fields point-of-sale and marketplace exports need: the time of day in a
column of its own, a line type that says a line is a refund, and a currency column. Pure:
no database."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transaction_files.columns import platform, platform_date_order, resolve_mapping, says_utc
from transaction_files.guesses import HIGH, guess_mapping
from transaction_files.normalise import Normaliser

USD = frozenset({"USD", "$", "US$"})


def normalise(mapping, rows, *, first_line=2, normaliser=None, **options):
    columns = list(dict.fromkeys(mapping.values()))
    frame = pd.DataFrame(rows, columns=columns, dtype="str")
    normaliser = normaliser or Normaliser(
        mapping=mapping, date_order=options.pop("date_order", None), **options
    )
    numbers = np.arange(first_line, first_line + len(rows), dtype=np.int64)
    return normaliser.run(frame, numbers)


def test_a_date_and_its_time_of_day_in_two_columns_are_read_as_one_time():
    mapping = {"customer_id": "c", "timestamp": "Date", "time": "Time", "amount": "a"}
    rows = [
        ["x", "2024-03-05", "09:15:30", "8"],
        ["x", "3/5/2024", "1:15 PM", "8"],
        ["y", "2024-03-05", None, "8"],  # no time: the day
        ["z", "2024-03-05", "25:00", "8"],  # no such time
    ]
    result = normalise(mapping, rows, date_order="monthfirst", time_zone="America/New_York")
    times = [t.isoformat() for t in result.lines["ts"]]
    # wall-clock times in New York (UTC-5 in March before the change)
    assert times == [
        "2024-03-05T14:15:30+00:00",
        "2024-03-05T18:15:00+00:00",
        "2024-03-05T05:00:00+00:00",
    ]
    [bad] = result.rejections
    assert (bad.line_number, bad.column, bad.value) == (5, "Date + Time", "2024-03-05 25:00")
    assert bad.message.startswith("Not a date")


def test_refund_lines_are_returns_however_the_export_signs_them():
    """Square writes a refund with negative quantity and money; other tills write positive
    numbers and say "Return" in the line's type. Either way the line is a return."""
    mapping = {
        "customer_id": "c", "timestamp": "t", "quantity": "q", "amount": "a", "line_type": "k",
    }  # fmt: skip
    rows = [
        ["x", "2024-01-01", "2", "$10.00", "Payment"],
        ["x", "2024-01-02", "-1.0", "-$5.00", "Refund"],
        ["x", "2024-01-03", "1", "5.00", "Return"],
        ["x", "2024-01-04", "1", "5.00", None],  # no type: a sale
    ]
    lines = normalise(mapping, rows, time_zone="UTC").lines
    assert lines["quantity"].tolist() == [2, -1, -1, 1]
    assert lines["amount"].tolist() == [10, -5, -5, 5]
    assert lines["unit_price"].tolist() == [5, 5, 5, 5]  # a price is never negative
    assert lines["is_return"].tolist() == [False, True, True, False]


def test_rows_in_another_currency_are_rejected_and_an_orders_currency_holds_for_its_rows():
    """Shopify gives an order's currency on its first row only, Etsy on every row. A row in
    another currency than the shop's is rejected, its order's other rows with it, across the
    chunks the file is read in."""
    mapping = {"customer_id": "c", "timestamp": "t", "invoice": "i", "amount": "a", "currency": "m"}
    normaliser = Normaliser(
        mapping=mapping, date_order=None, time_zone="UTC", currency="USD", money_marks=USD
    )
    first = [
        ["x", "2024-01-01", "#1", "10", "USD"],
        ["x", "2024-01-01", "#1", "11", None],
        ["y", "2024-01-02", "#2", "12", "CAD"],
    ]
    second = [
        ["y", "2024-01-02", "#2", "13", None],  # #2 goes on: still CAD
        ["z", "2024-01-03", "#3", "14", "usd"],
        ["w", "2024-01-04", "#4", "15", "US Dollar"],  # no currency's mark: not judged
    ]
    a = normalise(mapping, first, normaliser=normaliser)
    b = normalise(mapping, second, first_line=5, normaliser=normaliser)
    assert a.lines["amount"].tolist() == [10, 11]
    assert b.lines["amount"].tolist() == [14, 15]
    rejected = a.rejections + b.rejections
    assert [(r.line_number, r.column, r.value) for r in rejected] == [
        (4, "m", "CAD"),
        (5, "m", "CAD"),
    ]
    assert rejected[0].message.startswith("Not in USD, this workspace's currency")
    assert a.reasons["rejected_other_currency"] + b.reasons["rejected_other_currency"] == 2


def test_a_currency_column_is_not_judged_without_a_workspace_currency():
    """The engine's command line stores nothing and keeps no currency."""
    mapping = {"customer_id": "c", "timestamp": "t", "amount": "a", "currency": "m"}
    result = normalise(mapping, [["x", "2024-01-01", "10", "EUR"]], time_zone="UTC")
    assert len(result.lines) == 1 and not result.rejections


def sample(columns, rows):
    return pd.DataFrame(rows, columns=columns, dtype="str")


def test_the_guesses_know_a_time_of_day_a_line_type_and_a_currency_by_their_values():
    columns = ["Kunde", "Date", "Time", "Net", "Event Type", "Currency", "Payment Type"]
    rows = [
        ["k1", "2024-01-05", "10:15", "8.00", "Payment", "EUR", "Card"],
        ["k2", "2024-01-05", "1:15 PM", "4.00", "Refund", "EUR", "Cash"],
        ["k1", "2024-01-06", "09:00:05", "3.00", "Payment", "EUR", "Card"],
    ]
    guesses = guess_mapping(columns, sample(columns, rows)).by_field
    assert (guesses["timestamp"].column, guesses["timestamp"].confidence) == ("Date", HIGH)
    assert (guesses["time"].column, guesses["time"].confidence) == ("Time", HIGH)
    assert "times of day" in guesses["time"].reason
    assert (guesses["line_type"].column, guesses["line_type"].confidence) == ("Event Type", HIGH)
    assert (guesses["currency"].column, guesses["currency"].confidence) == ("Currency", HIGH)


def test_a_time_column_holding_whole_dates_is_the_date_not_a_time_of_day():
    columns = ["Customer", "Time", "Amount"]
    rows = [["a", "2024-01-05 10:15", "3"], ["b", "2024-01-06 11:00", "4"]]
    guesses = guess_mapping(columns, sample(columns, rows)).by_field
    assert guesses["timestamp"].column == "Time"
    assert "time" not in guesses


def test_a_platforms_export_with_a_renamed_column_gets_that_field_guessed():
    """A Square export whose "Date" column was renamed is still Square's: its other fields
    come from the layout (high), the renamed one from its name and values (a suggestion)."""
    columns = [
        "Day", "Time", "Item", "Qty", "Price Point Name", "SKU", "Modifiers Applied",
        "Net Sales", "Transaction ID", "Payment ID", "Event Type", "Customer ID",
    ]  # fmt: skip
    rows = [["2024-01-05", "10:15:00", "Tea", "1.0", "Regular", "", "", "$3.00", "T1", "P1",
             "Payment", "C1"]]  # fmt: skip
    assert platform(columns) == "Square item sales export"
    guesses = guess_mapping(columns, sample(columns, rows)).by_field
    assert guesses["customer_id"].confidence == HIGH
    assert guesses["timestamp"].column == "Day" and guesses["timestamp"].confidence != HIGH


def test_etsy_and_square_exports_are_known_with_their_conventions():
    etsy = [
        "Sale Date", "Item Name", "Buyer", "Quantity", "Price", "Item Total", "Currency",
        "Transaction ID", "Listing ID", "Ship Name", "Ship Country", "Order ID", "SKU",
    ]  # fmt: skip
    assert platform(etsy) == "Etsy sold order items"
    assert platform_date_order(etsy) == "monthfirst"  # 08/03/25 is 3 August everywhere
    mapping = resolve_mapping(etsy, None)
    assert (mapping["customer_id"], mapping["invoice"]) == ("Buyer", "Order ID")
    assert (mapping["unit_price"], mapping["currency"]) == ("Price", "Currency")
    assert "amount" not in mapping  # quantity × price
    square = [
        "Date", "Time", "Time Zone", "Item", "Qty", "Price Point Name", "SKU",
        "Modifiers Applied", "Gross Sales", "Discounts", "Net Sales", "Transaction ID",
        "Payment ID", "Event Type", "Customer ID", "Customer Name",
    ]  # fmt: skip
    mapping = resolve_mapping(square, None)
    assert (mapping["timestamp"], mapping["time"]) == ("Date", "Time")
    assert (mapping["amount"], mapping["line_type"]) == ("Net Sales", "Event Type")
    assert platform_date_order(square) == ""


def test_a_lines_discount_comes_off_quantity_times_price_never_past_nothing():
    mapping = {
        "customer_id": "c", "timestamp": "t", "quantity": "q", "unit_price": "p", "discount": "d",
    }  # fmt: skip
    rows = [
        ["x", "2024-01-01", "2", "20.00", "4.00"],  # Shopify: the whole line's discount
        ["x", "2024-01-02", "1", "5", "-$1.50"],  # written as a negative: the same
        ["x", "2024-01-03", "1", "5", None],  # none
        ["x", "2024-01-04", "-1", "5", "1"],  # a return gives back less
        ["x", "2024-01-05", "1", "5", "9"],  # more than the line: free, not negative
        ["x", "2024-01-06", "1", "5", "ten"],
    ]
    result = normalise(mapping, rows, time_zone="UTC")
    assert result.lines["amount"].tolist() == [36, 3.5, 5, -4, 0]
    assert result.lines["unit_price"].tolist() == [20, 5, 5, 5, 5]  # the price, as given
    [bad] = result.rejections
    assert (bad.line_number, bad.column, bad.message) == (7, "d", "Not a number.")


def test_a_given_line_amount_is_after_discounts_already():
    mapping = {"customer_id": "c", "timestamp": "t", "amount": "a", "discount": "d"}
    result = normalise(mapping, [["x", "2024-01-01", "36.00", "4.00"]], time_zone="UTC")
    assert result.lines["amount"].tolist() == [36]


def test_statuses_and_line_types_are_read_in_the_languages_shops_export_in():
    """A German, French, Spanish, Italian, Dutch, Portuguese, Polish, Czech or Nordic shop's
    export writes its statuses in its language: a cancelled or refunded order is no sale, a
    partial refund keeps it; a refund line is a return however it is named."""
    mapping = {
        "customer_id": "c", "timestamp": "t", "invoice": "i", "amount": "a", "status": "s",
        "line_type": "k",
    }  # fmt: skip
    statuses = {
        "Storniert": False, "Rückerstattet": False, "Teilweise erstattet": True,
        "Annulée": False, "Remboursée": False, "Partiellement remboursée": True,
        "Cancelado": False, "Reembolsado parcialmente": True, "Rimborsato": False,
        "Geannuleerd": False, "Gedeeltelijk terugbetaald": True, "Concluído": True,
        "Abgeschlossen": True, "Anulowane": False, "Zwrot częściowy": True,
        "Zrealizowane": True, "Zrušeno": False, "Částečně vráceno": True, "Vyřízeno": True,
        "Återbetald": False, "Delvis återbetald": True, "Makulerad": False,
        "Annulleret": False, "Refundert": False, "Levert": True, "Törölve": False,
        "Részlegesen visszatérítve": True, "Teljesítve": True, "Peruttu": False,
        "Hyvitetty osittain": True, "Toimitettu": True,
        # checkouts never finished, and orders on their way to being paid or sent
        "Pending payment": False, "pending_payment": False, "checkout-draft": False,
        "Draft": False, "Incomplete": False, "Abandoned checkout": False, "pending": True,
        "Awaiting Payment": True, "On hold": True, "Processing": True, "Drafted by hand": True,
    }  # fmt: skip
    rows = [["x", "2024-01-01", f"#{n}", "5", status, "Sale"] for n, status in enumerate(statuses)]
    kept = normalise(mapping, rows, time_zone="UTC").lines["invoice"].tolist()
    assert kept == [f"#{n}" for n, sale in enumerate(statuses.values()) if sale]

    types = ["Retoure", "Remboursement", "Devolución", "Reso", "Terugbetaling", "Estorno",
             "Zwrot", "Retur", "Vráceno", "Visszáru", "Palautus", "Verkauf", "Vente",
             "Resort fee", "Sprzedaż", "Eladás", "Myynti"]  # fmt: skip
    rows = [["x", "2024-01-01", f"#{n}", "5", None, kind] for n, kind in enumerate(types)]
    lines = normalise(mapping, rows, time_zone="UTC").lines
    assert lines["is_return"].tolist() == [True] * 11 + [False] * 6


def test_times_under_a_header_that_says_utc_are_read_as_utc():
    """Stripe's "Created (UTC)": 23:30 UTC on 1 July is 00:30 on 2 July in London. A header
    without UTC keeps times as the shop's wall clock, and a time with its own offset is that
    instant either way."""
    rows = [["x", "2024-07-01 23:30:00", "8"], ["y", "2024-07-01T23:30:00+02:00", "8"]]
    stripe = {"customer_id": "c", "timestamp": "Created (UTC)", "amount": "a"}
    local = {"customer_id": "c", "timestamp": "Created", "amount": "a"}
    in_utc = normalise(stripe, rows, time_zone="Europe/London").lines["ts"]
    as_local = normalise(local, rows, time_zone="Europe/London").lines["ts"]
    assert [t.isoformat() for t in in_utc] == [
        "2024-07-01T23:30:00+00:00",
        "2024-07-01T21:30:00+00:00",
    ]
    assert [t.isoformat() for t in as_local] == [
        "2024-07-01T22:30:00+00:00",  # 23:30 British Summer Time
        "2024-07-01T21:30:00+00:00",
    ]


def test_a_header_says_utc_as_a_word_not_inside_one():
    assert says_utc("Created (UTC)") and says_utc("timestamp_utc") and says_utc("Date GMT")
    assert not says_utc("Date") and not says_utc("Outcome date")
    assert not says_utc("Time (GMT+1)") and not says_utc("Datum UTC +02:00")


def test_a_refund_after_the_sale_is_taken_off_what_was_paid_never_past_nothing():
    mapping = {"customer_id": "c", "timestamp": "t", "amount": "a", "refunded": "r"}
    rows = [
        ["x", "2024-01-01", "45.00", "0.00"],
        ["x", "2024-01-02", "60.00", "15.00"],
        ["x", "2024-01-03", "20.00", "-5.00"],  # written as money going out
        ["x", "2024-01-04", "10.00", "12.00"],  # more than was paid: nothing left
        ["x", "2024-01-05", "8.00", None],
    ]
    lines = normalise(mapping, rows, time_zone="UTC").lines
    assert lines["amount"].tolist() == [45.0, 45.0, 15.0, 0.0, 8.0]
    # with a quantity and a unit price, after the line's discount
    mapping = {
        "customer_id": "c", "timestamp": "t", "quantity": "q", "unit_price": "p",
        "discount": "d", "refunded": "r",
    }  # fmt: skip
    lines = normalise(mapping, [["x", "2024-01-01", "3", "10.00", "5.00", "5.00"]], time_zone="UTC")
    assert lines.lines["amount"].tolist() == [20.0]


def test_a_stripe_export_without_its_converted_columns_reads_the_payments_own():
    usual = ["id", "Created (UTC)", "Amount", "Amount Refunded", "Currency", "Status"]
    columns = [*usual, "Customer ID", "Customer Email"]
    assert platform(columns) == "Stripe payments export"
    mapping = resolve_mapping(columns, None)
    assert (mapping["amount"], mapping["currency"], mapping["refunded"]) == (
        "Amount",
        "Currency",
        "Amount Refunded",
    )
    converted = [*columns, "Converted Amount", "Converted Currency", "Converted Amount Refunded"]
    mapping = resolve_mapping(converted, None)
    assert (mapping["amount"], mapping["currency"], mapping["refunded"]) == (
        "Converted Amount",
        "Converted Currency",
        "Converted Amount Refunded",
    )


def test_a_time_column_beside_the_date_is_recognised_by_its_name():
    assert resolve_mapping(["Date", "Time", "Customer", "Amount"], None) == {
        "timestamp": "Date",
        "time": "Time",
        "customer_id": "Customer",
        "amount": "Amount",
    }
    # a "Time" holding whole dates, with no date beside it, is the date
    frame = pd.DataFrame(
        {
            "Time": ["2024-01-02 10:00", "2024-01-03 11:30", "2024-01-04 12:00"],
            "Customer": ["a", "b", "a"],
            "Amount": ["1.50", "2.25", "3.10"],
        }
    )
    assert guess_mapping(list(frame.columns), frame).mapping()["timestamp"] == "Time"


def test_a_date_that_holds_its_own_time_keeps_it_and_midnight_gives_way():
    mapping = {"customer_id": "c", "timestamp": "Date", "time": "Time", "amount": "a"}
    rows = [
        ["x", "2024-03-05 00:00:00", "09:15", "8"],  # a spreadsheet's date alone
        ["x", "2024-03-05 10:45:00", "09:15", "8"],  # its own time: kept
        ["x", "2024-03-05T00:00", "13:15", "8"],
        ["x", "2024-03-05 00:00:00", None, "8"],  # no time: midnight as given
    ]
    times = normalise(mapping, rows, time_zone="UTC").lines["ts"]
    assert [t.strftime("%H:%M") for t in times] == ["09:15", "10:45", "13:15", "00:00"]
