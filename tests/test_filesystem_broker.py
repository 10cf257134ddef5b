"""The embedded default's broker (common/filesystem_broker.py): a message is never visible to
a worker before it is written whole; kombu's own filesystem transport let a worker take an
empty file and stop."""

from __future__ import annotations

import os

import pytest
from kombu import Connection
from kombu.transport.virtual import Empty

from common import filesystem_broker


@pytest.fixture
def channel(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(tmp_path / "control"),
        "store_processed": False,
    }
    with Connection("filesystem://", transport=filesystem_broker.Transport) as connection:
        connection.transport_options.update(options)
        yield connection.default_channel, folder


def test_a_message_is_invisible_until_written_whole_then_delivered_once(channel, monkeypatch):
    channel, folder = channel
    message = {"body": "x" * 100_000, "properties": {"delivery_tag": "1"}}
    seen_while_writing = []
    rename = os.replace

    def replace_after_looking(source, target):
        # the file is written, not yet in place: a worker polling now finds nothing
        assert os.path.getsize(source) > 100_000
        try:
            seen_while_writing.append(channel._get("celery"))
        except Empty:
            seen_while_writing.append(None)
        rename(source, target)

    monkeypatch.setattr(filesystem_broker.os, "replace", replace_after_looking)
    channel._put("celery", message)

    assert seen_while_writing == [None]
    assert channel._get("celery") == message
    with pytest.raises(Empty):
        channel._get("celery")
    assert list(folder.iterdir()) == []


def test_a_message_that_cannot_be_written_is_an_error_and_leaves_no_file(channel, monkeypatch):
    from kombu.exceptions import ChannelError

    channel, folder = channel

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(filesystem_broker.os, "replace", disk_full)
    with pytest.raises(ChannelError):
        channel._put("celery", {"body": "x", "properties": {"delivery_tag": "1"}})
    assert list(folder.iterdir()) == []


def test_partial_files_of_writers_that_died_are_removed_at_the_next_start(channel):
    channel, folder = channel
    stale, fresh = folder / ".partial-1_a.celery.msg", folder / ".partial-2_b.celery.msg"
    for path in (stale, fresh):
        path.write_bytes(b'{"body": ')
    hours_ago = os.path.getmtime(stale) - 2 * filesystem_broker.STALE_PARTIAL_SECONDS
    os.utime(stale, (hours_ago, hours_ago))
    with pytest.raises(Empty):
        channel._get("celery")  # the partial files are no messages
    assert sorted(p.name for p in folder.iterdir()) == [fresh.name]  # a writer may be at it


def test_the_embedded_default_uses_it_and_a_redis_broker_does_not(settings):
    from segmentation_site.celery import app

    filesystem = settings.CELERY_BROKER_URL.startswith("filesystem://")
    with app.connection_for_write() as connection:
        assert (type(connection.transport) is filesystem_broker.Transport) is filesystem
