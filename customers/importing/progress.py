"""An import's stage and progress, written for the import page to poll."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import DatabaseError, connection

from ..models import ImportRecord


def write_progress(record: ImportRecord, *, stage: str, percent: int) -> None:
    ImportRecord.objects.in_workspace(record.workspace_id).filter(pk=record.pk).update(
        stage=stage, progress=min(percent, 100)
    )


class ProgressElsewhere:
    """write_progress through another database connection (its own thread's), for an import that
    reads inside its final transaction: there the page would see nothing until the commit.
    The caller does not wait for each write (a commit each, while the COPY would sit idle);
    a failed one is raised at the next call or on closing. Close it before the
    import's transaction writes the record: closing waits for the writes still queued (a
    late one would wait for that row's lock and then overwrite the final state)."""

    def __init__(self):
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-progress")
        self._queued: list[Future] = []

    def __call__(self, record: ImportRecord, *, stage: str, percent: int) -> None:
        self._raise_failed()
        self._queued.append(
            self._thread.submit(write_progress, record, stage=stage, percent=percent)
        )

    def _raise_failed(self) -> None:
        for future in [f for f in self._queued if f.done()]:
            self._queued.remove(future)
            future.result()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self._thread.submit(_close_own_connection).result()
        self._thread.shutdown()
        if exc_type is None:  # the import's own error, if any, is the one to see
            self._raise_failed()


def _close_own_connection() -> None:
    # connection is per thread: this closes the calling thread's own. A broken one is gone
    # anyway, and its error must not hide the import's.
    with contextlib.suppress(DatabaseError):
        connection.close()
