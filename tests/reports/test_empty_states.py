"""What the pages say before there is anything to show (no data, no published run)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "says"),
    [("manager", "start a run"), ("marketing", "ask a manager")],
)
def test_dashboard_without_a_published_run_says_what_to_do(client_for, role, says):
    page = client_for(role).get(reverse("home")).content.decode()
    assert "No published segmentation yet" in page
    assert says in page
    assert ("Check the worker" in page) == (role == "manager")


def test_compare_with_one_run_says_what_is_needed(client_for):
    html = client_for("manager").get(reverse("run-compare")).content.decode()
    assert "Comparing needs two runs that succeeded" in html


def test_run_list_without_runs_invites_the_first_one(client_for):
    html = client_for("manager").get(reverse("clustering:run-list")).content.decode()
    assert "No runs yet" in html and reverse("clustering:run-create") in html


def test_starting_a_run_without_data_says_import_first(client_for):
    from clustering.forms import RunForm

    form = RunForm()
    data = {name: form[name].initial for name in form.fields if form[name].initial is not None}
    response = client_for("manager").post(reverse("clustering:run-create"), data)
    assert response.status_code == 200
    assert "import a file first" in response.content.decode()
