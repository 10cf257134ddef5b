"""Optional contact fields (issue 22): a file's e-mail and name columns are guessed, mapped
and imported onto the customers (the latest of each per customer), never onto the lines."""

from __future__ import annotations

import pandas as pd
import pytest

from customers.models import Customer, TransactionLine
from transaction_files.columns import FIELDS, recognise
from transaction_files.guesses import HIGH, guess_mapping

from .conftest import ONLINE_RETAIL_SLICE, import_path

pytestmark = pytest.mark.django_db


def with_contacts(tmp_path, *, email_column="Email", name_column="Customer Name"):
    """The Online Retail slice with an e-mail and a name per line: customer 17850's e-mail
    changes over time (the latest wins), one address is not an address, names are padded."""
    frame = pd.read_csv(ONLINE_RETAIL_SLICE, dtype=str, keep_default_na=False)
    ids = frame["CustomerID"].str.replace(r"\.0$", "", regex=True)
    frame[email_column] = "c" + ids + "@example.com"
    frame[name_column] = "  Customer " + ids + " "
    frame.loc[ids == "", [email_column, name_column]] = ""
    first = frame.index[ids == "17850"][0]
    last = frame.index[ids == "17850"][-1]
    frame.loc[ids == "17850", email_column] = "old@example.com"
    frame.loc[last, email_column] = "new@example.com"
    frame.loc[first, name_column] = ""  # an empty name does not erase the others
    other = frame.index[(ids != "") & (ids != "17850")][0]
    other_id = ids[other]
    frame.loc[ids == other_id, email_column] = "not an address"
    path = tmp_path / "with-contacts.csv"
    frame.to_csv(path, index=False)
    return path, other_id


def test_contact_columns_are_guessed_and_recognised():
    assert {"email", "customer_name"} <= set(FIELDS)
    assert recognise(["CustomerID", "Email", "Customer Name"]) == {
        "customer_id": "CustomerID",
        "email": "Email",
        "customer_name": "Customer Name",
    }
    sample = pd.DataFrame(
        {"E-mail address": ["ann@example.com", "bob@example.org"], "Full name": ["Ann", "Bob"]}
    )
    guesses = guess_mapping(["E-mail address", "Full name"], sample).by_field
    assert (guesses["email"].column, guesses["email"].confidence) == ("E-mail address", HIGH)
    assert (guesses["customer_name"].column, guesses["customer_name"].confidence) == (
        "Full name",
        HIGH,
    )
    # a column named like an e-mail whose values are not addresses is never pre-selected
    wrong = pd.DataFrame({"email": ["yes", "no"]})
    assert guess_mapping(["email"], wrong).by_field["email"].confidence != HIGH


def test_an_import_stores_each_customers_latest_contact_details(tmp_path):
    path, other_id = with_contacts(tmp_path)
    record = import_path(path)
    assert record.status == "succeeded", record.error
    customers = {c.external_id: c for c in Customer.unscoped.all()}
    assert customers["17850"].email == "new@example.com"
    assert customers["17850"].name == "Customer 17850"
    assert customers[other_id].email == ""  # not an address: left out
    assert customers[other_id].name == f"Customer {other_id}"
    named = [c for c in customers.values() if c.external_id not in ("17850", other_id)]
    assert named and all(c.email == f"c{c.external_id}@example.com" for c in named)
    # the lines are stored as without the columns (no contact details on them)
    assert TransactionLine.unscoped.count() == record.rows_imported


def test_a_file_without_contact_columns_leaves_them_empty():
    record = import_path(ONLINE_RETAIL_SLICE)
    assert record.status == "succeeded", record.error
    assert not Customer.unscoped.exclude(email="").exists()
    assert not Customer.unscoped.exclude(name="").exists()
