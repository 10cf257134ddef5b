"""Which line hashes a bulk load has seen: BulkLoad drops repeated lines itself, with no
staging table to deduplicate in SQL."""

from __future__ import annotations

import numpy as np


class SeenHashes:
    """The line hashes seen so far, 16 bytes each in two sorted arrays (a Python set of the
    hex strings takes about 100 bytes a line: 0.5 GB for a file ten times Online Retail)."""

    def __init__(self):
        self._hi = np.empty(0, dtype=np.uint64)
        self._lo = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._hi)

    def first_seen(self, digests: np.ndarray) -> np.ndarray:
        """Mask of the hashes (an (n, 16) uint8 array, as line_hashes gives) seen here for
        the first time: not seen in an earlier call, nor earlier in this one."""
        halves = np.ascontiguousarray(digests, dtype=np.uint8).view(">u8").reshape(-1, 2)
        hi, lo = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
        # Sorted by the first half (numpy's unstable sort of 64-bit keys is five times as fast
        # as sorting by both): repeats sit side by side, and the stored arrays are searched
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
        pos = np.searchsorted(self._hi, hi)
        if len(self._hi):
            at = np.minimum(pos, len(self._hi) - 1)
            same_hi = self._hi[at] == hi
            seen = same_hi & (self._lo[at] == lo)
            # Stored hashes sharing their first 8 bytes sit side by side: look at each.
            for i in np.flatnonzero(same_hi & ~seen):
                end = np.searchsorted(self._hi, hi[i], side="right")
                seen[i] = bool((self._lo[pos[i] : end] == lo[i]).any())
            new &= ~seen
        self._hi = np.insert(self._hi, pos[new], hi[new])
        self._lo = np.insert(self._lo, pos[new], lo[new])
        first = np.zeros(len(digests), dtype=bool)
        first[firsts[new]] = True
        return first
