"""The webhooks pages and API: managers register, test, disable, rotate, delete and send
again (each endpoint change in the audit log); marketing is refused; addresses inside the
network are refused with the reason."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.services import api_token_create
from audit.models import AuditEntry
from clustering.signals import AlertKind
from webhooks.models import Delivery, Endpoint, every_event

PUBLIC_URL = "https://93.184.215.14/hooks"


def _changes(shop) -> list[str]:
    entries = AuditEntry.objects.in_workspace(shop).filter(action="webhook_changed")
    return [e.details["change"] for e in entries.order_by("at", "pk")]


def test_a_manager_registers_an_endpoint_and_sees_its_secret(page, shop, manager):
    # The form offers every event, checked; the manager keeps publications only.
    form = page.get(reverse("webhooks:endpoint-list")).content.decode()
    assert form.count('name="events"') == 3 and form.count("checked") == 4 + 4  # JSON, kinds
    assert form.count('name="alert_kinds"') == 4
    data = {"url": PUBLIC_URL, "description": "CRM sync"}
    refused = page.post(reverse("webhooks:endpoint-list"), data)  # every box cleared
    assert "Choose at least one event to send it." in refused.content.decode()
    assert not Endpoint.objects.in_workspace(shop).exists()
    response = page.post(
        reverse("webhooks:endpoint-list"), {**data, "events": ["segmentation.published"]}
    )
    endpoint = Endpoint.objects.in_workspace(shop).get()
    assert endpoint.events == ["segmentation.published"]
    assert response.status_code == 302
    assert response["Location"].endswith(reverse("webhooks:endpoint-detail", args=[endpoint.pk]))
    assert (endpoint.url, endpoint.description, endpoint.enabled, endpoint.created_by) == (
        PUBLIC_URL, "CRM sync", True, manager
    )  # fmt: skip
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    detail = page.get(response["Location"]).content.decode()
    assert endpoint.secret in detail
    assert "Nothing sent yet: publish a segmentation, or send a test event." in detail
    listing = page.get(reverse("webhooks:endpoint-list")).content.decode()
    assert PUBLIC_URL in listing and "CRM sync" in listing
    assert "<td>publications</td>" in listing
    assert _changes(shop) == ["created"]

    # Later it takes alerts too, from its page; the change is audited.
    events = reverse("webhooks:endpoint-events", args=[endpoint.pk])
    both = ["alert.raised", "segmentation.published"]
    ticked = list(AlertKind.values)  # the kinds' boxes, ticked as the page offers them
    assert page.post(events, {"events": both, "alert_kinds": ticked}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["segmentation.published", "alert.raised"]
    detail = page.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).content.decode()
    assert "publish a segmentation (its alerts follow), or send a test event." in detail
    listing = page.get(reverse("webhooks:endpoint-list")).content.decode()
    assert "<td>publications and alerts</td>" in listing
    cleared = page.post(events, {}, follow=True).content.decode()
    assert "Choose at least one event to send it." in cleared
    endpoint.refresh_from_db()
    assert endpoint.events == ["segmentation.published", "alert.raised"]
    assert _changes(shop) == ["created", "events"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "is a link-local address"),
        ("ftp://93.184.215.14/x", "Only http:// and https://"),
    ],
)
def test_an_address_inside_the_network_is_refused_with_the_reason(page, api, shop, url, reason):
    response = page.post(reverse("webhooks:endpoint-list"), {"url": url})
    assert response.status_code == 200
    assert reason in response.content.decode()
    response = api.post(reverse("api-webhooks"), {"url": url}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "url" in response.json()["fields"]
    assert not Endpoint.objects.in_workspace(shop).exists()
    assert _changes(shop) == []


def test_the_endpoint_actions_change_it_and_are_audited(page, shop):
    endpoint = Endpoint.objects.create(workspace=shop, url=PUBLIC_URL)
    old_secret = endpoint.secret

    def post(name, data=None):
        response = page.post(reverse(f"webhooks:{name}", args=[endpoint.pk]), data or {})
        assert response.status_code == 302, name
        return response

    post("endpoint-enable", {"enabled": "0"})
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    post("endpoint-enable", {"enabled": "1"})
    post("endpoint-rotate")
    endpoint.refresh_from_db()
    assert endpoint.enabled is True and endpoint.secret != old_secret
    post("endpoint-test")
    test = Delivery.objects.in_workspace(shop).get()
    assert (test.event, test.status, test.endpoint) == ("webhook.test", "pending", endpoint)
    assert page.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).status_code == 200
    response = post("endpoint-delete")
    assert response["Location"].endswith(reverse("webhooks:endpoint-list"))
    assert not Endpoint.objects.in_workspace(shop).exists()
    assert _changes(shop) == ["disabled", "enabled", "secret_rotated", "deleted"]
    # the secret never reaches the audit log
    details = AuditEntry.objects.in_workspace(shop).values_list("details", flat=True)
    assert all(old_secret not in str(d) and endpoint.secret not in str(d) for d in details)


def test_send_again_on_the_page_reopens_a_finished_delivery(page, shop):
    endpoint = Endpoint.objects.create(workspace=shop, url=PUBLIC_URL)
    delivery = Delivery.objects.create(
        workspace=shop, endpoint=endpoint, status="failed", attempts=6, payload={"x": 1}
    )
    response = page.post(reverse("webhooks:delivery-redeliver", args=[delivery.pk]))
    assert response["Location"].endswith(reverse("webhooks:endpoint-detail", args=[endpoint.pk]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.payload) == ("pending", 0, {"x": 1})
    # while a worker sends it, it cannot be sent again
    Delivery.objects.in_workspace(shop).update(status="delivering")
    response = page.post(reverse("webhooks:delivery-redeliver", args=[delivery.pk]), follow=True)
    assert "being sent right now" in response.content.decode()


@pytest.mark.parametrize("role", ["marketing", None])
def test_marketing_and_outsiders_are_refused(make_user, shop, role):
    endpoint = Endpoint.objects.create(workspace=shop, url=PUBLIC_URL)
    client = Client()
    client.force_login(make_user(role, username=f"who-{role}"))
    assert client.get(reverse("webhooks:endpoint-list")).status_code in (403, 404)
    assert client.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).status_code in (
        403,
        404,
    )
    assert client.post(reverse("webhooks:endpoint-delete", args=[endpoint.pk])).status_code in (
        403,
        404,
    )
    events = reverse("webhooks:endpoint-events", args=[endpoint.pk])
    assert client.post(events, {"events": ["alert.raised"]}).status_code in (403, 404)
    endpoint.refresh_from_db()
    assert endpoint.events == every_event()
    assert Client().get(reverse("webhooks:endpoint-list")).status_code == 302  # sign in first


def test_marketing_gets_403_on_the_page_and_the_api(make_user, shop):
    marketer = make_user("marketing", username="mia")
    client = Client()
    client.force_login(marketer)
    assert client.get(reverse("webhooks:endpoint-list")).status_code == 403
    _, secret = api_token_create(user=marketer, workspace=shop, name="m", read_only=False)
    token = Client(headers={"Authorization": f"Token {secret}"})
    assert token.get(reverse("api-webhooks")).status_code == 403
    response = token.post(reverse("api-webhooks"), {"url": PUBLIC_URL}, "application/json")
    assert response.status_code == 403
    endpoint = Endpoint.objects.create(workspace=shop, url=PUBLIC_URL)
    detail = reverse("api-webhook-detail", args=[endpoint.pk])
    assert token.patch(detail, {"enabled": False}, "application/json").status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.enabled


def test_the_api_registers_lists_shows_deletes_and_sends_again(api, shop, manager):
    response = api.post(
        reverse("api-webhooks"),
        {"url": PUBLIC_URL, "description": "CRM"},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    endpoint = Endpoint.objects.in_workspace(shop).get()
    assert body == {
        "id": endpoint.pk,
        "url": PUBLIC_URL,
        "description": "CRM",
        "enabled": True,
        "events": every_event(),
        "alert_kinds": [],
        "format": "json",
        "created_at": body["created_at"],
        "created_by": manager.username,
        "secret": endpoint.secret,
    }
    listed = api.get(reverse("api-webhooks")).json()
    assert [e["id"] for e in listed] == [endpoint.pk]
    assert "secret" not in listed[0]
    detail = api.get(reverse("api-webhook-detail", args=[endpoint.pk])).json()
    assert detail["secret"] == endpoint.secret

    delivery = Delivery.objects.create(
        workspace=shop, endpoint=endpoint, status="succeeded", attempts=1, payload={"a": 1}
    )
    deliveries = api.get(reverse("api-webhook-deliveries", args=[endpoint.pk])).json()
    assert [d["id"] for d in deliveries["results"]] == [delivery.pk]
    assert deliveries["results"][0]["idempotency_key"] == str(delivery.idempotency_key)
    again = api.post(reverse("api-webhook-redeliver", args=[delivery.pk]))
    assert again.status_code == 202
    assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
    Delivery.objects.in_workspace(shop).update(status="delivering")
    conflict = api.post(reverse("api-webhook-redeliver", args=[delivery.pk]))
    assert (conflict.status_code, conflict.json()["code"]) == (409, "delivery_state")

    # PATCH: alerts only, and disabled; a bad event changes nothing.
    url = reverse("api-webhook-detail", args=[endpoint.pk])
    bad = api.patch(url, {"events": ["alert.raised", "run.done"]}, "application/json")
    assert bad.status_code == 400 and "events" in bad.json()["fields"]
    assert api.patch(url, {}, "application/json").status_code == 400
    changed = api.patch(url, {"events": ["alert.raised"], "enabled": False}, "application/json")
    assert changed.status_code == 200
    assert (changed.json()["events"], changed.json()["enabled"]) == (["alert.raised"], False)
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.enabled) == (["alert.raised"], False)

    assert api.delete(url).status_code == 204
    assert not Endpoint.objects.in_workspace(shop).exists()
    assert api.get(url).status_code == 404
    assert _changes(shop) == ["created", "events", "disabled", "deleted"]


def test_a_manager_moves_an_endpoint_keeping_its_secret_and_log(page, api, shop):
    endpoint = Endpoint.objects.create(workspace=shop, url=PUBLIC_URL, description="CRM")
    secret = endpoint.secret
    delivery = Delivery.objects.create(workspace=shop, endpoint=endpoint, payload={"a": 1})
    edit = reverse("webhooks:endpoint-edit", args=[endpoint.pk])
    detail = page.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).content.decode()
    assert (
        "Change the address, description or format" in detail and f'value="{PUBLIC_URL}"' in detail
    )

    # An address inside the network is refused beside the field, what was typed kept;
    # nothing changes.
    refused = page.post(edit, {"url": "http://127.0.0.1/x", "description": "CRM"})
    html = refused.content.decode()
    assert refused.status_code == 400 and 'value="http://127.0.0.1/x"' in html
    assert re.search(r'id="edit_url-error"><li>127\.0\.0\.1 is a loopback address', html)
    assert '<details class="edit-endpoint" open>' in html
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description) == (PUBLIC_URL, "CRM")

    moved = "https://93.184.215.15/hooks/v2"
    assert page.post(edit, {"url": moved, "description": "CRM v2"}).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.secret) == (moved, "CRM v2", secret)
    assert Delivery.objects.in_workspace(shop).get().pk == delivery.pk  # its log stays
    entry = AuditEntry.objects.in_workspace(shop).get(action="webhook_changed")
    assert entry.details == {
        "change": "edited",
        "url": moved,
        "from_url": PUBLIC_URL,
        "description": "CRM v2",
    }

    # The API: all of it or nothing.
    url = reverse("api-webhook-detail", args=[endpoint.pk])
    body = {"url": "http://10.0.0.5/hook", "events": ["alert.raised"]}
    bad = api.patch(url, body, "application/json")
    assert bad.status_code == 400 and "url" in bad.json()["fields"]
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == (moved, every_event())
    good = api.patch(url, {"url": PUBLIC_URL, "description": ""}, "application/json")
    assert (good.status_code, good.json()["url"], good.json()["description"]) == (
        200, PUBLIC_URL, ""
    )  # fmt: skip

    # Written as a chat message from now on (a Slack channel's incoming webhook), from the
    # page or the API; an unknown format is refused.
    page.post(edit, {"url": PUBLIC_URL, "description": "", "format": "chat"})
    endpoint.refresh_from_db()
    assert endpoint.format == "chat"
    shown = page.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).content.decode()
    assert "<dt>Written as</dt><dd>A chat message: Slack, Discord" in shown
    assert api.patch(url, {"format": "xml"}, "application/json").status_code == 400
    back = api.patch(url, {"format": "json"}, "application/json")
    assert (back.status_code, back.json()["format"]) == (200, "json")
