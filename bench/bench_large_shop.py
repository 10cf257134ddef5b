"""A large synthetic shop end to end on PostgreSQL (issue 21), each figure beside its baseline.

    python bench/bench_large_shop.py --large [--customers 1000000] [--steps ...] [--keep]

Without --large it prints that it was skipped (``make bench`` stays short). Steps, in order
(``--steps`` picks some; the database and the work folder stay between invocations with
``--keep``):

- generate: ``manage.py generate_shop`` writes the shop (about 20 lines a customer) and a
  later month's file for the incremental import (customers from 20% of the shop's ids up,
  so four fifths of them already known and one fifth new, new invoice numbers, January
  2024 only).
- import: the shop through ``manage.py import_transactions`` into a new, migrated database
  (the product's code path: bulk load into the empty line table), beside psql's ``\\copy``
  of the same rows, decompressed, into a plain table with no index (the baseline).
- incremental: the later file through the same command into the shop that holds the first
  file's lines (staged, deduplicated against them), beside ``\\copy`` of that file.
- run: a segmentation (default parameters) through real Celery workers (Redis broker and
  backend, each worker ``--concurrency 1`` and one BLAS thread), first with 2 workers, then
  with 1; the stages' wall times (from the run's stage, polled), the run's own timings, and
  each process's peak RSS (VmHWM). Baselines, on the same matrix, in one process: the
  engine's K-Means alone, k 2..10 with the sampled Silhouette (fitted on a fixed sample of
  250,000 customers above that size), and the plain pipeline one would write without the
  engine: scikit-learn's KMeans with its defaults on every row, the same Silhouette sample.
  Both runs are published (the movements page then compares two publications).
- pages: bench_pages.py's pages on this database (BENCH_EXISTING_DATABASE_URL).
- predict: bench_predict.py's endpoints on this database (--database-url).

Environment: BENCH_LARGE_CUSTOMERS (default 1,000,000), BENCH_LARGE_DATABASE (default
large_shop; dropped at the end without --keep), BENCH_LARGE_REDIS (default
redis://127.0.0.1:6379/13), BENCH_LARGE_DIR (default a new temporary folder; the files are
deleted at the end without --keep). Every figure is printed with its baseline from the same
invocation, and appended as JSON to results.jsonl in the work folder.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
STEPS = ["generate", "import", "incremental", "run", "pages", "predict"]
MANAGER = "bench-manager"
WORKSPACE = "bench"
PLAIN_TABLE = """CREATE TABLE IF NOT EXISTS plain_lines (
    invoice_no text, stock_code text, description text, quantity integer,
    invoice_date timestamp, unit_price numeric, customer_id text, country text)"""
# The incremental file: a later month of customers from this share of the shop's ids on.
INCREMENTAL_FIRST_SHARE = 0.2
INCREMENTAL_FIRST_INVOICE = 100_000_000
# Targets of issue 21.
IMPORT_SHARE, INCREMENTAL_SHARE, RUN_RATIO, PEAK_MB = 0.50, 0.35, 3.0, 2048


class Bench:
    def __init__(
        self, customers: int, work: Path, database: str, redis_url: str, run_workers=(2, 1)
    ):
        self.customers, self.work, self.database = customers, work, database
        self.run_workers = run_workers
        self.url = f"postgres://postgres@127.0.0.1:5432/{database}"
        self.shop = work / f"shop-{customers}.csv.gz"
        self.later = work / f"later-{customers}.csv.gz"
        self.env = {k: v for k, v in os.environ.items() if k not in {"DEBUG"}}
        self.env.update(
            DJANGO_SETTINGS_MODULE="segmentation_site.settings.base",
            DATABASE_URL=self.url,
            REDIS_URL=redis_url,
            VAR_DIR=str(work / "var"),
            SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            PYTHONPATH=str(ROOT),
            LOG_LEVEL="INFO",
            # One BLAS/OpenMP thread per worker process, as one machine per worker would be.
            WORKER_BLAS_THREADS="1",
            # The 1M shop's gzip is 276 MB; the upload limit (200 MB) is an operator's setting.
            IMPORT_MAX_UPLOAD_BYTES=str(2 << 30),
            # The 3M shop's CSV inflates to 2.5 GB and holds 53M lines, over the default
            # limits (2 GiB, 50M lines a file).
            IMPORT_MAX_INFLATED_BYTES=str(8 << 30),
            IMPORT_MAX_ROWS=str(200_000_000),
            # The default hard limit (35 min) would end a slow run on a loaded machine.
            CELERY_TASK_SOFT_TIME_LIMIT="7200",
            CELERY_TASK_TIME_LIMIT="7500",
        )

    # ---------------------------------------------------------------- helpers
    def manage(self, *args: str, log: Path | None = None) -> tuple[float, str]:
        """Run a management command as an operator would; (seconds, its output)."""
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        output = result.stdout + result.stderr
        if log is not None:
            log.write_text(output)
        if result.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{output[-3000:]}")
        return seconds, output

    def psql(self, *statements: str, db: str | None = None) -> tuple[float, str]:
        command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
        command += ["-U", "postgres", "-d", db or self.database]
        for statement in statements:
            command += ["-c", statement]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        return time.perf_counter() - started, result.stdout.strip()

    def record(self, step: str, **figures) -> None:
        figures = {"step": step, "customers": self.customers, **figures}
        with open(self.work / "results.jsonl", "a") as f:
            f.write(json.dumps(figures) + "\n")

    def django(self):
        """This process's Django on the bench database (for reads and small writes)."""
        os.environ.update(self.env)
        sys.path[:0] = [str(ROOT), str(HERE)]
        import django

        django.setup()

    # ---------------------------------------------------------------- steps
    def generate(self) -> None:
        if self.shop.exists() and self.later.exists():  # from an earlier invocation (--keep)
            print(f"- {self.shop} and {self.later} already written\n")
            return
        seconds, out = self.manage(
            "generate_shop", "--customers", str(self.customers), "--out", str(self.shop)
        )
        first = int(self.customers * INCREMENTAL_FIRST_SHARE)
        later_seconds, later_out = self.manage(
            "generate_shop",
            "--customers",
            str(self.customers),
            "--seed",
            "1",
            "--first-customer",
            str(first),
            "--first-invoice",
            str(INCREMENTAL_FIRST_INVOICE),
            "--as-of",
            "2024-02-01",
            "--since",
            "2024-01-01",
            "--out",
            str(self.later),
        )
        print(f"- {out.strip()} (wall {seconds:.0f} s)")
        print(f"- later month: {later_out.strip()} (wall {later_seconds:.0f} s)\n")
        self.record("generate", seconds=seconds, later_seconds=later_seconds)

    def _raw_copy(self, path: Path) -> tuple[float, int]:
        """psql's \\copy of the decompressed file into a plain table: (seconds, rows)."""
        plain = self.work / "plain.csv"
        with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 << 20)
        try:
            self.psql("DROP TABLE IF EXISTS plain_lines", PLAIN_TABLE)
            seconds, _ = self.psql(f"\\copy plain_lines FROM '{plain}' WITH (FORMAT csv, HEADER)")
            _, rows = self.psql("SELECT count(*) FROM plain_lines")
        finally:
            plain.unlink(missing_ok=True)
            self.psql("DROP TABLE IF EXISTS plain_lines")
        return seconds, int(rows)

    def _import(self, path: Path, label: str) -> dict:
        log = self.work / f"import-{label}.log"
        wall, _ = self.manage(
            "import_transactions", str(path), "--sync", "--workspace", WORKSPACE,
            "--user", MANAGER, log=log,
        )  # fmt: skip
        _, row = self.psql(
            "SELECT rows_read, rows_imported, rows_duplicate, customers_created, "
            "duration_seconds FROM customers_importrecord ORDER BY id DESC LIMIT 1"
        )
        read, imported, duplicate, created, seconds = row.split("|")
        phases = re.findall(
            r"(import \d+: read and staged.*|import_staging_\d+ moved.*)", log.read_text()
        )
        return {
            "rows": int(read),
            "imported": int(imported),
            "duplicate": int(duplicate),
            "customers_created": int(created),
            "seconds": float(seconds),
            "wall": wall,
            "phases": phases,
        }

    def _compare(self, step: str, path: Path, target: float) -> None:
        raw_seconds, raw_rows = self._raw_copy(path)
        got = self._import(path, step)
        raw_rate, rate = raw_rows / raw_seconds, got["rows"] / got["seconds"]
        print(f"| {step} | rows | seconds | rows/s | share of raw COPY (target {target:.0%}) |")
        print("|---|---:|---:|---:|---:|")
        print(
            f"| raw \\copy (baseline) | {raw_rows:,} | {raw_seconds:.1f} | {raw_rate:,.0f} | 100% |"
        )
        print(
            f"| import_transactions | {got['rows']:,} | {got['seconds']:.1f} | {rate:,.0f} "
            f"| **{rate / raw_rate:.0%}** |"
        )
        print(
            f"\n{got['imported']:,} lines stored, {got['duplicate']:,} not stored again, "
            f"{got['customers_created']:,} new customers; command wall {got['wall']:.1f} s "
            "(process start and Django set-up included)."
        )
        for phase in got["phases"]:
            print(f"- {phase}")
        _, size = self.psql(
            "SELECT pg_size_pretty(pg_total_relation_size('customers_transactionline')), "
            "(SELECT count(*) FROM customers_transactionline)"
        )
        print(f"- line table now: {size.replace('|', ', ')} lines\n")
        self.record(step, raw_seconds=raw_seconds, raw_rows=raw_rows, **got)

    def import_shop(self) -> None:
        self.psql(
            f'DROP DATABASE IF EXISTS "{self.database}"',
            f'CREATE DATABASE "{self.database}"',
            db="postgres",
        )
        self.manage("migrate", "--verbosity=0")
        self.manage(
            "shell", "-c",
            "import sys; sys.path.insert(0, 'bench'); "
            "from django.contrib.auth import get_user_model; "
            "from shops import bench_member, bench_workspace; "
            f"w = bench_workspace({WORKSPACE!r}); "
            f"bench_member(get_user_model().objects.create_user({MANAGER!r}), w)",
        )  # fmt: skip
        self._compare("import", self.shop, IMPORT_SHARE)

    def incremental(self) -> None:
        self._compare("incremental", self.later, INCREMENTAL_SHARE)

    def run(self) -> None:
        self.django()
        runs = {n: self._run_with_workers(n) for n in self.run_workers}
        baseline = self._kmeans_only()
        print(
            "| whole run | wall s | before the candidates (aggregation, prepare) "
            "| candidates | after (merge, finish, save) | peak RSS per process (MB) "
            "| against K-Means only |"
        )
        print("|---|---:|---:|---:|---:|---|---:|")
        km, plain = baseline["seconds"], baseline["plain_seconds"]
        print(
            f"| K-Means only, k 2..10, sampled Silhouette (baseline) | {km:.1f} | "
            f"| {km:.1f} | | {baseline['peak_mb']:.0f} | 1.00x |"
        )
        print(
            f"| scikit-learn KMeans, defaults, every row, k 2..10, same Silhouette | {plain:.1f} "
            f"| | {plain:.1f} | | | {plain / km:.2f}x |"
        )
        for n, r in runs.items():
            label = f"{n} worker{'s' if n > 1 else ''}"
            peaks = ", ".join(f"{name} {mb:.0f}" for name, mb in r["peaks"].items())
            phases = r["phases"]
            print(
                f"| {label} | {r['wall']:.1f} | {phases.get('before', 0):.1f} "
                f"| {phases.get('candidates', 0):.1f} | {phases.get('after', 0):.1f} "
                f"| {peaks} | **{r['wall'] / km:.2f}x** ({r['wall'] / plain:.2f}x the plain one) |"
            )
        print(f"\nK-Means only on the same matrix ({baseline['shape']}): {baseline['best']}; "
              f"the plain one: {baseline['plain_best']}. Their aggregation "
              f"{baseline['aggregation']:.1f} s and prepare {baseline['prepare']:.1f} s "
              "(not in its time).")  # fmt: skip
        for n, r in runs.items():
            label = f"{n} worker{'s' if n > 1 else ''}"
            print(f"- {label}: run {r['id']} {r['chosen']}; the run's own timings (work, s): "
                  + ", ".join(f"{k} {v}" for k, v in r["timings"].items()))  # fmt: skip
        if 1 in runs and 2 in runs:
            one, two = runs[1], runs[2]
            speed_up = one["phases"].get("candidates", 0) / max(
                two["phases"].get("candidates", 0), 1e-9
            )
            print(
                f"- 2 workers against 1: **{one['wall'] / two['wall']:.2f}x** (whole run), "
                f"{speed_up:.2f}x (candidate phase)\n"
            )
        self.record("run", runs=runs, kmeans_only=baseline)

    def _run_with_workers(self, n: int) -> dict:
        from django.contrib.auth import get_user_model

        from clustering.models import SegmentationRun
        from clustering.services import run_publish
        from workspaces.models import Workspace

        workspace = Workspace.objects.get(slug=WORKSPACE)
        # The warm-ups queued by an earlier run and its publication (compare, movements: 5-7 s
        # each at 1M) would otherwise run beside this run's read when the workers start.
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "segmentation_site", "purge", "-f"],
            cwd=ROOT, env=self.env, check=True, capture_output=True,
        )  # fmt: skip
        workers = [self._start_worker(f"large{i}") for i in range(n)]
        command = None
        try:
            started = time.perf_counter()
            command = subprocess.Popen(
                [sys.executable, "manage.py", "segment_customers", "--workspace", WORKSPACE,
                 "--user", MANAGER, "--name", f"{n} worker(s)", "--timeout", "7200"],
                cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            phases = self._watch(command, started)
            output = command.communicate()[0]
            wall = time.perf_counter() - started
            peaks = {f"worker {i + 1} {kind}": mb for i, w in enumerate(workers)
                     for kind, mb in _peaks(w.pid).items()}  # fmt: skip
        finally:
            if command is not None and command.poll() is None:
                command.kill()  # a failed watch: the command would wait for its timeout
                command.wait()
            for w in workers:
                _stop(w)
        run = SegmentationRun.objects.in_workspace(workspace).order_by("-id").first()
        if command.returncode or run.status != SegmentationRun.Status.SUCCEEDED:
            raise SystemExit(f"the run with {n} worker(s) did not succeed:\n{output[-3000:]}")
        run_publish(workspace=workspace, run_id=run.pk,
                    user=get_user_model().objects.get(username=MANAGER))  # fmt: skip
        return {
            "id": run.pk,
            "workers": n,
            "wall": wall,
            "run_seconds": (run.finished_at - run.started_at).total_seconds(),
            "phases": phases,
            "timings": run.timings,
            "peaks": peaks,
            "chosen": f"{run.chosen_algorithm} k={run.chosen_k}, {run.n_customers:,} customers",
        }

    def _start_worker(self, name: str) -> subprocess.Popen:
        log = open(self.work / f"worker-{name}.log", "wb")  # noqa: SIM115 (the process's)
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "segmentation_site", "worker",
             "--loglevel=INFO", "--concurrency=1", "--pool=prefork", "--without-gossip",
             "--without-mingle", "-n", f"{name}-{secrets.token_hex(3)}@localhost"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        path = self.work / f"worker-{name}.log"
        while " ready." not in path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker {name} did not start:\n{path.read_text()[-3000:]}")
            time.sleep(0.2)
        return process

    def _watch(self, command: subprocess.Popen, started: float) -> dict[str, float]:
        """Wall seconds of each phase, from the run's stage polled every 0.2 s: before the
        candidates (queue, aggregation, prepare), the candidates, and after them (merge,
        finish, save), until the command sees the run end."""
        from django.db import connection

        from clustering.models import SegmentationRun
        from workspaces.models import Workspace

        runs = SegmentationRun.objects.in_workspace(Workspace.objects.get(slug=WORKSPACE))
        marks: dict[str, float] = {"before": 0.0}
        while command.poll() is None:
            stage = runs.order_by("-id").values_list("stage", flat=True).first() or ""
            now = time.perf_counter() - started
            if stage.startswith("candidates"):
                marks.setdefault("candidates", now)
            elif "candidates" in marks and stage:
                marks.setdefault("after", now)
            time.sleep(0.2)
        connection.close()
        end = time.perf_counter() - started
        order = [p for p in ("before", "candidates", "after") if p in marks]
        return {
            p: (marks[order[i + 1]] if i + 1 < len(order) else end) - marks[p]
            for i, p in enumerate(order)
        }

    def _kmeans_only(self) -> dict:
        """In a child process (its own peak RSS): aggregation and prepare as the run does
        them, then the timed K-Means-only sweep on that matrix."""
        code = (
            "import json, resource, sys, time; sys.path.insert(0, 'bench');"
            "import django; django.setup();"
            "from bench_large_shop import kmeans_only_child; print(json.dumps(kmeans_only_child()))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if result.returncode:
            raise SystemExit(f"K-Means-only baseline failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def pages(self) -> None:
        env = dict(self.env, BENCH_EXISTING_DATABASE_URL=self.url, BENCH_WORKSPACE=WORKSPACE)
        env.pop("REDIS_URL")  # bench_pages measures with the embedded default cache
        subprocess.run([sys.executable, str(HERE / "bench_pages.py")], cwd=ROOT, env=env)

    def predict(self) -> None:
        env = dict(self.env)
        subprocess.run(
            [sys.executable, str(HERE / "bench_predict.py"), "--database-url", self.url,
             "--workspace", WORKSPACE, "--redis", self.env["REDIS_URL"]],
            cwd=ROOT, env=env,
        )  # fmt: skip

    def drop(self) -> None:
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
        self.psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)', db="postgres")


def kmeans_only_child() -> dict:
    """The K-Means-only pipeline on the run's matrix (called in a child process)."""
    import resource

    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    from clustering.aggregation import customer_aggregates
    from clustering.engine import algorithms as alg
    from clustering.engine.metrics import SilhouetteScorer
    from clustering.engine.pipeline import prepare
    from clustering.engine.sweep import sweep_setup
    from clustering.engine.types import SegmentationParams
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(slug=WORKSPACE)
    started = time.perf_counter()
    aggregates = customer_aggregates(workspace=workspace)
    aggregation = time.perf_counter() - started
    params = SegmentationParams(algorithms=("kmeans",))
    with threadpool_limits(1):
        started = time.perf_counter()
        prepared = prepare(aggregates.table, params, lambda *_: None, lambda _: None)
        prepared_at = time.perf_counter()
        # plain: the engine's K-Means for each k and the sampled Silhouette, nothing else
        # (no Davies-Bouldin or Calinski-Harabasz, which the run also computes)
        scorer = SilhouetteScorer(prepared.X, params.silhouette_sample_size, alg.SAMPLE_SEED)
        ks, ctx = sweep_setup(prepared.n, params)
        best = max(
            ((out.k, scorer.score(out.labels))
             for out in alg.REGISTRY["kmeans"].sweep(prepared.X, ks, ctx)),
            key=lambda found: found[1],
        )  # fmt: skip
        done = time.perf_counter()

        # the plain pipeline, without the engine's sampling: KMeans as scikit-learn ships it
        def plain_labels(k: int):
            return KMeans(n_clusters=k, random_state=params.seed).fit_predict(prepared.X)

        plain = max(((k, scorer.score(plain_labels(k))) for k in ks), key=lambda f: f[1])
        plain_done = time.perf_counter()
    return {
        "seconds": done - prepared_at,
        "plain_seconds": plain_done - done,
        "plain_best": f"kmeans k={plain[0]} silhouette {plain[1]:.3f}",
        "aggregation": aggregation,
        "prepare": prepared_at - started,
        "shape": f"{prepared.X.shape[0]:,} x {prepared.X.shape[1]}",
        "best": f"kmeans k={best[0]} silhouette {best[1]:.3f}",
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _peaks(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM, MB) of a worker's main process and of its pool processes."""
    found = {"main": _vm_hwm(pid)}
    for child in _children(pid):
        found[f"pool {child}"] = _vm_hwm(child)
    return found


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _vm_hwm(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--large", action="store_true", help="run (it takes an hour at 1M)")
    parser.add_argument(
        "--customers", type=int, default=int(os.environ.get("BENCH_LARGE_CUSTOMERS", 1_000_000))
    )
    parser.add_argument("--steps", default=",".join(STEPS), help=",".join(STEPS))
    parser.add_argument("--keep", action="store_true", help="keep the database and the files")
    parser.add_argument(
        "--run-workers", default="2,1", help="the runs' worker counts, in order (run step)"
    )
    args = parser.parse_args()
    if not args.large:
        print("skipped: the large shop runs with --large (bench/run.py --large large_shop)")
        return 0
    steps = [s for s in args.steps.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    work = Path(os.environ.get("BENCH_LARGE_DIR") or tempfile.mkdtemp(prefix="bench-large-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(
        args.customers,
        work,
        os.environ.get("BENCH_LARGE_DATABASE", "large_shop"),
        os.environ.get("BENCH_LARGE_REDIS", "redis://127.0.0.1:6379/13"),
        tuple(int(n) for n in args.run_workers.split(",")),
    )
    print(f"{args.customers:,} customers; database {bench.database}; work folder {work}\n")
    try:
        for step in steps:
            print(f"### {step}\n", flush=True)
            started = time.perf_counter()
            {
                "generate": bench.generate,
                "import": bench.import_shop,
                "incremental": bench.incremental,
                "run": bench.run,
                "pages": bench.pages,
                "predict": bench.predict,
            }[step]()
            print(f"({step}: {time.perf_counter() - started:.0f} s)\n", flush=True)
    finally:
        if not args.keep:
            bench.drop()
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
