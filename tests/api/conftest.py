"""One executed, published run shared by every API test (package scope), and token clients.

The run (300 synthetic customers, K-Means with k 2..5) is executed in-process once, committed,
and removed again when the package's tests are done, so other test packages still start from
an empty database. Each test runs in its own transaction on top of it, so what a test changes
(publishing, revoking, storing lines) is rolled back. A transactional test would empty every
table when it ended, the run under the package's other tests with it (pytest-django runs such
tests last in a process, but under pytest -n --dist loadfile a worker goes on to other files of
the package after one): the package refuses them (pytest_collection_modifyitems below).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client

from tests.audit.helpers import wipe_audit_log
from tests.clustering.factories import load_transactions, synthetic_lines

ROLES = ("marketing", "manager", "admin")
RUN_PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 5, "seed": 7}
HANDLER = "common.api_errors.api_exception_handler"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    flushing = [
        item.nodeid
        for item in items
        if here in Path(item.path).parents
        and any(m.kwargs.get("transaction") for m in item.iter_markers("django_db"))
    ]
    if flushing:
        raise pytest.UsageError(
            "Transactional tests in tests/api would flush the package's shared run (world): "
            f"move them to another package: {', '.join(flushing)}"
        )


@dataclass
class World:
    run_id: int
    users: dict  # role (None: no role) -> user
    tokens: dict  # role (None: no role) -> token secret
    read_only_tokens: dict  # role -> read-only token secret
    customer_ids: list[str]
    workspace: object  # the shop every user, token and the run belong to


def _create_users(shop):
    """A user per role, each a member of `shop` (the user without a role is a member of
    nothing)."""
    from django.contrib.auth.models import User

    from tests.shops import join

    users = {None: User.objects.create_user("api-nobody", password="pw-for-tests-1")}
    for role in ROLES:
        users[role] = join(
            User.objects.create_user(f"api-{role}", password="pw-for-tests-1"), shop, role
        )
    return users


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker):
    from accounts.services import api_token_create
    from clustering.models import SegmentationRun
    from clustering.params import params_from_input
    from clustering.predicting import forget_published_model
    from clustering.services import run_create, run_execute, run_publish
    from customers.models import Customer, ImportRecord, TransactionLine
    from tests.shops import test_shop

    with django_db_blocker.unblock():
        shop = test_shop()
        users = _create_users(shop)
        load_transactions(synthetic_lines(300, seed=5), name="api-tests.csv", workspace=shop)
        with transaction.atomic():
            run = run_create(
                workspace=shop,
                user=users["manager"],
                params=params_from_input(RUN_PARAMS),
                enqueue=False,
            )
        outcome = run_execute(run_id=run.pk, token="api-tests", hostname="tests@host")
        assert outcome == "succeeded", SegmentationRun.unscoped.get(pk=run.pk).error
        run_publish(workspace=shop, run_id=run.pk, user=users["manager"])
        # Every token is the shop's; the user without a role is a member of nothing there.
        tokens = {
            role: api_token_create(user=user, workspace=shop, name="tests", read_only=False)[1]
            for role, user in users.items()
        }
        read_only = {
            role: api_token_create(user=user, workspace=shop, name="tests-ro", read_only=True)[1]
            for role, user in users.items()
        }
        customer_ids = list(
            run.assignments.order_by("customer__external_id").values_list(
                "customer__external_id", flat=True
            )
        )
        forget_published_model()
        try:
            yield World(run.pk, users, tokens, read_only, customer_ids, shop)
        finally:
            forget_published_model()
            predictor_files = [
                Path(settings.MEDIA_ROOT) / f
                for f in SegmentationRun.unscoped.values_list("predictor_file", flat=True)
                if f
            ]
            SegmentationRun.unscoped.all().delete()
            TransactionLine.unscoped.all().delete()
            Customer.unscoped.all().delete()
            ImportRecord.unscoped.all().delete()
            for user in users.values():
                user.delete()
            # the run, its publication and the tokens were logged; the log outlives the data
            wipe_audit_log()
            for path in predictor_files:
                path.unlink(missing_ok=True)
            shutil.rmtree(Path(settings.MEDIA_ROOT) / "imports", ignore_errors=True)


@pytest.fixture(autouse=True)
def _error_handler(settings):
    """The project's error format (until settings name it, this sets it for these tests)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": HANDLER}


@pytest.fixture
def api(world, db):
    """api(role) -> a client with that role's token; api(role, read_only=True); api("anon")."""

    def make(role, *, read_only: bool = False) -> Client:
        if role == "anon":
            return Client()
        secret = (world.read_only_tokens if read_only else world.tokens)[role]
        return Client(headers={"Authorization": f"Token {secret}"})

    return make


@pytest.fixture
def predictor_loads(world, db):
    """Counts predictor file loads from a cold cache."""
    from unittest import mock

    from clustering import predicting

    predicting.forget_published_model()
    with mock.patch.object(
        predicting, "load_predictor_file", wraps=predicting.load_predictor_file
    ) as loader:
        yield loader
    predicting.forget_published_model()
