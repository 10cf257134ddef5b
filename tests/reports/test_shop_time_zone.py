"""A shop's pages keep its own clock: times in its time zone, a line given as a date alone
shown as that date (not as the hour the site's zone would make of its midnight), and the
site's zone back once the request is answered."""

from __future__ import annotations

import pandas as pd
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.workspace_access import workspace_url
from tests import shops
from tests.clustering.factories import line_at, load_transactions

pytestmark = pytest.mark.django_db

NEW_YORK = {"slug": "ny-shop", "name": "New York shop", "currency": "USD",
            "time_zone": "America/New_York"}  # fmt: skip


@pytest.fixture
def new_york_shop(make_user):
    workspace = shops.test_shop(NEW_YORK)
    lines = pd.DataFrame(
        [
            line_at("C1", "A1", "2011-12-09 12:50"),  # 07:50 in New York
            line_at("C1", "A2", "2011-12-10 05:00"),  # midnight in New York: a date alone
        ]
    )
    load_transactions(lines, workspace=workspace)
    user = shops.join(make_user("marketing", username="ny-marketing"), workspace, "marketing")
    return workspace, user


def test_a_shops_lines_show_in_its_own_time_zone(new_york_shop, client):
    workspace, user = new_york_shop
    client.force_login(user)
    url = workspace_url(workspace, reverse("customer-lookup"))
    page = client.get(url, {"customer_id": "C1"}).content.decode()
    assert "<td>9 Dec 2011 07:50</td>" in page
    assert "<td>10 Dec 2011</td>" in page  # midnight there: the date alone
    assert "12:50" not in page and "05:00" not in page
    # the next request of the same thread starts in the site's zone again
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
