"""A whole segmentation run through a real worker, beside the engine alone on the same data.

On a fresh PostgreSQL database (DATABASE_URL, default .../segmentation_bench_run) it imports
the full Online Retail file, then times, in the same session:
  - the engine alone: run_segmentation on the per-customer table already in memory;
  - the whole run: queue -> worker -> database aggregation -> engine -> saving results,
    measured from run_create to the run's row saying "succeeded", with the worker already up.
The difference is the overhead of the database and the queue. Target: under 50% of the
engine's time. The value stage (its models, holdout check and calibration read) is reported
beside the whole run; target: it adds at most 15% to it.
Usage: python bench/bench_run.py [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sample_files import ONLINE_RETAIL

ROOT = Path(__file__).resolve().parent.parent
DATA = ONLINE_RETAIL
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/segmentation_bench_run"
SLUG = "online-retail"  # the demo's workspace for Online Retail (create_demo_users)


def prepare_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "segmentation_site.settings.base"
    env.setdefault("DATABASE_URL", DEFAULT_DB)
    env["VAR_DIR"] = tempfile.mkdtemp(prefix="bench-run-")
    if "REDIS_URL" not in env:
        import redis

        try:
            redis.Redis.from_url("redis://127.0.0.1:6379/4", socket_connect_timeout=2).ping()
            env["REDIS_URL"] = "redis://127.0.0.1:6379/4"
        except redis.RedisError:
            pass  # the filesystem queue of the embedded default
    os.environ.update(env)
    return env


def recreate_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg2

    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3

    env = prepare_environment()
    recreate_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput")
    manage(env, "create_demo_users")
    started = time.perf_counter()
    manage(env, "import_transactions", str(DATA), "--user", "manager", "--workspace", SLUG)
    import_seconds = time.perf_counter() - started

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from clustering.aggregation import customer_aggregates
    from clustering.engine.pipeline import run_segmentation
    from clustering.engine.types import SegmentationParams
    from clustering.models import SegmentationRun
    from clustering.services import run_create
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(slug=SLUG)
    params = SegmentationParams()
    aggregates = customer_aggregates(workspace=workspace, holdout_share=params.value_holdout_share)
    engine_times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_segmentation(aggregates.table, params, calibration=aggregates.calibration)
        engine_times.append(time.perf_counter() - t0)

    log = Path(env["VAR_DIR"]) / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "segmentation_site",
            "worker",
            "-c",
            "1",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run_times, breakdowns = [], []
    try:
        deadline = time.monotonic() + 120
        while " ready." not in log.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
        manager = get_user_model().objects.get(username="manager")
        for _ in range(repeat):
            t0 = time.perf_counter()
            # queued on commit (autocommit)
            run = run_create(workspace=workspace, user=manager, params=params)
            while True:
                run.refresh_from_db(fields=["status", "error", "timings"])
                if run.status not in SegmentationRun.ACTIVE_STATUSES:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            if run.status != SegmentationRun.Status.SUCCEEDED:
                raise SystemExit(f"run {run.pk} {run.status}: {run.error}")
            run_times.append(elapsed)
            breakdowns.append(run.timings)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)
        connection.close()
        if not args.keep:
            recreate_database(env["DATABASE_URL"])

    engine = statistics.median(engine_times)
    whole = statistics.median(run_times)
    last = breakdowns[run_times.index(whole)] if whole in run_times else breakdowns[-1]
    calibration = last.get("read calibration", 0.0)
    read = last.get("read data", 0.0) + calibration
    save = last.get("save results", 0.0)
    # The engine's stages inside the worker ("metrics" is counted inside "candidates").
    outside = ("read data", "read calibration", "save results", "metrics")
    inside = sum(v for k, v in last.items() if k not in outside)
    # The value stage: its models and holdout check in the engine, plus the calibration
    # aggregates read for the check.
    value = last.get("value", 0.0) + calibration
    queue = max(0.0, whole - read - save - inside)
    backend = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    broker = "Redis" if env.get("REDIS_URL") else "filesystem queue"
    print(f"Online Retail: {len(aggregates.table):,} customers; {backend}, {broker}; ")
    print(f"import took {import_seconds:.1f} s (see the import benchmark); medians of {repeat}.\n")
    print("| stage | seconds | share of engine time |")
    print("|---|---:|---:|")
    print(f"| engine alone (baseline, same data in memory) | {engine:.2f} | 100% |")
    print(f"| whole run through the worker | {whole:.2f} | {whole / engine:.0%} |")
    print(
        f"| overhead: database + queue | {whole - engine:.2f} | {(whole - engine) / engine:.0%} |"
    )
    print(f"| - of which aggregation in the database | {read:.2f} | {read / engine:.0%} |")
    print(f"| - of which saving results | {save:.2f} | {save / engine:.0%} |")
    print(
        f"| - of which the engine running slower inside the worker ({inside:.2f} s) "
        f"| {inside - engine:.2f} | {(inside - engine) / engine:.0%} |"
    )
    print(f"| - of which queue and bookkeeping | {queue:.2f} | {queue / engine:.0%} |")
    verdict = "meets" if (whole - engine) / engine < 0.5 else "MISSES"
    print(f"\nOverhead target (< 50% of the engine's time): {verdict}")
    added = value / max(whole - value, 1e-9)
    print(
        f"\nValue stage in the run: {value:.2f} s (models and holdout check "
        f"{last.get('value', 0.0):.2f} s, calibration aggregates read {calibration:.2f} s); "
        f"it adds {added:.1%} to the run without it (target: at most 15%): "
        + ("meets" if added <= 0.15 else "MISSES")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
