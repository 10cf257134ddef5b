"""Guessing an unknown layout's columns from their names and values, and the preview of the
first rows through the import's rules: pure functions, no database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from transaction_files.guesses import HIGH, LOW, MEDIUM, guess_mapping, header_signature
from transaction_files.preview import first_rows, preview
from transaction_files.sources import inspect_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

GROCERY_COLUMNS = [
    "household_id", "basket_id", "product_id", "quantity", "sales_value",
    "transaction_timestamp", "week_no", "store_id", "retail_disc",
]  # fmt: skip


def grocery_frame(n: int = 40) -> pd.DataFrame:
    rows = [
        [
            str(2000 + i % 6), str(70000 + i // 3), str(81000 + i % 9), str(1 + i % 3),
            f"{1.29 + i * 0.41:.2f}", f"2023-06-{1 + i % 28:02d} 1{i % 10}:15:00",
            str(1 + i % 52), str(300 + i % 4), f"{-(i % 4) * 0.3:.2f}",
        ]
        for i in range(n)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=GROCERY_COLUMNS)


def sample_of(path: Path) -> tuple[list[str], pd.DataFrame]:
    info = inspect_source(path)
    return info.columns, first_rows(path, info, 200).frame


def test_grocery_file_gets_every_usable_column_with_high_confidence():
    guesses = guess_mapping(GROCERY_COLUMNS, grocery_frame())
    assert guesses.mapping() == {
        "customer_id": "household_id",
        "timestamp": "transaction_timestamp",
        "invoice": "basket_id",
        "quantity": "quantity",
        "amount": "sales_value",
        "product_code": "product_id",
    }
    # The week number is not a date, the discount and the store are left out.
    assert "week_no" not in {g.column for g in guesses.by_field.values()}
    assert guesses.ignored(guesses.mapping()) == ["week_no", "store_id", "retail_disc"]
    reason = guesses.by_field["timestamp"].reason
    assert "transaction_timestamp" in reason and "dates" in reason
    assert "repeat" in guesses.by_field["customer_id"].reason


def test_online_retail_guesses_agree_with_the_recognised_layout():
    columns, sample = sample_of(FIXTURES / "online_retail_slice.csv")
    guesses = guess_mapping(columns, sample)
    assert guesses.mapping() == {
        "customer_id": "CustomerID",
        "timestamp": "InvoiceDate",
        "invoice": "InvoiceNo",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "product_code": "StockCode",
        "description": "Description",
        "country": "Country",
    }
    assert all(g.confidence == HIGH for g in guesses.by_field.values())


def test_cdnow_compact_dates_are_dates():
    columns, sample = sample_of(FIXTURES / "cdnow_slice.csv")
    guesses = guess_mapping(columns, sample)
    assert guesses.mapping() == {
        "customer_id": "customer_id",
        "timestamp": "date",
        "quantity": "number_of_cds",
        "amount": "dollar_value",
    }


def test_a_date_named_column_of_week_numbers_is_not_preselected():
    frame = grocery_frame().drop(columns=["transaction_timestamp"])
    frame = frame.rename(columns={"week_no": "date"})
    guesses = guess_mapping(list(frame.columns), frame)
    assert "timestamp" not in guesses.mapping()
    # The name says date, the values say otherwise: named, low, and why.
    guess = guesses.by_field["timestamp"]
    assert (guess.column, guess.confidence) == ("date", "low")
    assert "plain numbers" in guess.reason and "week numbers" in guess.reason


def test_dates_found_by_their_values_only_are_suggested():
    frame = grocery_frame().rename(columns={"transaction_timestamp": "stamp", "week_no": "date"})
    guesses = guess_mapping(list(frame.columns), frame)
    guess = guesses.by_field["timestamp"]
    assert (guess.column, guess.confidence) == ("stamp", MEDIUM)
    assert "timestamp" not in guesses.mapping()


def test_ambiguous_columns_preselect_nothing():
    frame = pd.DataFrame(
        {
            "ref": ["a1", "a2", "a3", "a1"],
            "who": ["x", "y", "z", "x"],
            "when_placed": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
            "when_shipped": ["2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"],
            "v1": ["1.50", "2.25", "3.10", "4.00"],
            "v2": ["0.50", "0.25", "0.10", "0.00"],
        }
    )
    guesses = guess_mapping(list(frame.columns), frame)
    assert guesses.mapping() == {}
    # The dates are suggested, naming the rival column.
    timestamp = guesses.by_field["timestamp"]
    assert timestamp.confidence == MEDIUM and not timestamp.preselected
    assert "when_shipped" in timestamp.reason or "when_placed" in timestamp.reason
    assert guesses.ignored({}) == list(frame.columns)


def test_two_columns_with_the_same_usual_name_kind_are_only_suggested():
    frame = pd.DataFrame(
        {
            "member": ["1", "2", "1"],
            "client": ["7", "8", "7"],
            "date": ["2024-01-02", "2024-01-03", "2024-01-04"],
            "amount": ["1.50", "2.25", "3.10"],
        }
    )
    guesses = guess_mapping(list(frame.columns), frame)
    assert guesses.by_field["customer_id"].confidence == MEDIUM
    assert "customer_id" not in guesses.mapping()
    assert guesses.mapping() == {"timestamp": "date", "amount": "amount"}


def stripe_sample(**columns: list[str]) -> pd.DataFrame:
    """The first rows of a Stripe payments export, with `columns` beside its usual ones."""
    return pd.DataFrame(
        {
            "Customer ID": ["cus_1", "cus_2", "cus_1"],
            "Created (UTC)": ["2024-01-02 10:00:00", "2024-01-03 11:00:00", "2024-01-04 12:00"],
            "Amount": ["1.50", "2.25", "3.10"],
            **columns,
        }
    )


def test_the_usual_name_of_a_known_layout_comes_before_other_shops_words():
    # Stripe's payments export: its "Customer ID" is the customer; "Card ID" (a loyalty
    # card's id in a grocer's file) repeats as well, and is only another shop's word for it.
    frame = stripe_sample(**{"Card ID": ["card_1", "card_2", "card_1"]})
    guesses = guess_mapping(list(frame.columns), frame)
    assert guesses.by_field["customer_id"].confidence == HIGH
    assert guesses.mapping() == {
        "customer_id": "Customer ID",
        "timestamp": "Created (UTC)",
        "amount": "Amount",
    }


def test_a_refund_column_is_guessed_unless_it_is_the_orders():
    frame = stripe_sample(**{"Amount Refunded": ["0.00", "1.00", "0.00"]})
    guesses = guess_mapping(list(frame.columns), frame)
    assert guesses.mapping()["refunded"] == "Amount Refunded"
    assert guesses.mapping()["amount"] == "Amount"
    frame.loc[1, "Amount Refunded"] = None  # given on an order's first row only
    frame = pd.concat([frame] * 4, ignore_index=True)
    assert "refunded" not in guess_mapping(list(frame.columns), frame).mapping()


def test_header_signature_ignores_case_and_punctuation():
    assert header_signature(["Basket ID", "Sales-Value"]) == header_signature(
        ["basket_id", "sales_value"]
    )
    assert header_signature(["a", "b"]) != header_signature(["b", "a"])


def test_preview_shows_rows_as_read_and_as_stored(tmp_path):
    path = tmp_path / "grocery.csv"
    grocery_frame(12).to_csv(path, index=False)
    info = inspect_source(path)
    sample = first_rows(path, info, 200)
    mapping = guess_mapping(info.columns, sample.frame).mapping()
    shown = preview(sample, mapping, date_order=None, time_zone="Europe/London", rows=5)
    assert shown.missing == ""
    assert [r.line_number for r in shown.rows] == [2, 3, 4, 5, 6]
    first = shown.rows[0]
    assert first.read[:3] == ["2000", "70000", "81000"]
    assert first.stored.customer_id == "2000"
    assert first.stored.amount == pytest.approx(1.29)
    # 10:15 in London in June is 09:15 UTC.
    assert first.stored.timestamp.isoformat() == "2023-06-01T09:15:00+00:00"


def test_preview_says_why_a_row_would_be_rejected_and_what_is_missing(tmp_path):
    frame = grocery_frame(6)
    sample_path = tmp_path / "g.csv"
    frame.to_csv(sample_path, index=False)
    info = inspect_source(sample_path)
    sample = first_rows(sample_path, info, 200)
    wrong = {"customer_id": "household_id", "timestamp": "week_no", "amount": "sales_value"}
    shown = preview(sample, wrong, date_order=None, time_zone="UTC")
    assert all(r.stored is None for r in shown.rows)
    assert "Not a date" in shown.rows[0].problem and "week_no" in shown.rows[0].problem
    incomplete = preview(sample, {"customer_id": "household_id"}, date_order=None, time_zone="UTC")
    assert incomplete.missing == (
        "Choose the column of date / time, unit price or line amount, then preview again."
    )
    assert incomplete.rows[0].read[0] == "2000"


def test_preview_tells_the_date_order_from_the_first_rows(tmp_path):
    path = tmp_path / "dm.csv"
    path.write_text("member,day,total\nm1,31/01/2024,5.00\nm2,02/01/2024,6.00\n")
    info = inspect_source(path)
    sample = first_rows(path, info, 200)
    mapping = {"customer_id": "member", "timestamp": "day", "amount": "total"}
    shown = preview(sample, mapping, date_order=None, time_zone="UTC")
    assert shown.date_order == "dayfirst"
    assert shown.rows[1].stored.timestamp.date().isoformat() == "2024-01-02"
    # dates with dots are day-first when none tells, as the import reads them
    dotted = tmp_path / "dotted.csv"
    dotted.write_text("member,day,total\nm1,05.12.2024,5.00\nm2,02.01.2024,6.00\n")
    sample = first_rows(dotted, inspect_source(dotted), 200)
    shown = preview(sample, mapping, date_order=None, time_zone="UTC")
    assert shown.missing == "" and shown.date_order == "dayfirst"
    assert shown.rows[0].stored.timestamp.date().isoformat() == "2024-12-05"


def test_a_shopify_orders_export_is_known_whole():
    """Shopify names its order number "Name", gives the order's "Total" on its first row
    only and names customers by e-mail: the names alone would mislead every one of these."""
    from transaction_files.columns import platform, resolve_mapping

    columns, frame = sample_of(FIXTURES / "shopify_orders_export.csv")
    assert platform(columns) == "Shopify orders export"
    expected = {
        "customer_id": "Email",
        "email": "Email",
        "timestamp": "Created at",
        "invoice": "Name",
        "quantity": "Lineitem quantity",
        "unit_price": "Lineitem price",
        "product_code": "Lineitem sku",
        "description": "Lineitem name",
        "country": "Billing Country",
        "customer_name": "Billing Name",
        "status": "Financial Status",
        "currency": "Currency",
        "discount": "Lineitem discount",
    }
    assert resolve_mapping(columns, None) == expected  # imported without asking
    guesses = guess_mapping(columns, frame)
    assert guesses.mapping() == expected
    assert "a Shopify orders export" in guesses.by_field["invoice"].reason


def test_an_order_total_on_first_rows_only_is_not_taken_for_the_line_amount():
    """The same kind of file from elsewhere: the total, empty on an order's other rows, is
    not pre-selected; the e-mail is suggested as the customer for want of an id."""
    columns, frame = sample_of(FIXTURES / "shopify_orders_export.csv")
    renamed = {"Name": "Order", "Financial Status": "Status"}
    columns = [renamed.get(c, c) for c in columns]
    guesses = guess_mapping(columns, frame.rename(columns=renamed))
    mapping = guesses.mapping()
    assert "amount" not in mapping
    assert guesses.by_field["amount"].confidence == "low"
    assert "as an order's total given on its first line only" in guesses.by_field["amount"].reason
    assert mapping["invoice"] == "Order" and mapping["email"] == "Email"
    customer = guesses.by_field["customer_id"]
    assert (customer.column, customer.confidence) == ("Email", MEDIUM)
    assert "pseudonym" in customer.reason


def test_a_woocommerce_order_export_is_guessed_line_by_line():
    """WooCommerce's order-export plugins write one row per item with the order's figures
    repeated: the line's own price and total are chosen, not the order's, and the billing
    e-mail is offered as the customer."""
    columns = [
        "Order Number", "Order Status", "Order Date", "Email (Billing)", "SKU", "Name",
        "Quantity", "Item Cost", "Order Line Total", "Order Line Total Refunded",
        "Order Total Amount", "Order Shipping Amount",
    ]  # fmt: skip
    rows = [
        ["1001", "Completed", "2024-01-05 10:15", "ann@example.com", "MUG-BL", "Blue Mug",
         "2", "15.00", "36.00", "0", "40.50", "4.50"],
        ["1001", "Completed", "2024-01-05 10:15", "ann@example.com", "TEA-1", "Tea",
         "1", "4.00", "4.80", "0", "40.50", "4.50"],
        ["1002", "Refunded", "2024-01-06 11:00", "bob@example.org", "TEA-1", "Tea",
         "3", "4.00", "14.40", "14.40", "18.90", "4.50"],
    ]  # fmt: skip
    guesses = guess_mapping(columns, pd.DataFrame(rows, columns=columns)).by_field
    chosen = {f: g.column for f, g in guesses.items() if g.preselected}
    assert chosen["unit_price"] == "Item Cost"
    assert chosen["amount"] == "Order Line Total"
    assert chosen["email"] == "Email (Billing)"
    assert (chosen["invoice"], chosen["status"]) == ("Order Number", "Order Status")
    assert guesses["customer_id"].column == "Email (Billing)"  # offered, to be confirmed
    assert not guesses["customer_id"].preselected


def test_an_export_in_shopifys_line_item_words_is_guessed_line_by_line():
    """Squarespace's orders export copies Shopify's "Lineitem ..." columns under an "Order
    ID": each is guessed for sure, and the order's discount, given on its first row only,
    is not taken for a line's."""
    frame = pd.DataFrame(
        {
            "Order ID": ["00101", "00101", "00102", "00103"],
            "Email": ["ann@example.com", "ann@example.com", "bob@example.com", "ann@example.com"],
            "Created at": ["2024-03-05 09:15", "", "2024-03-07 12:00", "2024-04-01 08:00"],
            "Discount Amount": ["5.00", "", "0.00", "2.00"],
            "Lineitem quantity": ["2", "1", "1", "1"],
            "Lineitem name": ["Mug", "Card", "Bowl", "Vase"],
            "Lineitem price": ["15.00", "10.00", "20.00", "35.00"],
            "Lineitem sku": ["MUG-1", "CARD-1", "BOWL-1", "VASE-1"],
        }
    )
    guesses = guess_mapping(list(frame.columns), frame)
    assert {f: g.column for f, g in guesses.by_field.items() if g.preselected}.items() >= {
        "invoice": "Order ID",
        "quantity": "Lineitem quantity",
        "unit_price": "Lineitem price",
        "product_code": "Lineitem sku",
        "description": "Lineitem name",
    }.items()
    # neither a line's discount nor its amount
    assert "Discount Amount" not in guesses.mapping().values()
    assert all(
        g.confidence == LOW and "given on its first line only" in g.reason
        for g in guesses.by_field.values()
        if g.column == "Discount Amount"
    )


