"""Uploaded files hold customers' e-mails and names: the workers delete those of imports
finished more than IMPORT_FILES_KEEP_DAYS ago, in every workspace, without anyone scheduling
prune_import_files; 0 keeps them. The reaper does it at most once an hour per process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from clustering import tasks as reaper
from customers import tasks
from customers.models import ImportRecord

pytestmark = pytest.mark.django_db
Status = ImportRecord.Status


SAMPLE = {"rows": [["ann@example.com", "1"]]}  # the first rows the mapping step shows


def stored(workspace, name: str, status: str, days_ago: float) -> ImportRecord:
    record = ImportRecord(
        workspace=workspace, file_name=name, sha256="0" * 64, status=status, sample=SAMPLE
    )
    record.file.save(name, ContentFile(b"Email,CustomerID\nann@example.com,1\n"), save=False)
    when = timezone.now() - timedelta(days=days_ago)
    record.finished_at = None if status == Status.NEEDS_MAPPING else when
    record.save()
    ImportRecord.unscoped.filter(pk=record.pk).update(created_at=when)  # auto_now_add
    return record


@pytest.fixture
def uploads(shop, other_shop):
    return {
        "old": stored(shop, "old.csv", Status.SUCCEEDED, 31),
        "old failed": stored(shop, "failed.csv", Status.FAILED, 45),
        "old undone": stored(shop, "undone.csv", Status.UNDONE, 60),
        "elsewhere": stored(other_shop, "theirs.csv", Status.SUCCEEDED, 90),
        "recent": stored(shop, "recent.csv", Status.SUCCEEDED, 29),
        "abandoned": stored(shop, "abandoned.csv", Status.NEEDS_MAPPING, 31),
        "waiting": stored(shop, "waiting.csv", Status.NEEDS_MAPPING, 2),
        "queued": stored(shop, "queued.csv", Status.QUEUED, 90),
    }


def kept(uploads) -> set[str]:
    return {
        key
        for key, record in uploads.items()
        if ImportRecord.unscoped.get(pk=record.pk).file and Path(record.file.path).exists()
    }


def test_files_kept_past_their_days_go_in_every_workspace(uploads, settings):
    settings.IMPORT_FILES_KEEP_DAYS = 30
    assert tasks.import_files_prune_expired() == 5
    assert kept(uploads) == {"recent", "waiting", "queued"}
    old = ImportRecord.unscoped.get(pk=uploads["old"].pk)
    assert old.status == Status.SUCCEEDED and old.file_name == "old.csv"  # the record stays
    assert old.sample == {}  # its first rows held the same e-mails
    assert ImportRecord.unscoped.get(pk=uploads["recent"].pk).sample == SAMPLE
    # an import never mapped in 30 days is given up, saying so
    abandoned = ImportRecord.unscoped.get(pk=uploads["abandoned"].pk)
    assert abandoned.status == Status.FAILED and abandoned.sample == {}
    assert "No column mapping was chosen within 30 days" in abandoned.error
    assert ImportRecord.unscoped.get(pk=uploads["waiting"].pk).status == Status.NEEDS_MAPPING
    assert tasks.import_files_prune_expired() == 0  # nothing left to do


def test_zero_days_keeps_every_file(uploads, settings):
    settings.IMPORT_FILES_KEEP_DAYS = 0
    assert tasks.import_files_prune_expired() == 0
    assert kept(uploads) == set(uploads)


def test_the_reaper_prunes_at_most_once_an_hour(monkeypatch):
    calls, clock = [], [10_000.0]
    monkeypatch.setattr(tasks, "import_files_prune_expired", lambda: calls.append(clock[0]))
    monkeypatch.setattr(reaper.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(reaper, "_last_prune", [])
    for at in (10_000.0, 10_030.0, 10_000.0 + reaper.PRUNE_EVERY_SECONDS - 1,
               10_000.0 + reaper.PRUNE_EVERY_SECONDS, 20_000.0):  # fmt: skip
        clock[0] = at
        reaper._prune_uploaded_files()
    assert calls == [10_000.0, 10_000.0 + reaper.PRUNE_EVERY_SECONDS, 20_000.0]
