"""A manager registers a Teams channel's Workflows webhook in a real browser, for failed
scheduled runs only: written as a chat line it is refused with the reason, beside the
format; as a Teams card it is registered, and the list says which alerts it hears. No
console errors, no CSP violations."""

from __future__ import annotations

import pytest

from tests.browser.test_journey import (  # noqa: F401 (browser_page is a fixture)
    assert_clean,
    browser_page,
    in_shop,
    sign_in,
)
from tests.webhooks.conftest import public_dns  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORKFLOWS = "https://prod-27.westeurope.logic.azure.com/workflows/0f3c/triggers/manual/run"


def test_a_teams_channel_for_failed_runs_only(
    browser_page,  # noqa: F811
    live_server,
    make_user,
    public_dns,  # noqa: F811
):
    from webhooks.models import Endpoint

    page, base = browser_page, live_server.url
    make_user("manager", username="hooks-manager")
    sign_in(page, base, "hooks-manager")
    page.goto(f"{in_shop(base)}/webhooks/")
    page.fill("input[name=url]", WORKFLOWS)
    page.fill("input[name=description]", "Ops channel")
    page.check("input[name=format][value=chat]")
    for kind in ("segment_size_change", "valuable_to_lapsed", "expected_value_drop"):
        page.uncheck(f"input[name=alert_kinds][value={kind}]")
    page.click("button:has-text('Register')")
    page.wait_for_selector("text=This is a Teams Workflows address, which posts cards only")
    assert not Endpoint.unscoped.exists()
    # what was chosen stays chosen: only the format changes
    assert page.is_checked("input[name=alert_kinds][value=scheduled_run_failed]")
    assert not page.is_checked("input[name=alert_kinds][value=segment_size_change]")

    page.check("input[name=format][value=teams]")
    page.click("button:has-text('Register')")
    page.wait_for_selector("text=Endpoint registered.")
    endpoint = Endpoint.unscoped.get()
    assert (endpoint.format, endpoint.alert_kinds) == ("teams", ["scheduled_run_failed"])
    assert "A Microsoft Teams card" in page.locator("main").inner_text()
    page.goto(f"{in_shop(base)}/webhooks/")
    row = page.locator("tr", has_text="Ops channel")
    assert "publications, alerts (1 of 4 kinds) and removals" in row.inner_text()
    assert_clean(page)
