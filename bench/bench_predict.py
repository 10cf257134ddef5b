"""Real-time segment assignment over HTTP: POST /api/v1/predict/ beside a trivial endpoint.

Sets up a fresh SQLite database in a temporary VAR_DIR (or PostgreSQL database
segmentation_bench_predict with --postgres), loads synthetic customers, executes and publishes
a K-Means run, creates an API token, starts gunicorn (2 sync workers) on a free loopback port,
and drives a bounded number of requests with keep-alive http.client connections in threads:

* predict, one customer's features            (the predictor's fast path)
* predict, one known customer id              (the stored assignment)
* predict, a batch of 100 feature rows
* GET /api/v1/me/                              (baseline: token auth + a trivial DRF view)

Prints a markdown table of requests/s and p50/p99 latency; the targets are p99 < 25 ms for
single predicts and at least half the baseline's throughput. Gunicorn is stopped at the end.

With --database-url URL --workspace SLUG it serves a database that already holds a published
run (bench_large_shop.py's large shop) instead: nothing is loaded or dropped, a read-only
token is made for the workspace's first manager, and customer ids are drawn from the whole
published run (not only its first rows).

    DJANGO_SETTINGS_MODULE=segmentation_site.settings.base .venv/bin/python bench/bench_predict.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_NAME = "segmentation_bench_predict"


def existing_database(workspace_slug: str, n_ids: int = 1000) -> dict:
    """Token, run and sample customers of a database that holds a published run."""
    import django

    django.setup()
    from accounts.models import Membership
    from accounts.services import api_token_create
    from clustering.models import SegmentAssignment, SegmentationRun
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(slug=workspace_slug)
    user = Membership.unscoped.filter(workspace=workspace, role="manager").first().user
    run = (
        SegmentationRun.objects.in_workspace(workspace)
        .filter(is_published=True)
        .order_by("-id")
        .first()
    )
    _, secret = api_token_create(user=user, workspace=workspace, name="bench", read_only=True)
    # Every n-th assignment: ids spread over the whole run, so the lookups are not all cached.
    step = max(1, run.n_customers // n_ids)
    members = SegmentAssignment.objects.in_workspace(workspace).filter(run=run)
    ids = list(members.order_by("id").values_list("id", flat=True)[::step][:n_ids])
    rows = list(
        members.filter(id__in=ids).values(
            "customer__external_id", *SegmentAssignment.FEATURE_FIELDS
        )
    )
    from django.db import connections

    connections.close_all()
    return {
        "token": secret,
        "run_id": run.pk,
        "setup_seconds": 0.0,
        "customer_ids": [r.pop("customer__external_id") for r in rows],
        "features": rows,
        "n_customers": run.n_customers,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_database(n_customers: int) -> dict:
    """Migrate, load customers, execute and publish a run, make a token (in this process)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from shops import bench_member, bench_workspace

    from accounts.services import api_token_create
    from clustering.models import SegmentAssignment
    from clustering.params import params_from_input
    from clustering.services import run_create, run_execute, run_publish
    from tests.clustering.factories import load_transactions, synthetic_lines

    workspace = bench_workspace()
    user = User.objects.create_user("bench-manager", password=secrets.token_urlsafe(16))
    bench_member(user, workspace)
    started = time.monotonic()
    load_transactions(synthetic_lines(n_customers, seed=11), name="bench.csv", workspace=workspace)
    params = params_from_input({"algorithms": ["kmeans"], "k_min": 2, "k_max": 6, "seed": 3})
    with transaction.atomic():
        run = run_create(workspace=workspace, user=user, params=params, enqueue=False)
    outcome = run_execute(run_id=run.pk, token="bench-claim", hostname="bench@localhost")  # noqa: S106
    if outcome != "succeeded":
        raise SystemExit(f"run {outcome}")
    run_publish(workspace=workspace, run_id=run.pk, user=user)
    _, secret = api_token_create(user=user, workspace=workspace, name="bench", read_only=True)
    rows = list(
        SegmentAssignment.objects.in_workspace(workspace)
        .filter(run=run)
        .order_by("id")
        .values("customer__external_id", *SegmentAssignment.FEATURE_FIELDS)[:1000]
    )
    from django.db import connections

    connections.close_all()
    return {
        "token": secret,
        "run_id": run.pk,
        "setup_seconds": time.monotonic() - started,
        "customer_ids": [r.pop("customer__external_id") for r in rows],
        "features": rows,
    }


