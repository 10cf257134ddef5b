"""The import's reading pipeline: parse, normalise and prepare chunks in threads of their
own while the caller sends earlier chunks to the database.

No database work here (Django connections belong to their thread): the caller
(customers.importing.import_pass) takes the prepared chunks from ChunkReader.items and
writes them.
"""

from __future__ import annotations

import queue
import threading

from transaction_files import dates
from transaction_files.normalise import Normaliser
from transaction_files.reader import check_latin1_chunk, detect_date_order
from transaction_files.sources import BadRow, iter_chunks

from .staging import StagingTable

# Chunks prepared ahead of the one being sent: two keep both cores busy and bound memory.
READ_AHEAD = 2


class ChunkReader(threading.Thread):
    """Reads, normalises, hashes and renders chunks while the caller sends earlier ones.

    Three threads, one chunk apart: a parser (pyarrow), a normaliser (pandas), and this one,
    which hashes and renders (prepare). Only pandas/pyarrow/DuckDB work here, never the
    database (Django connections belong to their thread); pyarrow, numpy, DuckDB and psycopg2
    release the GIL, so the stages and the caller's COPY overlap on two cores. Items:
    ("chunk", progress, ChunkResult, PreparedChunk, line numbers, bad rows), ("stage", stage,
    progress), ("error", exception), ("done", bad rows). The line numbers (of the chunk's
    rows) let the caller's dry run tell where its first rows end.
    """

    def __init__(self, staging: StagingTable, normaliser: Normaliser, path, info, mapping):
        super().__init__(name="import-reader", daemon=True)
        self.staging, self.normaliser = staging, normaliser
        self.path, self.info, self.mapping = path, info, mapping
        self.items: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        self.stopped = threading.Event()

    def _put(self, item, into: queue.Queue | None = None) -> bool:
        into = self.items if into is None else into
        while not self.stopped.is_set():
            try:
                into.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            self._read()
        except BaseException as exc:  # handed to the caller's thread, raised there
            self._put(("error", exc))

    def _read(self) -> None:
        columns = list(dict.fromkeys(self.mapping.values()))
        parsed = self._in_thread(self._parse(columns), "import-parser")
        for item in self._in_thread(self._normalise(parsed), "import-normaliser"):
            if item[0] == "chunk":
                _, progress, result, lines, bad_rows = item
                prepared = self.staging.prepare(result.lines)
                item = ("chunk", progress, result, prepared, lines, bad_rows)
            if not self._put(item):
                return

    def _parse(self, columns: list[str]):
        """(chunk, rows of the wrong width found while parsing it), then (None, the last
        ones)."""
        found: list[BadRow] = []
        for chunk in iter_chunks(self.path, self.info, columns=columns, on_bad_row=found.append):
            yield chunk, found[:]
            found.clear()
        yield None, found

    def _normalise(self, parsed):
        """("stage", ...) and ("chunk", progress, ChunkResult, line numbers, bad rows) items,
        then ("done", bad rows)."""
        info, mapping, normaliser = self.info, self.mapping, self.normaliser
        for chunk, bad_rows in parsed:
            if chunk is None:
                yield ("done", bad_rows)
                return
            check_latin1_chunk(info, chunk)
            try:
                result = normaliser.run(chunk.frame, chunk.line_numbers)
            except dates.DateOrderNeeded:
                yield ("stage", "checking dates", chunk.progress)
                normaliser.date_order = detect_date_order(self.path, info, mapping["timestamp"])
                result = normaliser.run(chunk.frame, chunk.line_numbers)
            yield ("chunk", chunk.progress, result, chunk.line_numbers, bad_rows)

    def _in_thread(self, items, name: str):
        """The items, produced by a thread of their own one item ahead; its exception is
        raised here. It stops when stop() is called."""
        handed: queue.Queue = queue.Queue(maxsize=1)

        def produce() -> None:
            try:
                for item in items:
                    if not self._put((True, item), handed):
                        return
                self._put((False, None), handed)
            except BaseException as exc:  # raised in the consumer's thread
                self._put((False, exc), handed)

        threading.Thread(target=produce, name=name, daemon=True).start()
        while True:
            try:
                more, item = handed.get(timeout=0.1)
            except queue.Empty:
                if self.stopped.is_set():  # the producer, stopped too, hands nothing more
                    return
                continue
            if not more:
                if item is not None:
                    raise item
                return
            yield item

    def stop(self) -> None:
        self.stopped.set()
        self.join()
