"""The alerts pages: managers set rules (every change in the audit log), every member reads
them and the alerts, and the dashboard shows an alert until a member acknowledges it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertRule
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

SIZE_RULE = {"kind": "segment_size_change", "threshold": "20", "enabled": "on", "recipients": ""}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(make_user):
    return make_user("manager", username="manny")


@pytest.fixture
def marketer(make_user):
    return make_user("marketing", username="mara")


def _rule(shop, **fields):
    values = {"kind": "segment_size_change", "threshold": 20.0, **fields}
    return AlertRule.objects.create(workspace=shop, **values)


def _changes(shop) -> list[tuple]:
    return list(
        AuditEntry.objects.in_workspace(shop)
        .filter(action="alert_rule_changed")
        .order_by("pk")
        .values_list("actor__username", "target_id", "details__change")
    )


def test_a_manager_adds_edits_disables_and_deletes_a_rule_each_change_audited(shop, manager):
    client = _client(manager)
    response = client.post(
        reverse("alerts:rule-create"),
        {**SIZE_RULE, "min_customers": "50", "recipients": "anna@shop.example, crm@shop.example"},
    )
    assert response.status_code == 302
    rule = AlertRule.objects.in_workspace(shop).get()
    assert (rule.kind, rule.threshold, rule.min_customers, rule.enabled, rule.recipients) == (
        "segment_size_change",
        20.0,
        None,
        True,
        "anna@shop.example, crm@shop.example",
    )  # fmt: skip  (the other kind's setting is dropped)
    assert rule.created_by == manager

    page = client.get(reverse("alerts:index")).content.decode()
    assert "A segment grows or shrinks by more than 20%" in page

    response = client.post(
        reverse("alerts:rule-edit", args=[rule.pk]),
        {"kind": "valuable_to_lapsed", "min_customers": "120", "enabled": "on"},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.kind, rule.threshold, rule.min_customers, rule.recipients) == (
        "valuable_to_lapsed", None, 120, ""
    )  # fmt: skip

    assert client.post(reverse("alerts:rule-toggle", args=[rule.pk])).status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is False

    alert = Alert.objects.create(workspace=shop, rule=rule, kind=rule.kind, message="m")
    assert client.post(reverse("alerts:rule-delete", args=[rule.pk])).status_code == 302
    assert not AlertRule.objects.in_workspace(shop).exists()
    alert.refresh_from_db()
    assert alert.rule is None  # the history keeps its alerts

    key = str(rule.pk)
    assert _changes(shop) == [
        ("manny", key, "created"),
        ("manny", key, "updated"),
        ("manny", key, "disabled"),
        ("manny", key, "deleted"),
    ]


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"kind": "segment_size_change"}, "threshold", "Say by how many percent"),
        ({**SIZE_RULE, "threshold": "0"}, "threshold", "a percentage above 0"),
        ({**SIZE_RULE, "threshold": "5000"}, "threshold", "at most 1000"),
        ({"kind": "valuable_to_lapsed"}, "min_customers", "Say how many customers"),
        ({"kind": "valuable_to_lapsed", "min_customers": "-3"}, "min_customers", "greater than"),
        ({**SIZE_RULE, "recipients": "crm@shop.example, anna@"}, "recipients", "'anna@' is not"),
        ({"kind": "weather"}, "kind", "not one of the available choices"),
    ],
)
def test_a_wrong_rule_is_refused_naming_the_field_and_nothing_is_saved(
    shop, manager, data, field, error
):
    response = _client(manager).post(reverse("alerts:rule-create"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert error in " ".join(form.errors[field]), form.errors
    assert error.replace("'", "&#x27;") in response.content.decode()
    assert not AlertRule.objects.in_workspace(shop).exists()
    assert _changes(shop) == []


def test_marketing_reads_the_rules_but_cannot_change_them(shop, marketer):
    rule = _rule(shop)
    client = _client(marketer)
    page = client.get(reverse("alerts:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert rule.description in html
    assert reverse("alerts:rule-create") not in html
    assert reverse("alerts:rule-delete", args=[rule.pk]) not in html
    assert client.get(reverse("alerts:rule-create")).status_code == 403
    assert client.post(reverse("alerts:rule-create"), SIZE_RULE).status_code == 403
    for name in ("alerts:rule-edit", "alerts:rule-toggle", "alerts:rule-delete"):
        assert client.post(reverse(name, args=[rule.pk]), SIZE_RULE).status_code == 403, name
    rule.refresh_from_db()
    assert rule.enabled and AlertRule.objects.in_workspace(shop).count() == 1
    assert _changes(shop) == []


def test_the_dashboard_shows_an_alert_until_a_member_acknowledges_it(shop, make_user, marketer):
    alert = Alert.objects.create(
        workspace=shop,
        kind="valuable_to_lapsed",
        message="312 customers moved from Champions to At risk",
    )
    other = make_user("manager", username="otto")
    home = reverse("home")
    for user in (marketer, other):
        assert alert.message in _client(user).get(home).content.decode()
    assert "e-mail not sent" not in _client(other).get(home).content.decode()
    # Its e-mail refused for good: the dashboard says so, linking to the reason.
    Alert.objects.in_workspace(shop).filter(pk=alert.pk).update(mail_error="SMTPError: 550")
    page = _client(other).get(home).content.decode()
    link = f'href="/w/{shop.slug}/alerts/#alert-{alert.pk}" data-role="mail-not-sent"'
    assert f"{link}>e-mail not sent</a>" in page
    # While a retry is due it is not news yet.
    Alert.objects.in_workspace(shop).filter(pk=alert.pk).update(mail_next_attempt_at=timezone.now())
    assert "e-mail not sent" not in _client(other).get(home).content.decode()

    response = _client(marketer).post(
        reverse("alerts:alert-acknowledge", args=[alert.pk]), {"next": home}
    )
    assert response.status_code == 302 and response["Location"] == home
    alert.refresh_from_db()
    assert alert.acknowledged_by == marketer and alert.acknowledged_at is not None
    for user in (marketer, other):
        assert alert.message not in _client(user).get(home).content.decode()
    # The history keeps it, saying who acknowledged it.
    history = _client(other).get(reverse("alerts:index")).content.decode()
    assert alert.message in history and "by mara" in history


def test_acknowledging_goes_back_only_to_this_site(shop, marketer):
    alert = Alert.objects.create(workspace=shop, kind="scheduled_run_failed", message="x")
    response = _client(marketer).post(
        reverse("alerts:alert-acknowledge", args=[alert.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/w/{shop.slug}{reverse('alerts:index')}"


def test_acknowledging_needs_a_post(shop, marketer):
    alert = Alert.objects.create(workspace=shop, kind="scheduled_run_failed", message="x")
    assert (
        _client(marketer).get(reverse("alerts:alert-acknowledge", args=[alert.pk])).status_code
        == 405
    )
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_alerts_page_says_when_the_newest_publication_was_checked(
    shop, other_shop, make_user, marketer
):
    from django.utils import timezone

    from alerts.models import PublicationCheck
    from clustering.models import Publication
    from clustering.services import run_publish
    from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

    manager = make_user("manager", username="pub-manager")
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    params = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 2}
    for seed in (7, 8, 9):
        run = executed_run(shop, manager, {**params, "seed": seed}, name=f"s{seed}")
        run_publish(workspace=shop, run_id=run.pk, user=manager)
    older, newer = Publication.objects.in_workspace(shop).order_by("published_at")[1:]
    page = reverse("alerts:index")
    assert 'data-role="publication-check"' not in _client(marketer).get(page).content.decode()

    now = timezone.now()
    PublicationCheck.objects.create(
        workspace=shop, publication=older, queued_at=now, checked_at=now, rules_checked=1,
        alerts_raised=1,
    )  # fmt: skip
    waiting = PublicationCheck.objects.create(workspace=shop, publication=newer, queued_at=now)
    text = " ".join(_client(marketer).get(page).content.decode().split())
    published = timezone.localtime(newer.published_at).strftime("%-d %b %Y %H:%M")
    assert f"The segmentation published on {published} is waiting for a worker" in text

    waiting.checked_at, waiting.rules_checked = now, 2
    waiting.save()
    text = " ".join(_client(marketer).get(page).content.decode().split())
    checked = timezone.localtime(now).strftime("%-d %b %Y %H:%M")
    assert (
        f"The segmentation published on {published} was checked against 2 rules at {checked}: "
        "nothing to report."
    ) in text
    # Another shop's page knows nothing of this one's checks.
    outsider = make_user("marketing", username="outsider", workspace=other_shop)
    response = _client(outsider).get(page)
    assert response.status_code == 200 and response.context["check"] is None
    assert "Alerts raised" in response.content.decode()
