"""How many BLAS/OpenMP threads a worker process uses: the cores its concurrency leaves it
(docs/decisions/one-blas-thread-per-worker.md). A run's own ``blas_threads`` stays the
engine's limit inside that share; it never goes above it."""

from __future__ import annotations

import logging
import os

from threadpoolctl import threadpool_info, threadpool_limits

from .claims import setting

logger = logging.getLogger(__name__)

#: This process's share, once the worker has set it (None outside a worker).
_SHARE: int | None = None


def machine_cpus() -> int:
    """The cores this process may run on (a container's or taskset's, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def blas_share(cpus: int, concurrency: int) -> int:
    """The rule: each of a worker's processes gets the cores its concurrency leaves, at
    least one (settings.WORKER_BLAS_THREADS, when a number, overrides it)."""
    wanted = setting("WORKER_BLAS_THREADS", "auto")
    if str(wanted) != "auto":
        return max(1, int(wanted))
    return max(1, cpus // max(1, concurrency))


def apply_worker_share(concurrency: int) -> int:
    """Limit this process's BLAS/OpenMP pools to its share (at worker_process_init)."""
    global _SHARE
    _SHARE = blas_share(machine_cpus(), concurrency)
    threadpool_limits(limits=_SHARE)
    logger.info(
        "BLAS/OpenMP threads in this worker process: %s (%s cores, concurrency %s)",
        current_blas_threads(),
        machine_cpus(),
        concurrency,
    )
    return _SHARE


def current_blas_threads() -> int:
    """The largest thread count any loaded BLAS/OpenMP pool is set to now."""
    return max((pool["num_threads"] for pool in threadpool_info()), default=1)


def run_blas_threads(requested: int | None) -> int | None:
    """A run's thread limit inside this worker: its own (None = all the share), never more
    than the worker's share; unchanged outside a worker."""
    if _SHARE is None:
        return requested
    return _SHARE if requested is None else min(requested, _SHARE)
