"""Plausible data, or a clear rejection (issue 23, finding 1 and parts of 7 and 8).

One bad line used to poison every later run: a date in 9999 or 0001 (or 1677, 2262, or any
future year), or a quantity of 1e4 at a unit price of 9e9, was stored by the file import or
the JSON API. Now both apply the same bounds (transaction_files.plausible) and name each
rejected line's row and column; everything they accept, a segmentation run can use.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client

from accounts.services import api_token_create
from clustering.models import SegmentationRun
from clustering.params import params_from_input
from clustering.services import run_create, run_execute
from customers.models import ImportRecord, TransactionLine
from tests.clustering.factories import load_transactions, synthetic_lines
from tests.customers.conftest import import_or_error
from transaction_files.normalise import Normaliser
from transaction_files.plausible import Bounds

JSON = "application/json"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
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
TOO_EARLY = "Dated before 1990, the earliest year accepted."
TOO_LATE = "Dated after the upload's time plus 2 days: a sale cannot postdate its upload."
QUANTITY_BEYOND = "Outside ±1,000,000, the range of quantities accepted."
PRICE_BEYOND = "Outside ±100,000,000, the range of unit prices accepted."
AMOUNT_BEYOND = (
    "Quantity times unit price is outside ±1,000,000,000, the range of line amounts accepted."
)
TOO_LONG = "Longer than 500 characters."


def _row(customer, when, quantity="1", price="2.5", description="edge", *, invoice="900001"):
    return f"{invoice},E1,{description},{quantity},{when},{price},{customer},UK\n"


def _local(at: datetime) -> str:
    return at.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def accepted_edges(now: datetime) -> list[tuple[str, str, str, str]]:
    """(when, quantity, unit price, description) of every edge the bounds accept."""
    latest = _local(now + timedelta(days=2) - timedelta(minutes=10))
    return [
        ("1990-01-01 00:00:00", "1", "2.5", "earliest year"),
        (latest, "1", "2.5", "latest allowed date"),
        ("2011-05-01 10:00:00", "1000000", "1000", "largest quantity and amount"),
        ("2011-05-02 10:00:00", "-1000000", "1000", "largest return"),
        ("2011-05-03 10:00:00", "1", "100000000", "largest unit price"),
        ("2011-05-04 10:00:00", "1", "-100000000", "largest negative unit price"),
        ("2011-05-05 10:00:00", "2", "3", "d" * 500),
    ]


# (when, quantity, unit price, description) -> (column, message)
REJECTED_EDGES = [
    (("9999-12-31 23:59:59", "1", "2.5", ""), ("InvoiceDate", TOO_LATE)),
    (("0001-01-01 00:00:00", "1", "2.5", ""), ("InvoiceDate", TOO_EARLY)),
    (("1677-09-21 00:12:43", "1", "2.5", ""), ("InvoiceDate", TOO_EARLY)),
    (("2262-04-11 23:47:16", "1", "2.5", ""), ("InvoiceDate", TOO_LATE)),
    (("1989-12-31 23:59:59", "1", "2.5", ""), ("InvoiceDate", TOO_EARLY)),
    (("2011-05-01 10:00:00", "10000", "9000000000", ""), ("UnitPrice", PRICE_BEYOND)),
    (("2011-05-01 10:00:00", "1000001", "1", ""), ("Quantity", QUANTITY_BEYOND)),
    (("2011-05-01 10:00:00", "1", "100000001", ""), ("UnitPrice", PRICE_BEYOND)),
    (("2011-05-01 10:00:00", "20", "60000000", ""), ("UnitPrice", AMOUNT_BEYOND)),
    (("2011-05-01 10:00:00", "1", "2.5", "d" * 501), ("Description", TOO_LONG)),
]


# ------------------------------------------------------------------ the rules themselves
def normalise(rows, *, uploaded_at, bounds=None):
    frame = pd.DataFrame(rows, columns=list(MAPPING.values()), dtype="str")
    normaliser = Normaliser(
        mapping=MAPPING,
        date_order="iso",
        time_zone="Europe/London",
        bounds=bounds or Bounds(),
        uploaded_at=uploaded_at,
    )
    return normaliser.run(frame, np.arange(2, 2 + len(rows), dtype=np.int64))


def test_dates_are_accepted_to_the_second_inside_the_window_and_rejected_outside():
    uploaded = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # 13:00 in London (summer time)
    times = [
        "1990-01-01 00:00:00",
        "1989-12-31 23:59:59",
        "2024-05-03 13:00:00",
        "2024-05-03 13:00:01",
    ]
    rows = [["1", "A", "a", "1", t, "1", f"c{i}", "UK"] for i, t in enumerate(times)]
    result = normalise(rows, uploaded_at=uploaded)
    assert result.lines["line_no"].tolist() == [2, 4]
    assert [(r.line_number, r.column, r.message) for r in result.rejections] == [
        (3, "InvoiceDate", TOO_EARLY),
        (5, "InvoiceDate", TOO_LATE),
    ]
    assert result.reasons["rejected_implausible_date"] == 2


def test_the_bounds_are_configurable_within_what_the_columns_hold():
    bounds = Bounds(earliest_year=2000, future_days=0, max_quantity=10, max_unit_price=5)
    uploaded = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    rows = [
        ["1", "A", "a", "10", "2000-01-01", "5", "c1", "UK"],
        ["1", "A", "a", "11", "2000-01-01", "5", "c2", "UK"],
        ["1", "A", "a", "1", "1999-12-31", "5", "c3", "UK"],
        ["1", "A", "a", "1", "2024-05-01 13:00:01", "5", "c4", "UK"],
    ]
    result = normalise(rows, uploaded_at=uploaded, bounds=bounds)
    assert result.lines["line_no"].tolist() == [2]
    assert [r.message for r in sorted(result.rejections, key=lambda r: r.line_number)] == [
        "Outside ±10, the range of quantities accepted.",
        "Dated before 2000, the earliest year accepted.",
        "Dated after the upload's time plus 0 days: a sale cannot postdate its upload.",
    ]
    for wrong in (
        {"earliest_year": 1677},
        {"max_amount": 1e14},
        {"max_unit_price": 0},
        {"future_days": -1},
    ):
        with pytest.raises(ValueError):
            Bounds(**wrong)


def test_a_nul_character_rejects_its_row_not_the_import():
    rows = [
        ["1", "A", "a\x00b", "1", "2011-01-01", "1", "c1", "UK"],
        ["1", "A", "ab", "1", "2011-01-01", "1", "c2", "UK"],
    ]
    result = normalise(rows, uploaded_at=None)
    assert result.lines["customer_ext"].tolist() == ["c2"]
    assert [(r.line_number, r.column, r.message) for r in result.rejections] == [
        (2, "Description", "Holds a NUL character: binary data, not text.")
    ]


# ------------------------------------------------------------------ the file import
def _write(tmp_path, name, body: str):
    path = tmp_path / name
    path.write_bytes(body.encode())
    return path


@pytest.mark.django_db
def test_the_file_import_rejects_each_implausible_edge_with_row_and_column(tmp_path, settings):
    settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE = 1.0  # mostly bad rows on purpose: not a dry run
    rows = [_row("ok", "2011-05-01 10:00:00")]
    rows += [_row(f"bad{i}", *edge) for i, (edge, _) in enumerate(REJECTED_EDGES)]
    record, error = import_or_error(_write(tmp_path, "edges.csv", HEADER + "".join(rows)))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert (record.rows_read, record.rows_imported) == (len(rows), 1)
    assert list(record.rejected_rows.values_list("line_number", "column", "message")) == [
        (3 + i, column, message) for i, (_, (column, message)) in enumerate(REJECTED_EDGES)
    ]
    assert TransactionLine.unscoped.get().customer.external_id == "ok"


@pytest.mark.django_db
def test_a_file_mixing_out_of_range_years_is_imported_with_row_level_rejections(tmp_path, settings):
    settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE = 1.0  # mostly bad rows on purpose: not a dry run
    # Every form the reader knows, each out of range: it used to end as "unexpected error".
    whens = ["0001-01-01", "01/01/1677", "99991231", "31/12/2262 10:00", "2011-01-01"]
    rows = [_row(f"c{i}", when) for i, when in enumerate(whens)]
    record, error = import_or_error(
        _write(tmp_path, "years.csv", HEADER + "".join(rows)), date_order="dayfirst"
    )
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert record.rows_imported == 1
    assert list(record.rejected_rows.values_list("line_number", "column", "message")) == [
        (2, "InvoiceDate", TOO_EARLY),
        (3, "InvoiceDate", TOO_EARLY),
        (4, "InvoiceDate", TOO_LATE),
        (5, "InvoiceDate", TOO_LATE),
    ]
    assert record.counts_by_reason["rejected_implausible_date"] == 4


@pytest.mark.django_db
def test_a_nul_byte_after_the_first_block_is_a_rejected_row(tmp_path):
    # The first 256 KB are checked for binary data as a whole; later, the row says why.
    filler = "".join(_row(f"c{i}", "2011-01-01 10:00:00") for i in range(6000))
    assert len(filler) > 256 * 1024
    nul = _row("nul", "2011-01-01 10:00:00", description="a\x00b")
    record, error = import_or_error(_write(tmp_path, "nul.csv", HEADER + filler + nul))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert record.rows_imported == 6000
    assert list(record.rejected_rows.values_list("line_number", "column", "value", "message")) == [
        (6002, "Description", "a\ufffdb", "Holds a NUL character: binary data, not text.")
    ]
    assert record.counts_by_reason["rejected_binary_data"] == 1


# ------------------------------------------------------------------ the JSON API
@pytest.fixture
def manager_api(make_user, shop):
    user = make_user("manager")
    secret = api_token_create(user=user, workspace=shop, name="tests", read_only=False)[1]
    return Client(headers={"Authorization": f"Token {secret}"})


def _api_line(customer, when, quantity, price, description, *, invoice="910001"):
    line = {
        "customer_id": customer,
        "invoice": invoice,
        "timestamp": when,
        "quantity": float(quantity),
        "unit_price": float(price),
        "product_code": "E1",
        "country": "UK",
    }
    if description:
        line["description"] = description
    return line


@pytest.mark.django_db
def test_the_json_api_rejects_each_implausible_edge_with_index_and_field(manager_api):
    fields = {"InvoiceDate": "timestamp", "UnitPrice": "unit_price", "Quantity": "quantity"}
    fields["Description"] = "description"
    lines = [_api_line("ok", "2011-05-01T10:00:00", 1, 2.5, "")]
    lines += [_api_line(f"bad{i}", *edge) for i, (edge, _) in enumerate(REJECTED_EDGES)]
    response = manager_api.post("/api/v1/transactions/", {"lines": lines}, content_type=JSON)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_rows"
    rows = [(r["index"], r["field"]) for r in body["rows"]]
    assert rows == [(1 + i, fields[column]) for i, (_, (column, _)) in enumerate(REJECTED_EDGES)]
    # The same words as the file import, but for the description, which DRF checks first.
    messages = [r["message"] for r in body["rows"]]
    assert messages[:-1] == [message for _, (_, message) in REJECTED_EDGES[:-1]]
    assert messages[-1] == "Ensure this field has no more than 500 characters."
    assert not TransactionLine.unscoped.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"lines": [1, "x", None]},
        {"lines": [None]},
        {"lines": [[1, 2], {"customer_id": "c"}]},
    ],
)
def test_lines_that_are_not_objects_are_each_named_by_index(manager_api, body):
    response = manager_api.post("/api/v1/transactions/", body, content_type=JSON)
    assert response.status_code == 400, response.content
    payload = response.json()
    assert set(payload) == {"status", "code", "detail", "fields", "rows"}
    assert (payload["status"], payload["code"]) == (400, "invalid_rows")
    assert {r["index"] for r in payload["rows"]} == set(range(len(body["lines"])))
    n = len(body["lines"])
    assert payload["detail"] == f"{n} of {n} lines are not valid; nothing was stored."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{"lines": "x"}, {"lines": {"0": {}}}, {"lines": None}, {"lines": 3}, [1, 2], '"lines"', {}],
)
def test_a_body_without_a_list_of_lines_is_a_400_in_the_standard_shape(manager_api, body):
    response = manager_api.post("/api/v1/transactions/", body, content_type=JSON)
    assert response.status_code == 400, response.content
    payload = response.json()
    assert set(payload) == {"status", "code", "detail", "fields"}
    assert (payload["status"], payload["code"]) == (400, "invalid")
    assert payload["fields"]


# ------------------------------------------------------------------ a run on every edge
@pytest.mark.django_db
def test_a_run_succeeds_on_every_edge_value_either_import_accepted(
    tmp_path, manager_api, make_user, shop
):
    load_transactions(synthetic_lines(200, seed=11), name="plausible.csv")
    now = datetime.now(UTC)
    edges = accepted_edges(now)
    rows = [_row(f"file-{i}", *edge, invoice=f"91{i:04d}") for i, edge in enumerate(edges)]
    record, error = import_or_error(_write(tmp_path, "accepted.csv", HEADER + "".join(rows)))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert (record.rows_imported, record.rows_rejected) == (len(edges), 0)

    lines = [
        _api_line(f"api-{i}", when.replace(" ", "T"), q, p, d, invoice=f"92{i:04d}")
        for i, (when, q, p, d) in enumerate(edges)
    ]
    response = manager_api.post("/api/v1/transactions/", {"lines": lines}, content_type=JSON)
    assert response.status_code == 201, response.content
    assert response.json()["lines_imported"] == len(edges)

    stored = TransactionLine.unscoped.filter(customer__external_id__in=["file-2", "api-2"])
    assert sorted(float(line.amount) for line in stored) == [1e9, 1e9]

    manager = make_user("manager", username="plausible-runner")
    with transaction.atomic():
        run = run_create(
            workspace=shop,
            user=manager,
            params=params_from_input({"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}),
            enqueue=False,
        )
    outcome = run_execute(run_id=run.pk, token="plausible", hostname="tests@plausible")
    assert outcome == "succeeded", SegmentationRun.unscoped.get(pk=run.pk).error
