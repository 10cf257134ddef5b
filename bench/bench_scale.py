"""The candidate phase of a fanned-out run with 2 workers against 1, on the same matrix.

    python bench/bench_scale.py --large [--customers 100000]

Without --large it prints that it was skipped (``make bench`` stays short). The matrix is
prepared once (clustering.engine.pipeline.prepare on synthetic.py's heavy-tailed customers,
all seven algorithms, k 2..10); then its parts (clustering.engine.stages.plan_parts) are
fitted by 1 and by 2 worker processes, each held to one BLAS/OpenMP thread and taking the
next part when it is free, in plan order, as Celery workers with concurrency 1 and prefetch
1 do. Each process builds its Silhouette distances once and keeps them, as a worker does
(fanout._SCORER). Baseline: 1 worker. Broker, database and file transfer are not in this
measure (the parts' own files are small next to the fits; see docs/scaling.md).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _worker(X, params, queue, done) -> None:
    from threadpoolctl import threadpool_limits

    from clustering.engine.stages import PartShared, fit_part, plan_parts

    threadpool_limits(1)
    parts = plan_parts(len(X), params)
    shared = PartShared()  # as a worker process keeps it between the parts of one run
    while True:
        number = queue.get()
        if number is None:
            break
        started = time.perf_counter()
        fit_part(X, params, parts[number], shared=shared, matrix_key="bench")
        done.put((number, os.getpid(), time.perf_counter() - started))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    done.put(("peak", os.getpid(), peak))


def candidate_phase(X, params, workers: int) -> tuple[float, list, float]:
    from clustering.engine.stages import plan_parts

    parts = plan_parts(len(X), params)
    ctx = mp.get_context("fork")
    queue, done = ctx.Queue(), ctx.Queue()
    for p in parts:
        queue.put(p.number)
    for _ in range(workers):
        queue.put(None)
    started = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(X, params, queue, done)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    results, peaks = [], []
    while len(peaks) < workers:
        item = done.get()
        (peaks if item[0] == "peak" else results).append(item)
    for proc in procs:
        proc.join()
    return time.perf_counter() - started, results, max(p[2] for p in peaks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", action="store_true", help="run (it takes minutes)")
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    if not args.large:
        print("skipped: the scale-out bench runs with --large (bench/run.py --large scale)")
        return 0
    from threadpoolctl import threadpool_limits

    from clustering.engine.pipeline import prepare
    from clustering.engine.synthetic import make_customer_aggregates
    from clustering.engine.types import SegmentationParams

    params = SegmentationParams(seed=7)
    agg, _ = make_customer_aggregates(args.customers, seed=1)
    with threadpool_limits(1):
        prepared = prepare(agg, params, lambda *_: None, lambda _: None)
    X = prepared.X
    one, parts_one, peak_one = candidate_phase(X, params, 1)
    two, parts_two, peak_two = candidate_phase(X, params, 2)
    by_worker: dict[int, float] = {}
    for _, pid, seconds in parts_two:
        by_worker[pid] = by_worker.get(pid, 0.0) + seconds
    busy = sorted(by_worker.values())
    print(f"{args.customers:,} customers, {len(parts_one)} parts, all seven algorithms, k 2..10\n")
    print("| workers | candidate phase (s) | speed-up | busy per worker (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    print(f"| 1 (baseline) | {one:.1f} | 1.00x | {one:.1f} | {peak_one:.0f} |")
    print(
        f"| 2 | {two:.1f} | {one / two:.2f}x | {' / '.join(f'{b:.1f}' for b in busy)} "
        f"| {peak_two:.0f} |"
    )
    slowest = sorted(parts_one, key=lambda r: -r[2])[:5]
    from clustering.engine.stages import plan_parts

    labels = {p.number: p.label for p in plan_parts(len(X), params)}
    print(
        "\nlongest parts (1 worker): " + ", ".join(f"{labels[n]} {s:.1f} s" for n, _, s in slowest)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
