"""A Teams channel hears of events through a Workflows webhook, which posts Adaptive Cards
only (it answers 202 to anything, then fails): an endpoint written as a Teams card gets the
chat line as a card with a link, and a Workflows address in another format is refused with
the reason, on the page and the API."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from webhooks import payloads, services
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery, Endpoint, format_refused

from .conftest import raised_alert
from .receiver import receiver
from .test_alert_event import _local, queued  # noqa: F401 (fixtures)

WORKFLOWS = (
    "https://prod-27.westeurope.logic.azure.com:443/workflows/0f3c/triggers/manual/paths/"
    "invoke?api-version=2016-06-01&sig=abc"
)
NEW_WORKFLOWS = "https://default1a2b.3c.environment.api.powerplatform.com/powerautomate/x"


pytestmark = pytest.mark.django_db


def _card(body: dict) -> dict:
    [attachment] = body["attachments"]
    assert body["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def test_a_teams_endpoint_gets_the_chat_line_as_an_adaptive_card(shop, queued):  # noqa: F811
    alert = raised_alert(5)
    with receiver() as hook:
        Endpoint.objects.create(workspace=shop, url=hook.url, format="teams")
        [delivery] = services.deliveries_for_alerts(workspace=shop, alerts=[alert])
        assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
        [posted] = [json.loads(request.body) for request in hook.received()]
    assert posted == delivery.payload  # what was stored is what was posted
    card = _card(posted)
    assert (card["type"], card["version"]) == ("AdaptiveCard", payloads.CARD_VERSION)
    assert card["body"] == [
        {"type": "TextBlock", "text": f"{shop.name}: The scheduled run failed.", "wrap": True}
    ]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open",
            "url": f"https://segments.example.com/w/{shop.slug}/alerts/",
        }
    ]
    assert Delivery.objects.in_workspace(shop).get().alert_id == 5


def test_the_log_names_the_alert_a_card_announced(shop, queued, page):  # noqa: F811
    endpoint = Endpoint.objects.create(
        workspace=shop, url="https://93.184.215.14/teams", format="teams"
    )
    services.deliveries_for_alerts(workspace=shop, alerts=[raised_alert(41)])
    log = page.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).content.decode()
    assert 'Alert raised: <span class="help">alert #41</span>' in log


def test_a_teams_test_event_says_it_is_a_test(shop, queued):  # noqa: F811
    endpoint = Endpoint.objects.create(
        workspace=shop, url="https://93.184.215.14/teams", format="teams"
    )
    delivery = services.delivery_send_test(workspace=shop, endpoint_id=endpoint.pk, user=None)
    card = _card(payloads.body_for(delivery, payloads.delivery_payload(delivery)))
    assert card["body"][0]["text"] == f"Test: {shop.name}: nothing is published yet."


@pytest.mark.parametrize("url", [WORKFLOWS, NEW_WORKFLOWS])
def test_a_workflows_address_takes_teams_cards_only(url):
    for refused in ("json", "chat"):
        assert "Teams Workflows address, which posts cards only" in format_refused(url, refused)
    assert format_refused(url, "teams") is None
    assert format_refused("https://hooks.slack.com/services/T0/B0/x", "chat") is None


def test_a_discord_webhook_takes_a_chat_line_at_its_slack_address_only():
    plain = "https://discord.com/api/webhooks/123/abc"
    assert "add /slack at the end" in format_refused(plain, "chat")
    assert format_refused(plain + "/slack", "chat") is None
    assert format_refused("https://ptb.discord.com/api/webhooks/1/a/slack/", "chat") is None
    assert format_refused(plain + "/slack", "json").endswith("Mattermost webhooks”.")


def test_the_page_and_the_api_refuse_a_workflows_address_written_as_chat(
    shop, page, api, public_dns
):
    register = reverse("webhooks:endpoint-list")
    data = {"url": WORKFLOWS, "format": "chat", "events": ["alert.raised"]}
    refused = page.post(register, {**data, "alert_kinds": ["scheduled_run_failed"]})
    assert "which posts cards only: choose “A Microsoft Teams card" in refused.content.decode()
    assert not Endpoint.objects.in_workspace(shop).exists()

    answer = api.post(
        reverse("api-webhooks"), {"url": WORKFLOWS}, content_type="application/json"
    )  # JSON by default
    assert answer.status_code == 400 and list(answer.json()["fields"]) == ["format"]
    made = api.post(
        reverse("api-webhooks"),
        {"url": WORKFLOWS, "format": "teams"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    detail = reverse("api-webhook-detail", args=[made.json()["id"]])
    back = api.patch(detail, {"format": "chat"}, "application/json")
    assert back.status_code == 400 and "format" in back.json()["fields"]
    edit = reverse("webhooks:endpoint-edit", args=[made.json()["id"]])
    shown = page.post(edit, {"url": WORKFLOWS, "description": "", "format": "json"})
    assert shown.status_code == 400 and "which posts cards only" in shown.content.decode()
    assert Endpoint.objects.in_workspace(shop).get().format == "teams"
