"""Managers undo an import (its lines go, the record stays, marked undone by whom and when)
or remove one line, by page and API; customers' dates follow their remaining lines, customers
left with none are deleted, and a segmentation run started afterwards sees the change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, ImportRecord, TransactionLine
from tests import shops

from .conftest import import_path, in_shop

pytestmark = pytest.mark.django_db

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
# Customer 1 buys in January and March; customer 2 once.
FIRST = HEADER + (
    "101,P1,MUG,2,2024-01-05 10:00:00,3.00,1,France\n"
    "102,P2,CUP,1,2024-03-01 10:00:00,5.00,1,France\n"
    "103,P1,MUG,1,2024-02-10 10:00:00,3.00,2,Spain\n"
)
# Customer 1 again: a purchase in February, a return in June from another country, and
# March's line again (already stored: it stays the first import's); customer 3 is new.
SECOND = HEADER + (
    "201,P3,BOWL,1,2024-02-01 10:00:00,7.00,1,France\n"
    "C202,P3,BOWL,-1,2024-06-01 10:00:00,7.00,1,Germany\n"
    "102,P2,CUP,1,2024-03-01 10:00:00,5.00,1,France\n"
    "203,P1,MUG,4,2024-04-01 10:00:00,3.00,3,Italy\n"
)


def when(text: str) -> datetime:
    """A file's time as the import reads it: in the test shop's time zone."""
    return timezone.make_aware(datetime.fromisoformat(text), ZoneInfo(shops.test_shop().time_zone))


def import_text(tmp_path: Path, name: str, text: str) -> ImportRecord:
    path = tmp_path / name
    path.write_text(text)
    record = import_path(path)
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    return record


@pytest.fixture
def two_imports(tmp_path):
    first = import_text(tmp_path, "first.csv", FIRST)
    second = import_text(tmp_path, "second.csv", SECOND)
    assert second.rows_imported == 3
    customer = Customer.unscoped.get(external_id="1")
    assert customer.last_seen_at == when("2024-06-01 10:00") and customer.country == "Germany"
    return first, second


def summary(external_id: str) -> tuple:
    c = Customer.unscoped.get(external_id=external_id)
    return c.first_purchase_at, c.last_purchase_at, c.last_seen_at, c.country


def test_undo_removes_the_imports_lines_and_recomputes_its_customers(two_imports, make_user):
    from customers.line_removal import import_record_undo

    first, second = two_imports
    manager = make_user("manager")
    removed = import_record_undo(
        workspace=shops.test_shop(), import_record_id=second.pk, user=manager
    )

    assert (removed.lines, removed.customers_updated, removed.customers_deleted) == (3, 1, 1)
    assert set(TransactionLine.unscoped.values_list("invoice", flat=True)) == {"101", "102", "103"}
    # The line the second file repeated belongs to the first import and stays.
    assert TransactionLine.unscoped.get(invoice="102").import_record_id == first.pk
    assert summary("1") == (
        when("2024-01-05 10:00"),
        when("2024-03-01 10:00"),
        when("2024-03-01 10:00"),
        "France",
    )
    assert summary("2") == (
        when("2024-02-10 10:00"),
        when("2024-02-10 10:00"),
        when("2024-02-10 10:00"),
        "Spain",
    )
    assert not Customer.unscoped.filter(external_id="3").exists()

    second.refresh_from_db()
    assert second.status == ImportRecord.Status.UNDONE
    assert second.undone_by == manager and second.undone_at is not None
    assert second.rows_imported == 3  # what it did then stays on the record
    assert "Undone by manager-user: 3 lines removed" in second.notices[-1]


def test_undoing_the_earlier_import_keeps_what_the_later_one_stored(two_imports, make_user):
    from customers.line_removal import import_record_undo

    first, _ = two_imports
    removed = import_record_undo(
        workspace=shops.test_shop(), import_record_id=first.pk, user=make_user("manager")
    )

    assert (removed.lines, removed.customers_updated, removed.customers_deleted) == (3, 1, 1)
    assert set(TransactionLine.unscoped.values_list("invoice", flat=True)) == {"201", "C202", "203"}
    # Customer 1 keeps a February purchase and June's return (a line, not a purchase).
    assert summary("1") == (
        when("2024-02-01 10:00"),
        when("2024-02-01 10:00"),
        when("2024-06-01 10:00"),
        "Germany",
    )
    assert not Customer.unscoped.filter(external_id="2").exists()


def test_undo_twice_or_of_an_unfinished_import_is_refused(two_imports, client_for):
    _, second = two_imports
    manager = client_for("manager")
    url = reverse("api-import-undo", args=[second.pk])

    assert manager.post(url).status_code == 200
    again = manager.post(url)
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "conflict" and "already undone by manager-user" in body["detail"]

    queued = ImportRecord.objects.create(
        workspace=shops.test_shop(), file_name="x.csv", sha256="0" * 64
    )
    response = manager.post(reverse("api-import-undo", args=[queued.pk]))
    assert response.status_code == 409 and "only a succeeded import" in response.json()["detail"]
    assert manager.post(reverse("api-import-undo", args=[99999])).status_code == 404


def test_the_api_answers_what_was_removed(two_imports, client_for):
    _, second = two_imports
    response = client_for("manager").post(reverse("api-import-undo", args=[second.pk]))
    body = response.json()
    assert body.pop("undone_at")
    assert body == {
        "import_id": second.pk,
        "status": "undone",
        "undone_by": "manager-user",
        "lines_removed": 3,
        "customers_updated": 1,
        "customers_deleted": 1,
    }
    detail = client_for("admin").get(reverse("api-import-detail", args=[second.pk])).json()
    assert detail["status"] == "undone"


def test_marketing_may_not_remove_lines(two_imports, client_for):
    _, second = two_imports
    line = TransactionLine.unscoped.get(invoice="201")
    marketing = client_for("marketing")
    assert marketing.post(reverse("api-import-undo", args=[second.pk])).status_code == 403
    api_line = reverse("api-transaction-line", args=[line.line_hash])
    assert marketing.delete(api_line).status_code == 403
    assert marketing.post(reverse("customers:import-undo", args=[second.pk])).status_code == 403
    remove_page = reverse("customers:line-remove", args=[line.line_hash])
    assert marketing.post(remove_page).status_code == 403
    assert (
        marketing.get(reverse("customers:customer-lines", args=[line.customer_id])).status_code
        == 403
    )
    assert TransactionLine.unscoped.count() == 6
    assert ImportRecord.unscoped.get(pk=second.pk).status == ImportRecord.Status.SUCCEEDED


def test_undo_through_the_page_with_confirmation(two_imports, client_for):
    _, second = two_imports
    manager = client_for("manager")
    detail = manager.get(second.get_absolute_url()).content.decode()
    undo_url = reverse("customers:import-undo", args=[second.pk])
    assert f'action="{in_shop(undo_url)}"' in detail and "data-confirm=" in detail

    confirm = manager.get(undo_url)
    assert confirm.status_code == 200 and b"Undo this import" in confirm.content
    assert TransactionLine.unscoped.count() == 6  # asking removes nothing

    response = manager.post(undo_url, follow=True)
    assert response.redirect_chain[-1][0] == in_shop(second.get_absolute_url())
    page = response.content.decode()
    assert "Import undone: 3 lines removed" in page and "undone by manager-user" in page
    assert f'action="{in_shop(undo_url)}"' not in page  # no second undo offered
    assert TransactionLine.unscoped.count() == 3

    again = manager.post(undo_url, follow=True)
    assert again.status_code == 200 and "already undone" in again.content.decode()


def test_the_page_needs_csrf(two_imports, make_user):
    from django.test import Client

    _, second = two_imports
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("manager"))
    assert client.post(reverse("customers:import-undo", args=[second.pk])).status_code == 403
    assert TransactionLine.unscoped.count() == 6


def test_removing_one_line_by_api(two_imports, client_for):
    _, second = two_imports
    manager = client_for("manager")
    ret = TransactionLine.unscoped.get(invoice="C202")
    response = manager.delete(reverse("api-transaction-line", args=[ret.line_hash]))
    assert response.status_code == 200
    assert response.json() == {"lines_removed": 1, "customers_updated": 1, "customers_deleted": 0}
    # June's return was customer 1's latest line: last seen and country go back to March's.
    assert summary("1") == (
        when("2024-01-05 10:00"),
        when("2024-03-01 10:00"),
        when("2024-03-01 10:00"),
        "France",
    )
    second.refresh_from_db()
    assert f"Line {ret.line_hash}" in second.notices[-1]
    assert "removed by manager-user" in second.notices[-1]
    again = manager.delete(reverse("api-transaction-line", args=[ret.line_hash]))
    assert again.status_code == 404


def test_removing_a_customers_last_line_by_page_deletes_the_customer(two_imports, client_for):
    manager = client_for("manager")
    line = TransactionLine.unscoped.get(invoice="203")
    page = manager.get(reverse("customers:customer-lines", args=[line.customer_id]))
    remove_url = reverse("customers:line-remove", args=[line.line_hash])
    assert page.status_code == 200 and f'action="{in_shop(remove_url)}"' in page.content.decode()
    assert manager.get(remove_url).status_code == 200  # the confirmation

    response = manager.post(remove_url)
    assert response.status_code == 302 and response["Location"] == in_shop(
        line.import_record.get_absolute_url()
    )
    assert not Customer.unscoped.filter(external_id="3").exists()
    assert TransactionLine.unscoped.count() == 5


def test_a_run_after_the_undo_sees_the_change(tmp_path, make_user):
    from django.db import transaction

    import clustering.services as services
    from clustering.models import SegmentAssignment, SegmentationRun
    from clustering.params import params_from_input
    from customers.line_removal import import_record_undo
    from tests.clustering.factories import load_transactions, synthetic_lines

    manager = make_user("manager")
    load_transactions(synthetic_lines(120, seed=5))
    extra = synthetic_lines(20, seed=9)
    extra["customer_id"] = "extra-" + extra["customer_id"].astype(str)
    added = load_transactions(extra, name="extra.csv")
    params = params_from_input({"algorithms": ["kmeans"], "k_min": 3, "k_max": 3, "seed": 7})

    def run() -> SegmentationRun:
        with transaction.atomic():
            created = services.run_create(
                workspace=shops.test_shop(), user=manager, params=params, enqueue=False
            )
        outcome = services.run_execute(run_id=created.pk, token=f"t{created.pk}", hostname="t")
        assert outcome == "succeeded", SegmentationRun.unscoped.get(pk=created.pk).error
        return SegmentationRun.unscoped.get(pk=created.pk)

    before = run()
    assert before.n_customers == 140
    import_record_undo(workspace=shops.test_shop(), import_record_id=added.pk, user=manager)
    after = run()
    assert after.n_customers == 120
    members = SegmentAssignment.unscoped.filter(run=after)
    assert not members.filter(customer__external_id__startswith="extra-").exists()
    assert members.count() == 120


def test_a_run_in_progress_during_an_undo_keeps_only_existing_customers(make_user, monkeypatch):
    from django.db import transaction

    import clustering.services as services
    from clustering.models import SegmentAssignment, SegmentationRun
    from clustering.params import params_from_input
    from clustering.runs import execution
    from customers.line_removal import import_record_undo
    from tests.clustering.factories import load_transactions, synthetic_lines

    manager = make_user("manager")
    load_transactions(synthetic_lines(120, seed=5))
    extra = synthetic_lines(20, seed=9)
    extra["customer_id"] = "extra-" + extra["customer_id"].astype(str)
    added = load_transactions(extra, name="extra.csv")
    params = params_from_input({"algorithms": ["kmeans"], "k_min": 3, "k_max": 3, "seed": 7})
    real = execution.run_segmentation

    def undo_meanwhile(*args, **kwargs):
        # The run has read its data; the import is undone before it stores its results.
        import_record_undo(workspace=shops.test_shop(), import_record_id=added.pk, user=manager)
        return real(*args, **kwargs)

    monkeypatch.setattr(execution, "run_segmentation", undo_meanwhile)
    with transaction.atomic():
        created = services.run_create(
            workspace=shops.test_shop(), user=manager, params=params, enqueue=False
        )
    outcome = services.run_execute(run_id=created.pk, token="t", hostname="t")
    run = SegmentationRun.unscoped.get(pk=created.pk)
    assert outcome == "succeeded", run.error
    orphans = SegmentAssignment.unscoped.filter(run=run).exclude(
        customer_id__in=Customer.unscoped.values("pk")
    )
    assert orphans.count() == 0
    assert run.assignments.count() == 120  # the 20 undone customers are left out, and said so
    assert any("20 customers removed" in note for note in run.notes)
