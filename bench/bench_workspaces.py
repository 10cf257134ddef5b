"""One shop beside a big neighbour: does a second workspace slow the first?

On a fresh database (PostgreSQL segmentation_bench_workspaces by default, DATABASE_URL to
choose), in this process and the same session:
  1. alone: workspace A holds CDNOW (23,570 customers); time A's import, a run, the pages
     and predict by customer id;
  2. the neighbour: workspace B gets the full Online Retail file (4,372 customers, 540k
     lines, eight times A's lines) and a published run of its own;
  3. beside B: the same measurements for A again.
Each import of the CDNOW file goes into a new workspace of its own, since A's lines are
already stored.
Each figure is printed beside its "alone" baseline; target: within 10%. Imports are staged
in both cases (IMPORT_BULK_LOAD_EMPTY_TABLE off): the bulk path only applies to an empty
line table, which "alone" would have and "beside B" cannot.
Usage: python bench/bench_workspaces.py [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sample_files import CDNOW, ONLINE_RETAIL

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/segmentation_bench_workspaces"
RUN_PARAMS = {"algorithms": ["kmeans", "gmm"], "k_min": 2, "k_max": 8, "seed": 7}
TARGET = 0.10


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


def setup_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "segmentation_site.settings.base"
    os.environ["DATABASE_URL"] = url
    state = tempfile.mkdtemp(prefix="bench-workspaces-")
    os.environ["VAR_DIR"] = f"{state}/var"
    os.environ["STATIC_ROOT"] = f"{state}/static"
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["IMPORT_BULK_LOAD_EMPTY_TABLE"] = "0"
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)


def workspace(slug: str, name: str, currency: str, manager):
    from accounts.models import Membership
    from workspaces.models import Workspace

    ws = Workspace.objects.create(slug=slug, name=name, currency=currency)
    Membership.objects.create(workspace=ws, user=manager, role="manager")
    return ws


def timed_import(ws, path: Path, manager) -> float:
    from customers.services import import_record_create, import_record_process

    started = time.perf_counter()
    with open(path, "rb") as f:
        record = import_record_create(
            workspace=ws, file=f, file_name=path.name, uploaded_by=manager, enqueue=False
        )
    record = import_record_process(workspace=ws, import_record_id=record.pk)
    assert record.status == "succeeded", record.error
    return time.perf_counter() - started


def timed_run(ws, manager, params: dict, *, publish: bool = False) -> float:
    from django.db import transaction

    from clustering.models import SegmentationRun
    from clustering.params import params_from_input
    from clustering.services import run_create, run_execute, run_publish

    started = time.perf_counter()
    with transaction.atomic():
        run = run_create(
            workspace=ws, user=manager, params=params_from_input(params), enqueue=False
        )
    outcome = run_execute(run_id=run.pk, token=f"bench-{run.pk}", hostname="bench@host")
    elapsed = time.perf_counter() - started
    assert outcome == "succeeded", SegmentationRun.unscoped.get(pk=run.pk).error
    if publish:
        run_publish(workspace=ws, run_id=run.pk, user=manager)
    return elapsed


def analyze() -> None:
    """Fresh planner statistics after a load, as autovacuum would give them a little later
    (a plan made on stale statistics would measure the timing of autovacuum)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def page_times(ws, manager, token: str, requests: int, rounds: int = 3) -> dict[str, float]:
    """Milliseconds per page of A after a warm-up: the lowest of `rounds` medians, so a
    burst of load from the machine's other tenants does not decide the figure."""
    from django.test import Client

    from clustering.models import SegmentationRun

    run = SegmentationRun.objects.in_workspace(ws).get(is_published=True)
    segment = run.segments.order_by("-size").first()
    customer = run.assignments.order_by("-monetary_total").values_list(
        "customer__external_id", flat=True
    )[0]
    client = Client()
    client.force_login(manager)
    api = Client(headers={"Authorization": f"Token {token}"})
    base = f"/w/{ws.slug}"
    body = json.dumps({"customer_id": customer})
    cases = {
        "dashboard": lambda: client.get(f"{base}/"),
        "segment page": lambda: client.get(f"{base}/runs/{run.pk}/segments/{segment.number}/"),
        "run report": lambda: client.get(f"{base}/runs/{run.pk}/"),
        "customer lookup": lambda: client.get(f"{base}/customers/lookup/?customer_id={customer}"),
        "API: customers list": lambda: api.get("/api/v1/customers/"),
        "API: predict by customer id": lambda: api.post(
            "/api/v1/predict/", body, content_type="application/json"
        ),
    }
    medians: dict[str, float] = {}
    for label, request in cases.items():
        response = request()
        assert response.status_code == 200, (label, response.status_code)
    for _ in range(rounds):
        for label, request in cases.items():
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                request()
                samples.append((time.perf_counter() - started) * 1000)
            medians[label] = min(medians.get(label, float("inf")), statistics.median(samples))
    return medians


def measure(ws, manager, token: str, phase: str, *, repeat: int, requests: int) -> dict:
    # Each import goes into a new workspace of its own (A's lines are already stored).
    imports = [
        timed_import(workspace(f"{phase}-{n}", f"{phase} {n}", "USD", manager), CDNOW, manager)
        for n in range(repeat)
    ]
    figures = {"import CDNOW (s), median": statistics.median(imports)}
    analyze()
    figures["run (s), median"] = statistics.median(
        timed_run(ws, manager, RUN_PARAMS) for _ in range(repeat)
    )
    for label, ms in page_times(ws, manager, token, requests).items():
        figures[f"{label} (ms)"] = ms
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run, fewer requests")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    repeat, requests = (1, 15) if args.quick else (3, 40)
    url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    recreate_database(url)
    setup_django(url)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.services import api_token_create

    try:
        manager = get_user_model().objects.create_user("bench-manager")
        a = workspace("cdnow", "CDNOW", "USD", manager)
        token = api_token_create(user=manager, workspace=a, name="bench", read_only=False)[1]
        # A's data and published run, then A alone.
        timed_import(a, CDNOW, manager)
        timed_run(a, manager, RUN_PARAMS, publish=True)
        analyze()
        alone = measure(a, manager, token, "alone", repeat=repeat, requests=requests)
        # The neighbour.
        b = workspace("online-retail", "Online Retail", "GBP", manager)
        neighbour_import = timed_import(b, ONLINE_RETAIL, manager)
        timed_run(b, manager, {**RUN_PARAMS, "algorithms": ["kmeans"]}, publish=True)
        analyze()
        beside = measure(a, manager, token, "beside", repeat=repeat, requests=requests)
    finally:
        connection.close()
        if not args.keep:
            recreate_database(url)

    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"Workspace A: CDNOW; neighbour B: Online Retail (its import took "
        f"{neighbour_import:.0f} s); {backend}; runs {RUN_PARAMS['algorithms']}, medians of "
        f"{repeat} imports and runs; pages: the lowest of 3 medians of {requests} requests.\n"
    )
    print("| measure | A alone (baseline) | A beside B | ratio | within 10% |")
    print("|---|---:|---:|---:|---|")
    worst = 0.0
    for label, base in alone.items():
        ratio = beside[label] / base
        worst = max(worst, ratio)
        ok = "yes" if ratio <= 1 + TARGET else "**no**"
        print(f"| {label} | {base:.2f} | {beside[label]:.2f} | {ratio:.2f} | {ok} |")
    print(f"\nWorst ratio {worst:.2f} (target at most {1 + TARGET:.2f}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
