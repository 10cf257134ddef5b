"""Migration customers 0022: customer ids that are e-mail addresses, imported before such
ids were stored as pseudonyms, become their pseudonyms, so a later file naming the same
address finds the same customer; an id whose pseudonym is already another customer's is left.
Runs `manage.py migrate` in a subprocess against a scratch database: SQLite always,
PostgreSQL when the suite runs on it."""

from __future__ import annotations

from tests.scratch_db import migrate, read_rows, write_rows
from transaction_files.pseudonyms import pseudonym

KEY = "k" * 64
WORKSPACE = (
    "INSERT INTO workspaces_workspace (id, name, slug, currency, time_zone, date_order, "
    "pseudonym_key, created_at) VALUES (7, 'Shop', 'shop', 'USD', 'UTC', '', ?, "
    "'2024-01-01 00:00:00')"
)
CUSTOMER = (
    "INSERT INTO customers_customer (workspace_id, external_id, country, email, name, "
    "created_at, updated_at) VALUES (7, ?, '', '', '', '2024-01-01 00:00:00', "
    "'2024-01-01 00:00:00')"
)
IDS = [
    "ann@example.com",  # imported before: becomes its pseudonym
    "17850",  # an ordinary id stays
    "not@an-address",  # no domain's dot: not an e-mail, stays
    "Bob@Example.org",  # becomes the pseudonym of bob@example.org ...
    "bob@example.org",  # ... so the same address in another case is left as it is
    pseudonym("cy@example.net", KEY),  # imported since, as its pseudonym
    "cy@example.net",  # the same person before: left, not merged
]


def _check(url, tmp_path, connect, mark: str) -> None:
    migrate(url, tmp_path, "customers", "0021_rows_skipped_help")
    migrate(url, tmp_path, "workspaces", "0003_pseudonym_key")
    write_rows(connect, mark, [(WORKSPACE, (KEY,))] + [(CUSTOMER, (i,)) for i in IDS])

    migrate(url, tmp_path)

    after = [
        row[0]
        for row in read_rows(connect, "SELECT external_id FROM customers_customer ORDER BY id")
    ]
    assert after == [
        pseudonym("ann@example.com", KEY),
        "17850",
        "not@an-address",
        pseudonym("bob@example.org", KEY),
        "bob@example.org",
        pseudonym("cy@example.net", KEY),
        "cy@example.net",
    ]


def test_e_mail_ids_become_pseudonyms(scratch_database, tmp_path):
    db = scratch_database
    _check(db.url, tmp_path, db.connect, db.mark)
