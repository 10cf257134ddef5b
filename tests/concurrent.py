"""Two writers at once on PostgreSQL: the first holds its transaction open while the second
is started in a thread and seen waiting on a lock; then the first commits."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection, connections, transaction

LOCK_WAITS = "SELECT count(*) FROM pg_locks WHERE NOT granted"


def second_writer_waits_then_runs(first: Callable[[], None], second: Callable[[], None]):
    """Run ``first`` in a transaction; run ``second`` in another connection while ``first``
    is uncommitted, until PostgreSQL shows it waiting for a lock; commit ``first``. Returns
    the exception ``second`` raised, or None."""
    raised: list[BaseException] = []
    done = threading.Event()

    def other() -> None:
        try:
            second()
        except BaseException as error:  # handed to the test
            raised.append(error)
        finally:
            connections.close_all()  # this thread's connection
            done.set()

    thread = threading.Thread(target=other)
    with transaction.atomic():
        first()
        thread.start()
        with connection.cursor() as cursor:
            # waits for the other connection's lock wait, or for it to end unblocked
            while not done.wait(0.01):
                cursor.execute(LOCK_WAITS)
                if cursor.fetchone()[0]:
                    break
    thread.join(timeout=30)
    assert not thread.is_alive(), "the second writer never finished"
    return raised[0] if raised else None
