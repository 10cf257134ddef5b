"""No way across: a user of workspace A, with any role, and a token of A, walk every page
and API endpoint of the URL conf (walked, not listed) with the objects of workspace B in
the URL, and get exactly what they get for an object that does not exist (404, or the
refusal their role gets anyway): never B's data, in a body, a list, a count, a CSV, the
schema or an error message, and B's data is left as it was.

Both workspaces hold synthetic shops with the same customer ids and different
transactions, each with a published run; B also has a customer id A lacks, and its run,
import and token carry marker names that must never reach A.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ("marketing", "manager", "admin")
PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}
B_ONLY_CUSTOMER = "B-ONLY-4242"
MARKERS = ("OTHER-SHOP-RUN", "other-shop-orders.csv", B_ONLY_CUSTOMER, "other-shop-token")
# What stands for "no such object" in each kind of URL parameter.
MISSING = {
    "pk": 987654321,
    "run_id": 987654321,
    "number": 250,
    "customer_id": "no-such-customer",
    "token_key": "zzzzzzzz",
    "line_id": uuid.UUID(int=0),
    "membership_id": 987654321,
    "rule_id": 987654321,
    "alert_id": 987654321,
    "publication_id": 987654321,
    "layout_id": 987654321,
    "endpoint_id": 987654321,
    "delivery_id": 987654321,
}
# Endpoints that address an object by a number only within the caller's own published
# run (the API's segments): nothing of B can be named in their URL.
OWN_RUN_ONLY = {
    "api-segment-detail",
    "api-segment-members",
    "api-segment-members-csv",
    "api-segment-ad-audience-csv",
}
# Endpoints whose parameter is the same in every workspace (the playbook's segment names are
# the engine's): each workspace reads and writes its own row for it (tests/clustering/
# test_playbook.py checks that another workspace keeps its default).
SAME_IN_EVERY_WORKSPACE = {"clustering:playbook-edit", "api-playbook-entry"}
# Parameters of URLs outside the workspaces (the admin site: superusers only).
OUTSIDE = ("admin:",)
SUCCESS = {200, 201, 202, 204}


@dataclass(frozen=True)
class Endpoint:
    name: str
    params: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


def _walk(patterns, namespace: str, params: tuple[str, ...]):
    for pattern in patterns:
        own = tuple(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from _walk(pattern.url_patterns, inner, params + own)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            if not name.startswith(OUTSIDE):
                yield Endpoint(name, params + own)


ENDPOINTS = sorted(
    {e.name: e for e in _walk(get_resolver().url_patterns, "", ())}.values(), key=str
)
WITH_OBJECTS = [
    e for e in ENDPOINTS if e.params and e.name not in OWN_RUN_ONLY | SAME_IN_EVERY_WORKSPACE
]
LISTS = [e for e in ENDPOINTS if not e.params]


@dataclass
class Shop:
    workspace: object
    run: object
    import_record: object
    customer: object  # a customer whose id the other shop has too
    line: object
    token_key: str
    membership: object  # the manager's


@dataclass
class World:
    a: Shop
    b: Shop
    b_only_customer: object
    users: dict  # role -> user of A
    token: str  # secret of a manager's token in A


def _shop(
    workspace, manager, lines, *, shared_id: str, run_name: str, file_name: str, token_name: str
):
    from accounts.models import Membership
    from accounts.services import api_token_create
    from clustering.models import SegmentationRun
    from clustering.services import run_publish
    from customers.models import Customer
    from tests.clustering.factories import executed_run, load_transactions

    record = load_transactions(lines, name=file_name, workspace=workspace)
    run = executed_run(workspace, manager, PARAMS, name=run_name, token="iso")
    run_publish(workspace=workspace, run_id=run.pk, user=manager)
    customer = Customer.objects.in_workspace(workspace).get(external_id=shared_id)
    token, _ = api_token_create(user=manager, workspace=workspace, name=token_name, read_only=False)
    membership = Membership.objects.in_workspace(workspace).get(user=manager)
    _alerts(workspace, run_name)
    _layout(workspace, file_name)
    _webhook(workspace, run_name)
    return Shop(
        workspace,
        SegmentationRun.objects.in_workspace(workspace).get(pk=run.pk),
        record,
        customer,
        customer.lines.first(),
        token.token_key,
        membership,
    )


def _alerts(workspace, run_name: str) -> None:
    """An alert rule and an alert, the alert naming the shop's run (a marker for B)."""
    from alerts.models import Alert, AlertRule

    rule = AlertRule.objects.create(
        workspace=workspace, kind="segment_size_change", threshold=10, recipients="a@shop.example"
    )
    Alert.objects.create(
        workspace=workspace, rule=rule, kind=rule.kind, message=f"{run_name} changed size"
    )


