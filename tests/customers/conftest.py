from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.db.models import Count, Sum

from customers.models import ImportRecord, TransactionLine
from customers.services import import_record_create, import_record_process
from tests.shops import test_shop
from transaction_files.errors import ImportFileError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The full files, in the repository (sample_data/README.md).
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
ONLINE_RETAIL_SLICE = FIXTURES / "online_retail_slice.csv"
CDNOW_SLICE = FIXTURES / "cdnow_slice.csv"


def in_shop(path: str) -> str:
    """A path as the pages of the test shop link it: under its /w/<slug>/ prefix."""
    return f"/w/{test_shop().slug}{path}"


def import_path(path: Path, *, workspace=None, **options) -> ImportRecord:
    """Create and process an import synchronously, as the command does (default: into the
    test shop)."""
    workspace = workspace or test_shop()
    with open(path, "rb") as f:
        record = import_record_create(
            workspace=workspace, file=f, file_name=Path(path).name, enqueue=False, **options
        )
    return import_record_process(workspace=workspace, import_record_id=record.pk)


def import_or_error(path: Path, **options) -> tuple[ImportRecord | None, str]:
    """(record, message): the record when the file got that far, and the user's message."""
    try:
        record = import_path(path, **options)
    except ImportFileError as exc:
        return None, str(exc)
    return record, record.error


def lines_checksum() -> tuple:
    totals = TransactionLine.unscoped.aggregate(n=Count("line_hash"), amount=Sum("amount"))
    hashes = "".join(
        str(h)
        for h in TransactionLine.unscoped.order_by("line_hash").values_list("line_hash", flat=True)
    )
    return totals["n"], totals["amount"], hashlib.sha256(hashes.encode()).hexdigest()


@pytest.fixture
def seeded(db):
    """Earlier data that every failed import must leave intact."""
    record = import_path(CDNOW_SLICE)
    assert record.status == ImportRecord.Status.SUCCEEDED
    return lines_checksum()


@pytest.fixture
def run_tasks_inline(monkeypatch):
    """A queued import runs at once in this process (the worker test uses a real worker)."""
    from customers.tasks import process_import

    calls = []

    def run_now(pk):
        calls.append(pk)
        process_import.apply(args=[pk])

    monkeypatch.setattr(process_import, "delay_on_commit", run_now)
    return calls


@pytest.fixture
def token_client(make_user, shop):
    """token_client(role, read_only=False): a client with a new API token of a new user who
    holds `role` in the test shop."""
    from django.test import Client

    from accounts.services import api_token_create

    made: list[str] = []

    def client(role: str, read_only: bool = False) -> Client:
        made.append(role)
        user = make_user(role, username=f"api-{role}-{len(made)}")
        _, secret = api_token_create(user=user, workspace=shop, name="t", read_only=read_only)
        return Client(headers={"Authorization": f"Token {secret}"})

    return client