class Gunicorn:
    def __init__(self, env: dict, port: int, workers: int = 2):
        self.port = port
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "segmentation_site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, token: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/me/", headers={"Authorization": f"Token {token}"})
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.log.seek(0)
        raise SystemExit("gunicorn did not start:\n" + self.log.read().decode()[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def drive(port: int, requests: list[tuple[str, str, bytes | None]], token: str, concurrency: int):
    """Send the requests from `concurrency` threads; (latencies in s, errors, wall seconds)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    position = iter(range(len(requests)))
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], []
        while True:
            with lock:
                i = next(position, None)
            if i is None:
                break
            method, path, body = requests[i]
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                if response.will_close:  # gunicorn's sync workers close after each answer
                    conn.close()
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                bad.append(repr(error))
                continue
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                bad.append(f"{response.status} {payload[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 customers, 600 requests")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=3000, help="per endpoint")
    # As many clients as gunicorn has workers: latency is then the server's, not time spent
    # queueing behind other clients (8 clients on 2 sync workers mostly measures the queue).
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help=f"PostgreSQL ({PG_NAME}) and Redis, as in production",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default="",
        help="the cache (and so the rate limits) in this Redis; --postgres uses db 5",
    )
    parser.add_argument(
        "--database-url", default="", help="serve this database's published run (see above)"
    )
    parser.add_argument("--workspace", default="bench", help="with --database-url")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.requests = 1000, 600

    var_dir = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(
        DJANGO_SETTINGS_MODULE=env.get("DJANGO_SETTINGS_MODULE", "segmentation_site.settings.base"),
        # An existing database's predictor files are under its own VAR_DIR's media.
        VAR_DIR=(args.database_url and os.environ.get("VAR_DIR")) or str(var_dir),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        # The bench measures serving, not the rate limit (6000/min by default).
        THROTTLE_PREDICT="100000000/min",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    if args.postgres and not args.database_url:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_NAME])
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_NAME], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
        # The production stack: Redis behind the cache that the rate limits count in (the
        # embedded default's file cache costs a file write per throttled request).
        env["REDIS_URL"] = "redis://127.0.0.1:6379/5"
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.redis:
        env["REDIS_URL"] = args.redis
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    server = None
    try:
        if args.database_url:
            data = existing_database(args.workspace)
            args.customers = data["n_customers"]
        else:
            data = setup_database(args.customers)
        postgres = args.postgres or args.database_url
        print(
            f"{args.customers:,} customers, run {data['run_id']} executed and "
            f"published in {data['setup_seconds']:.1f} s; database: "
            f"{'PostgreSQL' if postgres else 'SQLite'}; "
            f"cache: {'Redis' if env.get('REDIS_URL') else 'files'}; gunicorn 2 sync workers; "
            f"{args.requests:,} requests per endpoint, concurrency {args.concurrency}, "
            "loopback, read-only token.\n",
            flush=True,
        )
        port = free_port()
        server = Gunicorn(env, port)
        server.wait_ready(data["token"])

        features, ids = data["features"], data["customer_ids"]

        def body(payload) -> bytes:
            return json.dumps(payload).encode()

        n = args.requests
        cases = {
            "predict: features (single)": [
                ("POST", "/api/v1/predict/", body({"features": features[i % len(features)]}))
                for i in range(n)
            ],
            "predict: customer id (single)": [
                ("POST", "/api/v1/predict/", body({"customer_id": ids[i % len(ids)]}))
                for i in range(n)
            ],
            "predict: batch of 100 features": [
                (
                    "POST",
                    "/api/v1/predict/",
                    body({"customers": [{"features": f} for f in features[i % 9 * 100 :][:100]]}),
                )
                for i in range(max(n // 5, 100))
            ],
            "GET /api/v1/me/ (baseline)": [("GET", "/api/v1/me/", None)] * n,
        }
        # Warm both workers: imports, the predictor load, connections.
        drive(port, cases["predict: features (single)"][:100], data["token"], args.concurrency)
        drive(port, cases["GET /api/v1/me/ (baseline)"][:100], data["token"], args.concurrency)

        results = {}
        for name, requests in cases.items():
            latencies, errors, wall = drive(port, requests, data["token"], args.concurrency)
            results[name] = (len(latencies), len(errors), len(requests) / wall, latencies, errors)

        print("| endpoint | requests | errors | req/s | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, (count, n_errors, rps, latencies, _) in results.items():
            print(
                f"| {name} | {count:,} | {n_errors} | {rps:,.0f} | "
                f"{percentile(latencies, 50) * 1000:.1f} | {percentile(latencies, 99) * 1000:.1f} |"
            )
        baseline = results["GET /api/v1/me/ (baseline)"][2]
        ok = True
        print()
        for name in ("predict: features (single)", "predict: customer id (single)"):
            count, n_errors, rps, latencies, errors = results[name]
            p99 = percentile(latencies, 99) * 1000
            share = rps / baseline
            verdict = "ok" if p99 < 25 and share >= 0.5 and not n_errors else "MISSED"
            ok &= verdict == "ok"
            print(
                f"- {name}: p99 {p99:.1f} ms (target < 25), {share:.0%} of the baseline's "
                f"throughput (target >= 50%): {verdict}"
            )
            if errors:
                print(f"  first error: {errors[0]}")
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
        if args.postgres and not args.database_url:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_NAME])


if __name__ == "__main__":
    sys.exit(main())