EUROPEAN_FILES = {
    "German": {
        "Kundennummer": ("customer_id", ["K100", "K101", "K102"]),
        "Rechnungsdatum": ("timestamp", ["05.12.2024", "06.12.2024", "13.11.2024"]),
        "Rechnungsnummer": ("invoice", ["R1", "R2", "R3"]),
        "Artikelnummer": ("product_code", ["A-1", "A-2", "A-3"]),
        "Bezeichnung": ("description", ["Kerze", "Tasse", "Teller"]),
        "Menge": ("quantity", ["1", "2", "3"]),
        "Einzelpreis": ("unit_price", ["2,50", "3,00", "4,10"]),
        "Betrag": ("amount", ["2,50", "6,00", "1.230,00"]),
        "Land": ("country", ["Deutschland", "Österreich", "Schweiz"]),
        "Währung": ("currency", ["EUR", "EUR", "EUR"]),
    },
    "French": {
        "N° client": ("customer_id", ["C1", "C2", "C3"]),
        "Date de commande": ("timestamp", ["05/12/2024", "06/12/2024", "13/11/2024"]),
        "N° de commande": ("invoice", ["1", "2", "3"]),
        "Désignation": ("description", ["Bougie", "Tasse", "Assiette"]),
        "Quantité": ("quantity", ["1", "2", "3"]),
        "Prix unitaire": ("unit_price", ["2,50", "3,00", "4,10"]),
        "Montant": ("amount", ["2,50", "6,00", "12,30"]),
        "Pays": ("country", ["France", "Belgique", "Suisse"]),
    },
    "Spanish": {
        "ID cliente": ("customer_id", ["C1", "C2", "C3"]),
        "Fecha": ("timestamp", ["05/12/2024", "06/12/2024", "13/11/2024"]),
        "Nº pedido": ("invoice", ["1", "2", "3"]),
        "Cantidad": ("quantity", ["1", "2", "3"]),
        "Precio unitario": ("unit_price", ["2,50", "3,00", "4,10"]),
        "Importe": ("amount", ["2,50", "6,00", "12,30"]),
        "País": ("country", ["España", "Portugal", "Andorra"]),
    },
    "Polish": {
        "Nr klienta": ("customer_id", ["K1", "K2", "K3"]),
        "Data zamówienia": ("timestamp", ["05.12.2024", "06.12.2024", "13.11.2024"]),
        "Nr zamówienia": ("invoice", ["Z1", "Z2", "Z3"]),
        "Nazwa": ("description", ["Świeca", "Kubek", "Talerz"]),
        "Ilość": ("quantity", ["1", "2", "3"]),
        "Cena": ("unit_price", ["2,50", "3,00", "4,10"]),
        "Wartość": ("amount", ["2,50", "6,00", "12,30"]),
        "Kraj": ("country", ["Polska", "Czechy", "Niemcy"]),
        "Waluta": ("currency", ["PLN", "PLN", "PLN"]),
    },
    "Danish": {
        "Kundenummer": ("customer_id", ["K1", "K2", "K3"]),
        "Dato": ("timestamp", ["05-12-2024", "06-12-2024", "13-11-2024"]),
        "Ordrenummer": ("invoice", ["O1", "O2", "O3"]),
        "Varenummer": ("product_code", ["V-1", "V-2", "V-3"]),
        "Antal": ("quantity", ["1", "2", "3"]),
        "Beløb": ("amount", ["2,50", "6,00", "12,30"]),
    },
    "Hungarian": {
        "Vevőkód": ("customer_id", ["V1", "V2", "V3"]),
        "Dátum": ("timestamp", ["2024. 12. 05.", "2024. 12. 06.", "2024. 11. 13."]),
        "Számlaszám": ("invoice", ["S1", "S2", "S3"]),
        "Megnevezés": ("description", ["Gyertya", "Bögre", "Tányér"]),
        "Mennyiség": ("quantity", ["1", "2", "3"]),
        "Összeg": ("amount", ["2500", "6000", "12300"]),
        "Pénznem": ("currency", ["HUF", "HUF", "HUF"]),
    },
    "Finnish": {
        "Asiakasnumero": ("customer_id", ["A1", "A2", "A3"]),
        "Päivämäärä": ("timestamp", ["5.12.2024", "6.12.2024", "13.11.2024"]),
        "Tilausnumero": ("invoice", ["T1", "T2", "T3"]),
        "Tuote": ("description", ["Kynttilä", "Muki", "Lautanen"]),
        "Määrä": ("quantity", ["1", "2", "3"]),
        "Hinta": ("unit_price", ["2,50", "3,00", "4,10"]),
        "Maa": ("country", ["Suomi", "Ruotsi", "Viro"]),
    },
}


@pytest.mark.parametrize("language", list(EUROPEAN_FILES))
def test_a_european_shops_columns_are_preselected_by_their_own_words(language):
    """A German, French, Spanish, Polish, Danish, Hungarian or Finnish export names its columns
    in its language, with accents ("Quantité", "Nº pedido", "Ilość", "Beløb", "Összeg") and
    decimal-comma money ("1.230,00"): each is pre-selected for its field, as an English one
    is."""
    columns = EUROPEAN_FILES[language]
    frame = pd.DataFrame({name: values * 4 for name, (_, values) in columns.items()})
    guesses = guess_mapping(list(frame.columns), frame)
    assert guesses.mapping() == {field: name for name, (field, _) in columns.items()}
