"""Page speed: the pages people use, on the full Online Retail data, beside trivial pages.

    DJANGO_SETTINGS_MODULE=segmentation_site.settings.base .venv/bin/python bench/bench_pages.py

On a fresh database it creates (a temporary SQLite state folder by default; with
BENCH_DATABASE_URL=postgres://.../segmentation_bench_pages a PostgreSQL database that is
dropped, created and migrated), it imports the full Online Retail file and runs one
segmentation with the commands an operator would use (`import_transactions`,
`segment_customers --sync --publish`), then requests each page through Django's test client,
signed in, with production settings (DEBUG off, collected static files): a warm-up, then
REQUESTS timed requests each. Prints a markdown table of the median and p95 per page.
Target: every page under 300 ms.

BENCH_ALGORITHMS (default: all seven) narrows the run, e.g. kmeans,gmm for a quick check;
BENCH_KEEP=1 keeps the database and state folder (their paths go to stderr) for profiling.

BENCH_EXISTING_DATABASE_URL=postgres://.../db (with BENCH_WORKSPACE, default "bench") measures
the same pages on a database that already holds a published run (bench_large_shop.py's
large shop): nothing is created, imported or dropped, and the workspace's first manager
signs in.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

from sample_files import ONLINE_RETAIL

ROOT = Path(__file__).resolve().parent.parent
DATA = ONLINE_RETAIL
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
TARGET_MS = 300
MANAGER = "bench-manager"


def _psql(url: str, *statements: str) -> None:
    parsed = urlparse(url)
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", parsed.hostname or "127.0.0.1"]
    command += [
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
        "-d",
        "postgres",
    ]
    for statement in statements:
        command += ["-c", statement]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    subprocess.run(command, check=True, env=env, capture_output=True)


def manage(*args: str) -> float:
    """Run a management command in a subprocess, as an operator would; returns seconds."""
    started = time.perf_counter()
    print(f"$ manage.py {' '.join(args)}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, env=os.environ)
    return time.perf_counter() - started


def timed(client, url: str, n: int = REQUESTS) -> tuple[list[float], int, int]:
    """Timings of n requests (after a warm-up), and one request's query count and size."""
    from django.db import connection

    response = client.get(url)  # warm-up (templates, caches, connection)
    assert response.status_code == 200, (url, response.status_code)
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    # A wrapper, not CaptureQueriesContext: each request resets the connection's query log.
    with connection.execute_wrapper(count):
        size = len(client.get(url).content)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        _ = response.content
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples, len(executed), size


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    if not DATA.exists():
        print(f"needs {DATA}", file=sys.stderr)
        return 2
    if os.environ.get("BENCH_EXISTING_DATABASE_URL"):
        return existing(os.environ["BENCH_EXISTING_DATABASE_URL"])
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    url = os.environ.get("BENCH_DATABASE_URL")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segmentation_site.settings.base")
    os.environ["VAR_DIR"] = str(tmp / "var")
    os.environ["STATIC_ROOT"] = str(tmp / "static")
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.pop("REDIS_URL", None)
    if url:
        name = urlparse(url).path.lstrip("/")
        _psql(url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    try:
        setup = {}
        setup["migrate"] = manage("migrate", "--verbosity=0")
        manage("collectstatic", "--noinput", "--verbosity=0")
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from shops import bench_member, bench_workspace

        workspace = bench_workspace()
        user = get_user_model().objects.create_user(MANAGER)  # no password: force_login
        bench_member(user, workspace)
        setup["import"] = manage(
            "import_transactions", str(DATA), "--sync", "--user", MANAGER, "--workspace", "bench"
        )
        segment_args = ["segment_customers", "--sync", "--publish", "--user", MANAGER]
        segment_args += ["--workspace", "bench"]
        if os.environ.get("BENCH_ALGORITHMS"):
            segment_args += ["--algorithms", os.environ["BENCH_ALGORITHMS"]]
        setup["segment"] = manage(*segment_args, "--name", "Bench")
        return measure(workspace, user, setup, url)
    finally:
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP"):  # keep the state to profile a page afterwards
            print(f"kept VAR_DIR={tmp / 'var'} STATIC_ROOT={tmp / 'static'}", file=sys.stderr)
        else:
            if url:
                _psql(url, f'DROP DATABASE IF EXISTS "{urlparse(url).path.lstrip("/")}"')
            shutil.rmtree(tmp, ignore_errors=True)


def existing(url: str) -> int:
    """The pages of a database that already holds a published run (see the module doc)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segmentation_site.settings.base")
    os.environ.setdefault("VAR_DIR", str(tmp / "var"))
    os.environ["STATIC_ROOT"] = str(tmp / "static")
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    try:
        manage("collectstatic", "--noinput", "--verbosity=0")
        import django

        django.setup()
        from accounts.models import Membership
        from workspaces.models import Workspace

        workspace = Workspace.objects.get(slug=os.environ.get("BENCH_WORKSPACE", "bench"))
        member = Membership.unscoped.filter(workspace=workspace, role="manager").first()
        return measure(workspace, member.user, {}, url)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


def measure(workspace, user, setup: dict, url: str | None) -> int:
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from clustering.models import Segment, SegmentAssignment, SegmentationRun
    from customers.models import Customer

    settings.DEBUG = False
    run = (
        SegmentationRun.objects.in_workspace(workspace)
        .filter(is_published=True)
        .order_by("-id")
        .first()
    )
    biggest = Segment.objects.in_workspace(workspace).filter(run=run).order_by("-size").first()
    customer = (
        SegmentAssignment.objects.in_workspace(workspace)
        .filter(run=run)
        .order_by("-monetary_total")
        .values_list("customer__external_id", flat=True)
        .first()
    )
    customer_pk = Customer.objects.in_workspace(workspace).get(external_id=customer).pk
    # A page deep in the list (the 50th where there are that many: OFFSET's cost)
    per_page = settings.REST_FRAMEWORK["PAGE_SIZE"]
    deep = max(1, min(50, Customer.objects.in_workspace(workspace).count() // per_page))
    runs = SegmentationRun.objects.in_workspace(workspace).filter(status="succeeded").count()
    compare_label = "compare (the two newest runs)" if runs >= 2 else "compare (one run)"
    # the filters a campaign's audience takes (clustering.report.audience)
    audience = {
        "activity": "cooling",
        **({"country": biggest.top_country} if biggest.top_country else {}),
    }
    anonymous, client = Client(), Client()
    client.force_login(user)
    pages = [
        ("baseline: login page (anonymous)", anonymous, reverse("login")),
        ("baseline: API tokens (signed in)", client, reverse("api-tokens")),
        ("dashboard", client, reverse("home")),
        (f"segment ({biggest.size:,} members), page 1", client, biggest.get_absolute_url()),
        (
            "segment, page 5 sorted by recency",
            client,
            biggest.get_absolute_url() + "?sort=recency&dir=asc&page=5",
        ),
        (
            "segment, its cooling members in its top country (an audience), page 1",
            client,
            biggest.get_absolute_url() + "?" + urlencode(audience),
        ),
        (
            "segment, its active members due to order within 30 days, page 1",
            client,
            biggest.get_absolute_url() + "?activity=active&due_within=30",
        ),
        ("customer lookup", client, reverse("customer-lookup") + f"?customer_id={customer}"),
        (f"run report ({run.candidates.count()} candidates)", client, run.get_absolute_url()),
        ("run status JSON", client, reverse("clustering:run-status", args=[run.pk])),
        (compare_label, client, reverse("run-compare")),
        ("movements (latest publication)", client, reverse("movements")),
        ("customer's lines", client, reverse("customers:customer-lines", args=[customer_pk])),
        ("imports list", client, reverse("customers:import-list")),
        ("API: customers list, page 1", client, reverse("api-customers")),
        (f"API: customers list, page {deep}", client, reverse("api-customers") + f"?page={deep}"),
        ("API: one customer", client, reverse("api-customer", args=[customer])),
        (
            f"API: customers list of segment {biggest.number}, page 1",
            client,
            reverse("api-customers") + f"?segment={biggest.number}",
        ),
        (
            f"API: segment {biggest.number}'s members, page 1",
            client,
            reverse("api-segment-members", args=[biggest.number]),
        ),
        (
            f"API: segment {biggest.number}'s cooling members in its top country, page 1",
            client,
            reverse("api-segment-members", args=[biggest.number]) + "?" + urlencode(audience),
        ),
    ]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print()
    what = f"workspace {workspace.slug}" if url and not setup else "the full Online Retail data"
    print(
        f"Pages on {what} ({run.n_customers:,} customers segmented, "
        f"{run.chosen_algorithm} k={run.chosen_k}), {engine}, {REQUESTS} requests each "
        "after a warm-up"
        + (
            f"; set-up: import {setup['import']:.0f} s, segmentation {setup['segment']:.0f} s."
            if setup
            else "."
        )
    )
    print()
    print("| page | median ms | p95 ms | queries | KiB | under 300 ms |")
    print("|---|---:|---:|---:|---:|---|")
    worst = 0.0
    for label, who, path in pages:
        samples, queries, size = timed(who, path)
        median, high = statistics.median(samples), p95(samples)
        if not label.startswith("baseline"):
            worst = max(worst, high)
        ok = "yes" if high < TARGET_MS else "**no**"
        print(f"| {label} | {median:.1f} | {high:.1f} | {queries} | {size / 1024:.0f} | {ok} |")
    # A full (generation 2) garbage collection walks every object of a process that has
    # pandas, SciPy and scikit-learn loaded (~200k objects): a few hundred ms that lands on
    # whichever request triggers it. gc.freeze() after start-up (in wsgi.py, or a gunicorn
    # post_fork hook) takes the start-up objects out of those passes; shown for comparison.
    if url and not setup:  # an existing large database: each pass takes minutes
        print()
        return 0 if worst < TARGET_MS else 1
    import gc

    gc.collect()
    gc.freeze()
    for label, who, path in pages[2:]:
        samples, queries, size = timed(who, path)
        median, high = statistics.median(samples), p95(samples)
        ok = "yes" if high < TARGET_MS else "**no**"
        kib = size / 1024
        label = f"{label}, after gc.freeze()"
        print(f"| {label} | {median:.1f} | {high:.1f} | {queries} | {kib:.0f} | {ok} |")
    print()
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