def _layout(workspace, file_name: str) -> None:
    """A remembered file layout whose columns carry the shop's file name (a marker for B)."""
    from customers.layouts import layout_signature
    from customers.models import ImportLayout

    columns = [file_name, "when", "total"]
    ImportLayout.objects.create(
        workspace=workspace,
        signature=layout_signature(columns),
        columns=columns,
        mapping={"customer_id": file_name, "timestamp": "when", "amount": "total"},
    )


def _webhook(workspace, run_name: str) -> None:
    """A webhook endpoint and a delivery with an attempt, each carrying the shop's run name
    (a marker for B)."""
    from clustering.models import Publication
    from webhooks.models import Delivery, DeliveryAttempt, Endpoint

    endpoint = Endpoint.objects.create(
        workspace=workspace, url="https://93.184.215.14/hook", description=run_name
    )
    delivery = Delivery.objects.create(
        workspace=workspace,
        endpoint=endpoint,
        publication=Publication.objects.in_workspace(workspace).first(),
        payload={"run": run_name},
        status="failed",
    )
    DeliveryAttempt.objects.create(
        workspace=workspace,
        delivery=delivery,
        at=delivery.created_at,
        status_code=500,
        response_excerpt=run_name,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    from accounts.services import api_token_create
    from alerts.models import Alert, AlertRule
    from clustering.models import SegmentationRun
    from customers.models import (
        Customer,
        ImportLayout,
        ImportRecord,
        KeptOutCustomer,
        TransactionLine,
    )
    from tests.audit.helpers import wipe_audit_log
    from tests.clustering.factories import synthetic_lines
    from tests.shops import OTHER_SHOP, join, test_shop
    from webhooks.models import Endpoint
    from workspaces.models import Workspace

    User = get_user_model()
    with django_db_blocker.unblock():
        a, b = test_shop(), test_shop(OTHER_SHOP)
        users = {}
        for role in ROLES:
            users[role] = User.objects.create_user(f"iso-a-{role}", password="pw-iso-1")
            join(users[role], a, role)
        b_manager = User.objects.create_user("iso-b-manager", password="pw-iso-1")
        join(b_manager, b, "manager")
        a_lines = synthetic_lines(120, seed=5)
        b_lines = synthetic_lines(120, seed=9)  # the same customer ids, other purchases
        last = b_lines["customer_id"].iloc[-1]
        b_lines.loc[b_lines["customer_id"] == last, "customer_id"] = B_ONLY_CUSTOMER
        shared = sorted(
            set(map(str, a_lines["customer_id"])) & set(map(str, b_lines["customer_id"]))
        )[0]
        shop_a = _shop(
            a,
            users["manager"],
            a_lines,
            shared_id=shared,
            run_name="Shop A run",
            file_name="shop-a-orders.csv",
            token_name="shop-a-token",
        )
        shop_b = _shop(
            b,
            b_manager,
            b_lines,
            shared_id=shared,
            run_name="OTHER-SHOP-RUN",
            file_name="other-shop-orders.csv",
            token_name="other-shop-token",
        )
        assert shop_a.customer.external_id == shop_b.customer.external_id
        _, secret = api_token_create(
            user=users["manager"], workspace=a, name="iso", read_only=False
        )
        b_only = Customer.objects.in_workspace(b).get(external_id=B_ONLY_CUSTOMER)
        # B keeps out an id as well: A may neither see it nor let it back in
        KeptOutCustomer.objects.create(workspace=b, external_id=B_ONLY_CUSTOMER)
        try:
            yield World(shop_a, shop_b, b_only, users, secret)
        finally:
            files = [
                Path(settings.MEDIA_ROOT) / f
                for f in SegmentationRun.unscoped.values_list("predictor_file", flat=True)
                if f
            ]
            Alert.unscoped.all().delete()
            Endpoint.unscoped.all().delete()  # and their deliveries
            ImportLayout.unscoped.all().delete()
            KeptOutCustomer.unscoped.all().delete()
            AlertRule.unscoped.all().delete()
            SegmentationRun.unscoped.update(is_published=False)
            SegmentationRun.unscoped.all().delete()
            TransactionLine.unscoped.all().delete()
            Customer.unscoped.all().delete()
            ImportRecord.unscoped.all().delete()
            User.objects.filter(username__startswith="iso-").delete()
            wipe_audit_log()  # the shops' actions were logged; the log outlives the data
            # the second shop too: a later file's command-line import, with no --workspace,
            # refuses to choose between two
            Workspace.objects.filter(slug=OTHER_SHOP["slug"]).delete()
            for path in files:
                path.unlink(missing_ok=True)
            shutil.rmtree(Path(settings.MEDIA_ROOT) / "imports", ignore_errors=True)


def _values(endpoint: Endpoint, shop: Shop, customer) -> dict:
    values = {}
    for param in endpoint.params:
        if param == "pk":
            if "import" in endpoint.name:
                values[param] = shop.import_record.pk
            elif endpoint.name in (
                "customers:customer-lines",
                "customers:customer-erase-contact",
                "customers:customer-remove",
            ):
                values[param] = customer.pk
            else:
                values[param] = shop.run.pk
        elif param == "run_id":
            values[param] = shop.run.pk
        elif param == "number":
            values[param] = shop.run.segments.order_by("number").first().number
        elif param == "customer_id":
            values[param] = customer.external_id
        elif param == "token_key":
            values[param] = shop.token_key
        elif param == "line_id":
            values[param] = shop.line.line_hash
        elif param == "membership_id":
            values[param] = shop.membership.pk
        elif param in ("rule_id", "alert_id"):
            from alerts.models import Alert, AlertRule

            model = AlertRule if param == "rule_id" else Alert
            values[param] = model.objects.in_workspace(shop.workspace).get().pk
        elif param == "layout_id":
            from customers.models import ImportLayout

            values[param] = ImportLayout.objects.in_workspace(shop.workspace).get().pk
        elif param in ("endpoint_id", "delivery_id"):
            from webhooks.models import Delivery, Endpoint

            model = Endpoint if param == "endpoint_id" else Delivery
            values[param] = model.objects.in_workspace(shop.workspace).get().pk
        elif param == "publication_id":
            # the shop's latest publication (movements pages and API)
            from clustering.models import Publication

            values[param] = Publication.objects.in_workspace(shop.workspace).first().pk
        else:
            raise AssertionError(f"{endpoint}: say which object of a workspace {param} names")
    return values


def _clients(world: World) -> dict[str, Client]:
    clients = {}
    for role, user in world.users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    clients["token"] = Client(headers={"Authorization": f"Token {world.token}"})
    return clients


def _methods(url: str) -> tuple[str, ...]:
    return ("get", "post", "delete") if url.startswith("/api/") else ("get", "post")


def _assert_nothing_of_b(response, what: str) -> None:
    body = b"".join(response) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    for marker in MARKERS:
        assert marker not in text, f"{what}: shows {marker!r} of the other workspace"


def _b_state(world: World) -> tuple:
    from accounts.models import ApiToken, Membership
    from audit.models import AuditEntry
    from clustering.models import SegmentationRun
    from customers.models import Customer, ImportRecord, KeptOutCustomer, TransactionLine

    b = world.b.workspace
    return (
        list(SegmentationRun.objects.in_workspace(b).values_list("pk", "is_published", "status")),
        list(ImportRecord.objects.in_workspace(b).values_list("pk", "status")),
        Customer.objects.in_workspace(b).count(),
        TransactionLine.objects.in_workspace(b).count(),
        sorted(ApiToken.objects.in_workspace(b).values_list("token_key", flat=True)),
        sorted(Membership.objects.in_workspace(b).values_list("user_id", "role")),
        list(AuditEntry.objects.in_workspace(b).values_list("pk", flat=True)),
        list(KeptOutCustomer.objects.in_workspace(b).values_list("external_id", flat=True)),
    )


@pytest.mark.parametrize("endpoint", WITH_OBJECTS, ids=str)
def test_another_workspaces_objects_are_as_if_they_did_not_exist(world, endpoint, db):
    before = _b_state(world)
    b_customer = world.b_only_customer if "customer_id" in endpoint.params else world.b.customer
    theirs = reverse(endpoint.name, kwargs=_values(endpoint, world.b, b_customer))
    mine = reverse(endpoint.name, kwargs=_values(endpoint, world.a, world.a.customer))
    missing = reverse(endpoint.name, kwargs={p: MISSING[p] for p in endpoint.params})
    for who, client in _clients(world).items():
        if who == "token" and not theirs.startswith("/api/"):
            continue
        for method in _methods(theirs):
            what = f"{method.upper()} {theirs} as {who} of A"
            response = getattr(client, method)(theirs)
            baseline = getattr(client, method)(missing)
            assert response.status_code == baseline.status_code, (what, response.status_code)
            assert response.status_code not in SUCCESS, what
            _assert_nothing_of_b(response, what)
            if method == "get" and getattr(client, method)(mine).status_code == 200:
                # Allowed to see its own such object: the other's is simply not found.
                assert response.status_code == 404, what
        # Under B's address, A's user is not let in at all.
        if who != "token":
            response = client.get(f"/w/{world.b.workspace.slug}{mine}")
            assert response.status_code == 404, f"GET /w/<B>{mine} as {who} of A"
    assert _b_state(world) == before


def _normalised(response, term: str) -> tuple[int, str]:
    """Status and body with the searched term and per-response tokens blanked, so a search
    for B's customer can be compared with a search for no customer at all."""
    body = b"".join(response) if response.streaming else response.content
    text = body.decode("utf-8", "replace").replace(term, "TERM")
    text = re.sub(r'(nonce|value)="[^"]*"', "", text)
    # the footer's time of printing: the two answers may fall either side of a minute
    text = re.sub(r"Printed [^<·]*·", "Printed ·", text)
    return response.status_code, text


@pytest.mark.parametrize("endpoint", LISTS, ids=str)
def test_lists_counts_searches_and_exports_show_nothing_of_another_workspace(world, endpoint, db):
    url = reverse(endpoint.name)
    for who, client in _clients(world).items():
        if who == "token" and not url.startswith("/api/"):
            continue
        _assert_nothing_of_b(client.get(url), f"GET {url} as {who} of A")
        if who not in ("admin", "token"):
            continue  # searches: the role that may see most, and a token, suffice
        for param in ("q", "customer_id", "search"):
            what = f"GET {url}?{param}=<B's customer> as {who} of A"
            theirs = client.get(f"{url}?{param}={B_ONLY_CUSTOMER}")
            nobody = client.get(f"{url}?{param}=NO-SUCH-CUSTOMER")
            if 429 in (theirs.status_code, nobody.status_code):
                continue  # the sign-in endpoint's rate limit: a refusal that says nothing
            assert _normalised(theirs, B_ONLY_CUSTOMER) == _normalised(
                nobody, "NO-SUCH-CUSTOMER"
            ), what


def test_a_workspaces_own_exports_and_reports_hold_only_its_own_customers(world, db):
    clients = _clients(world)
    for endpoint in WITH_OBJECTS:
        url = reverse(endpoint.name, kwargs=_values(endpoint, world.a, world.a.customer))
        response = clients["admin"].get(url)
        _assert_nothing_of_b(response, f"GET {url} as admin of A")


def test_the_walk_reaches_objects_of_every_kind():
    names = {e.name for e in WITH_OBJECTS}
    assert {
        "clustering:run-detail",
        "clustering:segment-members-csv",
        "clustering:segment-ad-audience-csv",
        "customers:import-detail",
        "customers:customer-lines",
        "customers:customer-erase-contact",
        "customers:customer-remove",
        "customers:line-remove",
        "api-run-detail",
        "api-import-detail",
        "api-customer",
        "api-kept-out-customer",
        "api-transaction-line",
        "api-token-revoke",
        "customers:layout-edit",
        "alerts:rule-edit",
        "alerts:alert-acknowledge",
        "api-alert-rule-detail",
        "api-alert-acknowledge",
        "movements-detail",
        "movement-members-csv",
        "movement-ad-audience-csv",
        "api-movements-detail",
        "webhooks:endpoint-detail",
        "webhooks:delivery-redeliver",
        "api-webhook-detail",
        "api-webhook-redeliver",
    } <= names
