"""A manager sets a weekly schedule and an alert rule in a real browser, publishes a second
run, and once a worker has checked the publication the dashboard shows what moved since the
first and the alert the rule raised, until the manager acknowledges it; an e-mail the mail
server refused for now says when it is tried again, and a manager sends it at once. No
console errors, no CSP violations."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.mail import send_mail
from django.utils import timezone

from alerts import tasks
from alerts.models import Alert, AlertRule
from clustering.services import run_publish
from tests.browser.test_journey import (  # the journey's browser, sign-in and checks
    assert_clean,
    assert_in_shop,
    browser_page,  # noqa: F401  (a fixture)
    in_shop,
    sign_in,
)
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TWO = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 2, "seed": 7}
FOUR = {"algorithms": ["kmeans"], "k_min": 4, "k_max": 4, "seed": 7}
SIZE_SENTENCE = re.compile(r"(grew|shrank) by \d+% \([\d,]+ → [\d,]+ customers\)")


def test_a_weekly_schedule_an_alert_rule_and_the_alert_after_a_publication(
    browser_page,  # noqa: F811
    live_server,
    make_user,
    shop,
    monkeypatch,
):
    page, base = browser_page, live_server.url
    checks: list[int] = []  # the publication checks sent to the workers
    monkeypatch.setattr(tasks.check_publication, "delay", checks.append)
    home = f"{in_shop(base)}/"
    manager = make_user("manager", username="alert-manager")
    manager.email = "alert-manager@shop.example"
    manager.save(update_fields=["email"])
    load_transactions(synthetic_lines(240, seed=4), workspace=shop)
    first = executed_run(shop, manager, TWO, name="Two segments")
    run_publish(workspace=shop, run_id=first.pk, user=manager)
    second = executed_run(shop, manager, FOUR, name="Four segments")

    sign_in(page, base, "alert-manager")

    # A weekly refresh, Mondays at 6:30.
    page.goto(f"{home}schedule/")
    page.check("#id_enabled")
    page.select_option("#id_frequency", "weekly")
    page.fill("#id_hour", "6")
    page.fill("#id_minute", "30")
    page.select_option("#id_day_of_week", index=0)
    page.click("text=Save the schedule")
    page.wait_for_selector("[data-role=next-firing]")
    assert "every week" in page.locator("main").inner_text().lower()

    # An alert rule, first with a mistake the page names.
    page.goto(f"{home}alerts/")
    page.click("text=Add a rule")
    page.select_option("#id_kind", "segment_size_change")
    page.fill("#id_recipients", "crm@shop.example, nobody@")
    page.click("text=Save the rule")
    assert "Say by how many percent" in page.locator("#id_threshold-error").inner_text()
    assert "'nobody@' is not an e-mail address" in page.locator("#id_recipients-error").inner_text()
    page.fill("#id_threshold", "5")
    page.fill("#id_recipients", "")
    page.click("text=Save the rule")
    page.wait_for_selector("text=A segment grows or shrinks by more than 5%")
    assert_in_shop(page, base)

    # The second run is published from its report.
    page.goto(f"{home}runs/{second.pk}/")
    page.click("button:has-text('Publish')")
    page.wait_for_selector("text=Published on")

    # The alerts page says the publication waits for a worker; this test is the worker.
    page.goto(f"{home}alerts/")
    check = page.locator("[data-role=publication-check]")
    assert "waiting for a worker to check it" in check.inner_text()
    assert not Alert.objects.in_workspace(shop).exists() and len(checks) == 1
    tasks.check_publication.apply((checks.pop(),))
    page.reload()
    raised = Alert.objects.in_workspace(shop).count()
    assert re.search(rf"checked against 1 rule at .*: {raised} alerts? raised", check.inner_text())

    # The dashboard: what moved since the first publication, and the alert.
    page.goto(home)
    assert page.locator("#since-last-publication").is_visible()
    alerts = page.locator("[data-role=open-alert]")
    stored = list(Alert.objects.in_workspace(shop).order_by("-created_at", "-pk"))
    assert stored and alerts.count() == len(stored)
    for shown, alert in zip(alerts.all(), stored, strict=True):
        assert alert.message in shown.inner_text()
        assert SIZE_SENTENCE.search(alert.message), alert.message
    assert [m.to for m in mail.outbox] == [["alert-manager@shop.example"]] * len(stored)

    # Acknowledged, they leave the dashboard and stay in the history.
    while page.locator("[data-role=open-alert]").count():
        page.locator("[data-role=open-alert] button:has-text('Acknowledge')").first.click()
        page.wait_for_url(home)
    assert not page.locator("#open-alerts").count()
    page.goto(f"{home}alerts/")
    assert page.locator("text=by alert-manager").count() == len(stored)
    assert_clean(page)


def test_a_refused_mail_says_when_it_is_tried_again_and_a_manager_sends_it_now(
    browser_page,  # noqa: F811
    live_server,
    make_user,
    shop,
    monkeypatch,
):
    page, base = browser_page, live_server.url
    make_user("manager", username="alert-manager")
    rule = AlertRule.objects.create(
        workspace=shop, kind="scheduled_run_failed", recipients="ops@shop.example"
    )
    alert = Alert.objects.create(
        workspace=shop,
        rule=rule,
        kind=rule.kind,
        message="The scheduled run “nightly” failed on 1 Dec 2026: Boom.",
        mail_next_attempt_at=timezone.now(),  # as raised
    )
    later: list[object] = []  # the attempts the worker queued for later
    monkeypatch.setattr(tasks.mail_alert, "apply_async", lambda args, eta=None: later.append(eta))

    def unreachable(*args, **kwargs):
        raise TimeoutError("timed out")

    # The worker's first attempt finds the mail server unreachable: tried again later.
    monkeypatch.setattr("alerts.mailing.send_mail", unreachable)
    tasks.mail_alert.apply((alert.pk,))
    alert.refresh_from_db()
    assert later == [alert.mail_next_attempt_at]

    sign_in(page, base, "alert-manager")
    page.goto(f"{in_shop(base)}/alerts/")
    cell = page.locator(f"[data-alert='{alert.pk}'] [data-role=alert-mail]")
    at = timezone.localtime(alert.mail_next_attempt_at).strftime("%H:%M")
    assert (
        f"not sent: TimeoutError: timed out (tried 1 time; trying again at {at})"
        in cell.inner_text()
    )

    # The server is back: the manager sends it now rather than wait; this test is the worker.
    monkeypatch.setattr("alerts.mailing.send_mail", send_mail)
    asked: list[int] = []
    monkeypatch.setattr(tasks.mail_alert, "delay", asked.append)
    cell.locator("button:has-text('Send again')").click()
    page.wait_for_selector("text=The e-mail is being sent again")
    assert "sending…" in cell.inner_text() and asked == [alert.pk]
    assert tasks.mail_alert.apply((asked.pop(),)).get() == "sent"
    page.reload()
    assert cell.inner_text().strip() == "sent to ops@shop.example"
    assert [message.to for message in mail.outbox] == [["ops@shop.example"]]
    assert_clean(page)
