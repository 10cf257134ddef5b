"""Shared fixtures. Tests that need a service or a browser skip clearly when it is absent;
with REQUIRE_SERVICES=1 (set by .ci/run) such a skip becomes a failure."""

from __future__ import annotations

import os
from collections import Counter

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# Fixtures shared by more than one test package, registered here rather than imported into
# each test module: `site` (tests/reports/site_data.py) serves tests/reports and
# tests/clustering.
pytest_plugins = ["tests.reports.site_data"]


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (in CI) when something a test needs is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required here (REQUIRE_SERVICES=1) but is not available")
    pytest.skip(f"needs {what}")


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_database(request, tmp_path):
    """An empty database of the test's own for `manage.py migrate` in a subprocess
    (tests/scratch_db.py): SQLite always, PostgreSQL when the suite runs on it."""
    from tests.scratch_db import ScratchDatabase

    if request.param == "sqlite":
        import sqlite3

        path = tmp_path / "before.sqlite3"
        yield ScratchDatabase(f"sqlite:///{path}", lambda: sqlite3.connect(path), "?")
        return
    request.getfixturevalue("db")
    from django.db import connection

    from tests.scratch_db import scratch_postgres

    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    with scratch_postgres(f"scratch_{request.node.originalname}"[:40]) as (url, connect):
        yield ScratchDatabase(url, connect, "%s")


@pytest.fixture
def shop(db):
    """The workspace most tests work in (tests/shops.py)."""
    from tests.shops import test_shop

    return test_shop()


@pytest.fixture
def other_shop(db):
    """A second workspace, for tests of what one workspace must not see of another."""
    from tests.shops import OTHER_SHOP, test_shop

    return test_shop(OTHER_SHOP)


@pytest.fixture
def make_user(db, django_user_model, shop):
    """A user with `role` in `workspace` (default: the test shop); no role: no membership."""
    from tests.shops import join

    def make(
        role: str | None = None,
        username: str | None = None,
        password: str = "pw-for-tests-1",
        workspace=None,
    ):
        username = username or f"{role or 'nobody'}-user"
        user = django_user_model.objects.create_user(username=username, password=password)
        if role:
            join(user, workspace or shop, role)
        return user

    return make


@pytest.fixture
def client_for(client, make_user):
    """A test client signed in with the given role (None: a user with no role)."""

    def signed_in(role: str | None):
        from django.test import Client

        c = Client()
        c.force_login(make_user(role))
        return c

    return signed_in


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Under pytest -n, refuse tests that share a node id: pytest-xdist schedules by node id
    and would run only the first of them, silently (schemathesis's operations share one, so
    `make test` runs their file in a pass of its own)."""
    counts = Counter(ids)
    shared = sorted(nodeid for nodeid, n in counts.items() if n > 1)
    if shared:
        pytest.exit(
            f"{len(shared)} node id(s) name several tests each, which pytest -n would run "
            f"once: {', '.join(shared)}. Run them without -n (and --ignore them there).",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _no_run_heartbeat_inside_the_test_transaction(request):
    """A run executed in-process beats from a thread of its own, on a connection of its own,
    which cannot see a run created inside the test's transaction: a beat (every 5 s) found
    no such run and called it lost, whenever a loaded machine made the run outlast one.
    Transactional tests and real workers keep the beat (their runs are committed)."""
    from django.test import override_settings

    marker = request.node.get_closest_marker("django_db")
    committed = {"transactional_db", "live_server"} & set(request.fixturenames) or (
        marker is not None and marker.kwargs.get("transaction")
    )
    if committed:
        yield
        return
    with override_settings(RUN_HEARTBEAT_SECONDS=24 * 3600):
        yield


def pytest_sessionfinish(session, exitstatus):
    """Remove this session's state folder (see settings/test.py); keep it if tests failed."""
    import shutil
    from pathlib import Path

    from django.conf import settings

    if not settings.configured:  # e.g. the engine's tests alone, run with -p no:django
        return
    var_dir = Path(settings.VAR_DIR)
    if exitstatus == 0 and var_dir.name.startswith("test-") and var_dir.parent.name == "var":
        shutil.rmtree(var_dir, ignore_errors=True)
