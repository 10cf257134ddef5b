"""A failed import's file imported again from its page, in the date order chosen there: the
way on when a file's dates left the order open, without finding and uploading it again."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import ImportRecord, TransactionLine

from .conftest import import_path

pytestmark = pytest.mark.django_db

MAPPING = {"customer_id": "cust", "timestamp": "when", "amount": "total"}


@pytest.fixture
def ambiguous(tmp_path):
    path = tmp_path / "us.csv"
    path.write_text("cust,when,total\nc1,11/8/2016,12.50\nc2,10/11/2016,3.00\n")
    record = import_path(path, mapping=MAPPING)
    assert record.status == ImportRecord.Status.FAILED and "ambiguous" in record.error
    return record


def test_the_failed_import_is_imported_again_in_the_order_chosen(
    ambiguous, client_for, run_tasks_inline
):
    client = client_for("manager")
    page = client.get(ambiguous.get_absolute_url()).content.decode()
    assert 'data-role="import-again"' in page and "Import this file again" in page

    response = client.post(
        reverse("customers:import-again", args=[ambiguous.pk]), {"date_order": "monthfirst"}
    )

    again = ImportRecord.unscoped.exclude(pk=ambiguous.pk).get()
    assert response.status_code == 302 and response.url.endswith(again.get_absolute_url())
    assert again.status == ImportRecord.Status.SUCCEEDED, again.error
    assert (again.date_order, again.mapping, again.file_name) == (
        "monthfirst",
        ambiguous.mapping,
        "us.csv",
    )
    assert again.sha256 == ambiguous.sha256  # the same bytes
    line = TransactionLine.unscoped.get(customer__external_id="c1")
    assert (line.timestamp.month, line.timestamp.day) == (11, 8)
    ambiguous.refresh_from_db()
    assert ambiguous.status == ImportRecord.Status.FAILED  # the failed one stays as it was


def test_only_a_failed_import_with_its_file_is_imported_again(ambiguous, client_for, tmp_path):
    client = client_for("manager")
    path = tmp_path / "ok.csv"
    path.write_text("cust,when,total\nc3,2016-11-08,1.00\n")
    done = import_path(path, mapping=MAPPING)
    assert 'data-role="import-again"' not in client.get(done.get_absolute_url()).content.decode()
    refused = client.post(
        reverse("customers:import-again", args=[done.pk]), {"date_order": "dayfirst"}, follow=True
    )
    assert f"Import #{done.pk} did not fail" in refused.content.decode()

    ambiguous.file.delete(save=False)  # as IMPORT_FILES_KEEP_DAYS does, a month on
    ImportRecord.unscoped.filter(pk=ambiguous.pk).update(file="")
    page = client.get(ambiguous.get_absolute_url()).content.decode()
    assert 'data-role="import-again"' not in page
    gone = client.post(
        reverse("customers:import-again", args=[ambiguous.pk]),
        {"date_order": "dayfirst"},
        follow=True,
    )
    assert "has been deleted since; upload it again" in gone.content.decode()
    assert ImportRecord.unscoped.count() == 2


def test_marketing_cannot_import_again_and_nobody_by_get(ambiguous, client_for):
    url = reverse("customers:import-again", args=[ambiguous.pk])
    assert client_for("marketing").post(url, {"date_order": "dayfirst"}).status_code == 403
    assert client_for("manager").get(url).status_code == 405
    unknown = client_for("admin").post(url, {"date_order": "sideways"}, follow=True)
    assert "Choose one of the date orders offered." in unknown.content.decode()
    assert ImportRecord.unscoped.count() == 1


# ------------------------------------------------------------------------------ the API
def test_the_api_imports_a_failed_import_again(ambiguous, token_client, run_tasks_inline):
    url = reverse("api-import-again", args=[ambiguous.pk])
    client = token_client("manager")

    response = client.post(url, {"date_order": "monthfirst"}, content_type="application/json")

    assert response.status_code == 202, response.content
    body = response.json()
    again = ImportRecord.unscoped.get(pk=body["id"])
    assert body["id"] != ambiguous.pk and again.date_order == "monthfirst"
    assert again.status == ImportRecord.Status.SUCCEEDED, again.error
    assert TransactionLine.unscoped.filter(customer__external_id="c1").exists()
    # the new one did not fail: nothing to import again
    twice = client.post(
        reverse("api-import-again", args=[again.pk]), {}, content_type="application/json"
    )
    assert twice.status_code == 409 and "did not fail" in twice.json()["detail"]


def test_the_api_refuses_what_the_page_refuses(ambiguous, token_client):
    url = reverse("api-import-again", args=[ambiguous.pk])
    manager = token_client("manager")
    sideways = manager.post(url, {"date_order": "sideways"}, content_type="application/json")
    assert sideways.status_code == 400 and "date_order" in sideways.json()["fields"]
    assert (
        token_client("marketing").post(url, {}, content_type="application/json").status_code == 403
    )
    read_only = token_client("manager", read_only=True)
    assert read_only.post(url, {}, content_type="application/json").status_code == 403
    unknown = reverse("api-import-again", args=[ambiguous.pk + 100])
    assert manager.post(unknown, {}, content_type="application/json").status_code == 404
    ambiguous.file.delete(save=False)
    ImportRecord.unscoped.filter(pk=ambiguous.pk).update(file="")
    gone = manager.post(url, {}, content_type="application/json")
    assert gone.status_code == 409 and "upload it again" in gone.json()["detail"]
    assert ImportRecord.unscoped.count() == 1
