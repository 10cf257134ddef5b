"""What the webhooks tests share: a manager of the shop, signed in on the pages and holding
an API token, hosts that resolve without DNS, and an alert as the alerts app raises it
(clustering.signals.alerts_raised)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import api_token_create


@pytest.fixture
def manager(make_user, shop):
    return make_user("manager", workspace=shop)


@pytest.fixture
def page(manager):
    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def api(manager, shop):
    _, secret = api_token_create(user=manager, workspace=shop, name="hooks", read_only=False)
    return Client(headers={"Authorization": f"Token {secret}"})


@pytest.fixture
def public_dns(monkeypatch):
    """Every host resolves to a public address, for the form and the services alike (no DNS
    where the tests run)."""
    from webhooks import forms, services
    from webhooks.addresses import Target

    def checked(url):
        return Target("https", "hooks.example.com", 443, "/", "93.184.215.14")

    monkeypatch.setattr(services, "check_endpoint_url", checked)
    monkeypatch.setattr(forms, "check_endpoint_url", checked)


def raised_alert(
    pk: int, kind: str = "scheduled_run_failed", message: str = "The scheduled run failed."
) -> dict:
    """An alert as the signal carries it, of no run or publication."""
    return {
        "id": pk,
        "kind": kind,
        "message": message,
        "details": {},
        "created_at": "2026-12-05T10:00:00+00:00",
        "run_id": None,
        "publication_id": None,
    }
