"""Misleading import errors (issue 23, item 8): each file of the bad-file corpus
(tests/hardening/bad_files.py) goes through the real import (the upload's checks, then the
worker's pass) and ends with a message naming the row, and the column where one applies:
either the file is refused whole and nothing is stored, or its bad rows are rejected one by
one and exactly the other rows are stored. Never "unexpected error" or "no rows"."""

from __future__ import annotations

import pytest

from customers.models import ImportRecord, TransactionLine
from tests.customers.conftest import import_or_error
from tests.hardening.bad_files import CORPUS

pytestmark = pytest.mark.django_db
MISLEADING = ("unexpected error", "header line but no rows")


@pytest.mark.parametrize("case", list(CORPUS))
def test_each_bad_file_gets_its_clear_message_and_no_partial_import(case, tmp_path, settings):
    bad = CORPUS[case]()
    settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE = 1.0  # a small file, mostly bad on purpose
    for name, value in bad.settings.items():
        setattr(settings, name, value)
    path = tmp_path / bad.name
    path.write_bytes(bad.data)

    record, message = import_or_error(path)

    assert not any(words in message.lower() for words in MISLEADING), message
    if bad.refused:
        assert message.startswith(bad.refused), message
        assert message.endswith("Nothing was imported."), message
        assert record is None or record.status == ImportRecord.Status.FAILED
        assert not TransactionLine.unscoped.exists()
        return
    assert record.status == ImportRecord.Status.SUCCEEDED, message
    rejected = list(record.rejected_rows.values_list("line_number", "column", "message"))
    assert rejected == bad.rejected
    assert record.rows_read == record.rows_imported + len(bad.rejected)
    stored = TransactionLine.unscoped.filter(import_record=record)
    assert stored.count() == record.rows_imported
    # what was rejected is not stored: no NUL, no year out of range, no description past 500
    descriptions = list(stored.values_list("description", flat=True))
    assert not any("\x00" in d for d in descriptions)
    assert max(len(d) for d in descriptions) <= 500
    assert all(1990 <= line.timestamp.year <= 2100 for line in stored)
