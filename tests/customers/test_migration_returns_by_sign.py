"""Migration 0019: lines stored while an invoice's first letter made a return or a fee line
are classified by their sign and product code (docs/decisions/returns-by-sign.md), and their
customers' purchase dates follow. Runs `manage.py migrate` in a subprocess against a scratch
database: SQLite always, PostgreSQL when the suite runs on it."""

from __future__ import annotations

import uuid

from tests.scratch_db import migrate, read_rows, write_rows

BEFORE = "0018_customer_email_index"
CUSTOMERS = [
    # id, external id, first and last purchase as the old rule left them
    (1, "A1", None, None),  # every line of a shop without invoices was a "fee line"
    (2, "C7", None, None),  # ... or a "return"
    (3, "12347", "2011-01-02 10:00:00", "2011-01-02 10:00:00"),  # Online Retail's kind
]
LINES = [
    # customer, invoice, product, quantity, amount, time, return, non-product
    (1, "A1-19980702", "", "1", "12.5", "1998-07-02 04:00:00", False, True),
    (1, "A1-19980705", "", "1", "9.0", "1998-07-05 04:00:00", False, True),
    (2, "C7-19980703", "", "2", "30.0", "1998-07-03 04:00:00", True, False),
    (2, "C7-19980801", "", "1", "-5.0", "1998-08-01 04:00:00", True, False),  # a refund
    (3, "540001", "22423", "6", "76.5", "2011-01-02 10:00:00", False, False),
    (3, "C540002", "22423", "-6", "-76.5", "2011-01-03 10:00:00", True, False),
    (3, "A540003", "B", "1", "-11.06", "2011-01-04 10:00:00", False, True),  # bad debt
    (3, "540004", "POST", "1", "18.0", "2011-01-05 10:00:00", False, True),
    (3, "540005", "21064", "1", "-3.0", "2011-01-06 10:00:00", False, False),  # refund
]  # fmt: skip
INSERT_CUSTOMER = (
    "INSERT INTO customers_customer (id, workspace_id, external_id, country, "
    "first_purchase_at, last_purchase_at, created_at, updated_at) VALUES "
    "(?, (SELECT id FROM workspaces_workspace WHERE slug = 'shop'), ?, '', ?, ?, ?, ?)"
)
INSERT_LINE = (
    "INSERT INTO customers_transactionline (workspace_id, customer_id, invoice, "
    "product_code, description, quantity, unit_price, amount, timestamp, country, "
    "is_return, is_non_product, import_record_id, line_hash) VALUES "
    "((SELECT id FROM workspaces_workspace WHERE slug = 'shop'), "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _check(url, tmp_path, connect, mark: str) -> None:
    migrate(url, tmp_path, "customers", BEFORE)
    workspace = (
        "INSERT INTO workspaces_workspace (name, slug, currency, time_zone, date_order, "
        "created_at) VALUES ('Shop', 'shop', 'USD', 'UTC', '', '2024-01-01 00:00:00')"
    )
    stamps = ("2024-01-01 00:00:00", "2024-01-01 00:00:00")
    write_rows(
        connect,
        mark,
        [(workspace, ())]
        + [(INSERT_CUSTOMER, (*customer, *stamps)) for customer in CUSTOMERS]
        + [
            (
                INSERT_LINE,
                (
                    customer,
                    invoice,
                    code,
                    "",
                    quantity,
                    None,
                    amount,
                    ts,
                    "",
                    ret,
                    fee,
                    1,
                    uuid.UUID(int=n + 1).hex,
                ),
            )  # fmt: skip
            for n, (customer, invoice, code, quantity, amount, ts, ret, fee) in enumerate(LINES)
        ],
    )

    migrate(url, tmp_path)

    lines = read_rows(
        connect,
        "SELECT invoice, is_return, is_non_product FROM customers_transactionline "
        "ORDER BY line_hash",
    )
    assert [(i, bool(r), bool(n)) for i, r, n in lines] == [
        ("A1-19980702", False, False),
        ("A1-19980705", False, False),
        ("C7-19980703", False, False),
        ("C7-19980801", True, False),
        ("540001", False, False),
        ("C540002", True, False),
        ("A540003", True, True),  # a fee line still (code B), and negative
        ("540004", False, True),
        ("540005", True, False),
    ]
    customers = read_rows(
        connect,
        "SELECT external_id, first_purchase_at, last_purchase_at FROM customers_customer "
        "ORDER BY id",
    )
    got = [(c, str(f)[:10] if f else None, str(t)[:10] if t else None) for c, f, t in customers]
    assert got == [
        ("A1", "1998-07-02", "1998-07-05"),
        ("C7", "1998-07-03", "1998-07-03"),
        ("12347", "2011-01-02", "2011-01-02"),
    ]


def test_lines_are_classified_again(scratch_database, tmp_path):
    db = scratch_database
    _check(db.url, tmp_path, db.connect, db.mark)
