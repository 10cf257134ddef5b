"""Which line hashes an import has seen (BulkLoad drops repeated lines itself, with no
staging table to deduplicate in SQL), and which repeats are purchases of their own."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


class SeenHashes:
    """The line hashes seen so far, 16 bytes each in sorted runs of two uint64 arrays (a
    Python set of the hex strings takes about 100 bytes a line: 0.5 GB for a file ten times
    Online Retail).

    Each call's new hashes become a run; a run is merged into the one before it while that
    one is at most twice its size, so a file of n lines keeps about log2(n / chunk) runs and
    each hash is copied O(log n) times. One array grown per chunk (np.insert) copied all
    hashes seen so far at every chunk: quadratic, about 280 MB per chunk at 17 million
    lines (docs/scaling.md).
    """

    def __init__(self):
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (hi, lo), sorted by hi

    def __len__(self) -> int:
        return sum(len(hi) for hi, _ in self._runs)

    def first_seen(self, digests: np.ndarray) -> np.ndarray:
        """Mask of the hashes (an (n, 16) uint8 array, as line_hashes gives) seen here for
        the first time: not seen in an earlier call, nor earlier in this one."""
        halves = np.ascontiguousarray(digests, dtype=np.uint8).view(">u8").reshape(-1, 2)
        hi, lo = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
        # Sorted by the first half (numpy's unstable sort of 64-bit keys is five times as fast
        # as sorting by both): repeats sit side by side, and the stored runs are searched
        # in order. Distinct hashes sharing their first half (about one pair in 10^7 at 5 M
        # lines) may then sit apart: sort by both halves instead.
        order = np.argsort(hi)
        hi_sorted, lo_sorted = hi[order], lo[order]
        repeat = hi_sorted[1:] == hi_sorted[:-1]
        if (repeat & (lo_sorted[1:] != lo_sorted[:-1])).any():
            order = np.lexsort((lo, hi))
            hi_sorted, lo_sorted = hi[order], lo[order]
            repeat = (hi_sorted[1:] == hi_sorted[:-1]) & (lo_sorted[1:] == lo_sorted[:-1])
        starts = np.flatnonzero(np.concatenate(([True], ~repeat)))
        firsts = np.minimum.reduceat(order, starts)  # each hash's first line
        hi, lo = hi_sorted[starts], lo_sorted[starts]
        new = np.ones(len(hi), dtype=bool)
        for run_hi, run_lo in self._runs:
            new &= ~_in_run(run_hi, run_lo, hi, lo)
        self._add_run(hi[new], lo[new])
        first = np.zeros(len(digests), dtype=bool)
        first[firsts[new]] = True
        return first

    def _add_run(self, hi: np.ndarray, lo: np.ndarray) -> None:
        if not len(hi):
            return
        self._runs.append((hi, lo))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (hi_a, lo_a), (hi_b, lo_b) = self._runs[-2], self._runs[-1]
            merged_hi, merged_lo = np.concatenate((hi_a, hi_b)), np.concatenate((lo_a, lo_b))
            # A stable sort of two sorted runs is a merge (timsort finds the runs).
            order = np.argsort(merged_hi, kind="stable")
            self._runs[-2:] = [(merged_hi[order], merged_lo[order])]


def _in_run(run_hi: np.ndarray, run_lo: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Mask of the (hi, lo) hashes that the run (sorted by hi) holds."""
    pos = np.searchsorted(run_hi, hi)
    at = np.minimum(pos, len(run_hi) - 1)
    same_hi = run_hi[at] == hi
    seen = same_hi & (run_lo[at] == lo)
    # Stored hashes sharing their first 8 bytes sit side by side: look at each.
    for i in np.flatnonzero(same_hi & ~seen):
        end = np.searchsorted(run_hi, hi[i], side="right")
        seen[i] = bool((run_lo[pos[i] : end] == lo[i]).any())
    return seen


class RepeatedPurchases:
    """Where a line names no order (CDNOW's files have no order column), an exact repeat in
    the file is another purchase, not a copy: the n-th repeat of a line gets a hash of its
    own, the line's hash and n, so the file stores every one and importing it again (or a
    later file overlapping it) stores none of them twice. Repeats are few, so a dict of the
    repeated hashes does."""

    def __init__(self):
        self._times: dict[bytes, int] = {}  # hash -> times seen in the file, once repeated
        self.count = 0

    def renumber(
        self, lines: pd.DataFrame, digests: np.ndarray, first: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The digests with each repeat (not ``first``) of a line without an order given its
        own, in file order; and the mask of the lines given one."""
        repeat = ~first & ~lines["invoice_given"].to_numpy(dtype=bool)
        if not repeat.any():
            return digests, repeat
        digests = digests.copy()
        for i in np.flatnonzero(repeat):
            line = digests[i].tobytes()
            n = self._times.get(line, 1)
            self._times[line] = n + 1
            numbered = hashlib.md5(line + b"\x1f%d" % n, usedforsecurity=False).digest()
            digests[i] = np.frombuffer(numbered, dtype=np.uint8)
        self.count += int(repeat.sum())
        return digests, repeat
