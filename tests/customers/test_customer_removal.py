"""Managers remove a customer with all their lines (a test account, a placeholder id stored
before imports skipped such ids, a person who asked to be forgotten), by page and API: the
lines, the customer and their places in earlier runs go, other customers' lines stay, each
import notes what it lost, and the audit log records who did it. A removed customer is kept
out of later imports (files and the transactions API skip and count their rows) until a
manager lets them back in."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from customers.line_removal import customer_remove
from customers.models import Customer, ImportRecord, KeptOutCustomer, TransactionLine
from tests import shops

from .conftest import import_path, in_shop
from .test_undo import import_text

pytestmark = pytest.mark.django_db

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
# "Guest" buys in both files (the shop kept the id then); customer 7 in both, 8 in the first.
FIRST = HEADER + (
    "101,P1,MUG,2,2024-01-05 10:00:00,3.00,Guest,France\n"
    "102,P2,CUP,1,2024-01-06 10:00:00,5.00,Guest,France\n"
    "103,P1,MUG,1,2024-02-10 10:00:00,3.00,7,Spain\n"
    "104,P1,MUG,1,2024-02-11 10:00:00,3.00,8,Spain\n"
)
SECOND = HEADER + (
    "201,P3,BOWL,1,2024-03-01 10:00:00,7.00,Guest,France\n"
    "202,P3,BOWL,1,2024-03-02 10:00:00,7.00,7,Spain\n"
)


@pytest.fixture
def stored_guest(tmp_path):
    """Two imports that stored a placeholder id while the shop kept it, which it no longer
    does: the state of a shop whose lines predate the placeholder rule."""
    shop = shops.test_shop()
    shop.customer_ids_kept = "Guest"
    shop.save(update_fields=["customer_ids_kept"])
    first = import_text(tmp_path, "first.csv", FIRST)
    second = import_text(tmp_path, "second.csv", SECOND)
    shop.customer_ids_kept = ""
    shop.save(update_fields=["customer_ids_kept"])
    assert TransactionLine.unscoped.filter(customer__external_id="Guest").count() == 3
    return first, second


def invoices() -> set[str]:
    return set(TransactionLine.unscoped.values_list("invoice", flat=True))


def test_removing_a_customer_takes_their_lines_and_places_in_runs_only(stored_guest, make_user):
    from clustering.models import SegmentAssignment
    from tests.clustering.factories import load_transactions, synthetic_lines

    first, second = stored_guest
    manager = make_user("manager")
    load_transactions(synthetic_lines(60, seed=3), name="more.csv")
    run = _run(manager)
    guest = Customer.unscoped.get(external_id="Guest")
    assert SegmentAssignment.unscoped.filter(run=run, customer=guest).exists()
    members_before = SegmentAssignment.unscoped.filter(run=run).count()

    removed = customer_remove(workspace=shops.test_shop(), customer_pk=guest.pk, user=manager)

    assert (removed.lines, removed.customers_updated, removed.customers_deleted) == (3, 0, 1)
    assert not Customer.unscoped.filter(external_id="Guest").exists()
    assert {"101", "102", "201"}.isdisjoint(invoices())
    assert {"103", "104", "202"} <= invoices()
    assert SegmentAssignment.unscoped.filter(run=run).count() == members_before - 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (
        "Customer Guest removed with 2 lines of this import, by manager-user" in (first.notices[-1])
    )
    assert "Customer Guest removed with 1 line of this import" in second.notices[-1]
    entry = AuditEntry.unscoped.get(action=AuditEntry.Action.CUSTOMER_REMOVED)
    assert (entry.target_repr, entry.actor_name) == ("Guest", "manager-user")
    assert entry.details == {
        "lines_removed": 3,
        "import_ids": [first.pk, second.pk],
        "kept_out": False,
    }
    assert not KeptOutCustomer.unscoped.exists()


def _run(user):
    from django.db import transaction

    import clustering.services as services
    from clustering.models import SegmentationRun
    from clustering.params import params_from_input

    params = params_from_input({"algorithms": ["kmeans"], "k_min": 3, "k_max": 3, "seed": 7})
    with transaction.atomic():
        created = services.run_create(
            workspace=shops.test_shop(), user=user, params=params, enqueue=False
        )
    outcome = services.run_execute(run_id=created.pk, token=f"t{created.pk}", hostname="t")
    run = SegmentationRun.unscoped.get(pk=created.pk)
    assert outcome == "succeeded", run.error
    return run


def test_the_lines_page_points_out_a_stored_placeholder_and_removes_it(stored_guest, client_for):
    manager = client_for("manager")
    guest = Customer.unscoped.get(external_id="Guest")
    seven = Customer.unscoped.get(external_id="7")
    lines_page = manager.get(reverse("customers:customer-lines", args=[guest.pk])).content.decode()
    remove_url = reverse("customers:customer-remove", args=[guest.pk])
    assert 'data-role="placeholder"' in lines_page and "looks like a placeholder" in lines_page
    assert f'href="{in_shop(remove_url)}"' in lines_page
    assert "all 3 lines" in lines_page
    other = manager.get(reverse("customers:customer-lines", args=[seven.pk])).content.decode()
    assert 'data-role="placeholder"' not in other

    confirm = manager.get(remove_url).content.decode()
    assert "3 transaction lines, stored by 2 imports" in confirm
    assert "Imports skip this id now" in confirm
    assert 'name="keep_out"' not in confirm  # imports skip a placeholder anyway
    assert TransactionLine.unscoped.count() == 6  # asking removes nothing

    response = manager.post(remove_url, follow=True)
    assert response.redirect_chain[-1][0] == in_shop(reverse("customer-lookup"))
    assert "Customer Guest removed with 3 lines." in response.content.decode()
    assert invoices() == {"103", "104", "202"}
    assert not KeptOutCustomer.unscoped.exists()
    assert manager.post(remove_url).status_code == 404


def test_a_kept_id_is_not_called_a_placeholder(stored_guest, client_for):
    shop = shops.test_shop()
    shop.customer_ids_kept = "guest"
    shop.save(update_fields=["customer_ids_kept"])
    guest = Customer.unscoped.get(external_id="Guest")
    manager = client_for("manager")
    page = manager.get(reverse("customers:customer-lines", args=[guest.pk])).content.decode()
    assert 'data-role="placeholder"' not in page
    confirm = manager.get(reverse("customers:customer-remove", args=[guest.pk])).content.decode()
    assert '<input type="checkbox" name="keep_out" checked>' in confirm


def test_marketing_may_not_remove_a_customer(stored_guest, client_for):
    guest = Customer.unscoped.get(external_id="Guest")
    marketing = client_for("marketing")
    remove_url = reverse("customers:customer-remove", args=[guest.pk])
    assert marketing.get(remove_url).status_code == 403
    assert marketing.post(remove_url).status_code == 403
    api = marketing.delete(reverse("api-customer", args=["Guest"]))
    assert api.status_code == 403
    assert marketing.get(reverse("api-customer", args=["Guest"])).status_code == 200
    assert TransactionLine.unscoped.count() == 6
    assert not AuditEntry.unscoped.filter(action=AuditEntry.Action.CUSTOMER_REMOVED).exists()


def test_the_api_removes_a_customer_by_id(stored_guest, client_for):
    manager = client_for("manager")
    response = manager.delete(reverse("api-customer", args=["7"]))
    assert response.status_code == 200, response.content
    assert response.json() == {"lines_removed": 2, "customers_updated": 0, "customers_deleted": 1}
    assert invoices() == {"101", "102", "104", "201"}
    assert list(KeptOutCustomer.unscoped.values_list("external_id", flat=True)) == ["7"]
    assert manager.get(reverse("api-customer", args=["7"])).status_code == 404
    assert manager.delete(reverse("api-customer", args=["7"])).status_code == 404


def test_a_customer_of_another_shop_is_not_found(stored_guest, client_for, other_shop):
    theirs = Customer.objects.create(workspace=other_shop, external_id="Guest")
    manager = client_for("manager")
    assert manager.get(reverse("customers:customer-remove", args=[theirs.pk])).status_code == 404
    assert manager.post(reverse("customers:customer-remove", args=[theirs.pk])).status_code == 404
    assert Customer.unscoped.filter(pk=theirs.pk).exists()
    # by id, the API finds the manager's own shop's Guest, never the other shop's
    assert manager.delete(reverse("api-customer", args=["Guest"])).status_code == 200
    assert Customer.unscoped.filter(pk=theirs.pk).exists()


def import_lines(tmp_path: Path, name: str, text: str) -> ImportRecord:
    return import_text(tmp_path, name, HEADER + text)


def test_a_customer_kept_out_stays_out_of_later_files_until_let_back_in(
    stored_guest, client_for, tmp_path
):
    manager = client_for("manager")
    seven = Customer.unscoped.get(external_id="7")
    response = manager.post(
        reverse("customers:customer-remove", args=[seven.pk]), {"keep_out": "on"}, follow=True
    )
    assert "Customer 7 removed with 2 lines. Later imports leave the id out." in (
        response.content.decode()
    )
    kept = KeptOutCustomer.unscoped.get()
    assert (kept.external_id, kept.removed_by.get_username()) == ("7", "manager-user")

    # the shop's next full export holds customer 7's purchases again, and a new one
    again = import_lines(
        tmp_path,
        "full.csv",
        "103,P1,MUG,1,2024-02-10 10:00:00,3.00,7,Spain\n"
        "301,P1,MUG,1,2024-04-01 10:00:00,3.00, 7 ,Spain\n"
        "302,P1,MUG,1,2024-04-02 10:00:00,3.00,8,Spain\n",
    )
    assert (again.rows_read, again.rows_imported, again.rows_skipped) == (3, 1, 2)
    assert again.counts_by_reason["skipped_kept_out_customer"] == 2
    assert again.rows_without_customer == 0 and again.warnings == []
    assert not Customer.unscoped.filter(external_id="7").exists()
    page = manager.get(again.get_absolute_url()).content.decode()
    assert "Skipped: customer the shop keeps out of imports" in page

    listed = manager.get(reverse("customers:kept-out")).content.decode()
    assert '<td class="mono">7</td>' in listed and "manager-user" in listed
    response = manager.post(reverse("customers:kept-out"), {"pk": kept.pk}, follow=True)
    assert "Customer 7 let back in" in response.content.decode()
    assert not KeptOutCustomer.unscoped.exists()
    entry = AuditEntry.unscoped.get(action=AuditEntry.Action.CUSTOMER_LET_BACK_IN)
    assert (entry.target_repr, entry.actor_name) == ("7", "manager-user")

    back = import_lines(tmp_path, "later.csv", "401,P1,MUG,1,2024-05-01 10:00:00,3.00,7,Spain\n")
    assert (back.rows_imported, back.rows_skipped) == (1, 0)
    assert Customer.unscoped.filter(external_id="7").exists()
    # the same bytes as the file that skipped them: read again, not "already imported"
    full_again = import_lines(
        tmp_path,
        "full.csv",
        "103,P1,MUG,1,2024-02-10 10:00:00,3.00,7,Spain\n"
        "301,P1,MUG,1,2024-04-01 10:00:00,3.00, 7 ,Spain\n"
        "302,P1,MUG,1,2024-04-02 10:00:00,3.00,8,Spain\n",
    )
    assert (full_again.rows_imported, full_again.rows_skipped) == (2, 0)
    assert {"103", "301", "401"} <= invoices()


def test_unticked_the_customer_comes_back_with_the_next_file(stored_guest, client_for, tmp_path):
    seven = Customer.unscoped.get(external_id="7")
    client_for("manager").post(reverse("customers:customer-remove", args=[seven.pk]))
    assert not KeptOutCustomer.unscoped.exists()
    again = import_lines(tmp_path, "full.csv", "301,P1,MUG,1,2024-04-01 10:00:00,3.00,7,Spain\n")
    assert again.rows_imported == 1 and Customer.unscoped.filter(external_id="7").exists()


def test_an_e_mail_id_is_kept_out_by_its_pseudonym(db, client_for, tmp_path):
    first = import_lines(
        tmp_path, "a.csv", "1,P1,MUG,1,2024-01-05 10:00:00,3.00,ann@example.com,UK\n"
    )
    assert first.rows_imported == 1
    ann = Customer.unscoped.get()
    assert ann.external_id != "ann@example.com"  # stored as its pseudonym
    api = client_for("manager")
    assert api.delete(reverse("api-customer", args=[ann.external_id])).status_code == 200
    later = import_lines(
        tmp_path,
        "b.csv",
        "2,P1,MUG,1,2024-02-05 10:00:00,3.00, Ann@Example.com,UK\n"
        "3,P1,MUG,1,2024-02-05 10:00:00,3.00,bo@example.com,UK\n",
    )
    assert (later.rows_imported, later.counts_by_reason["skipped_kept_out_customer"]) == (1, 1)
    assert Customer.unscoped.count() == 1 and Customer.unscoped.get().external_id != (
        ann.external_id
    )


def test_the_transactions_api_counts_skipped_lines_instead_of_refusing_them(
    stored_guest, client_for
):
    from tests.api.test_endpoints import LINES

    api = client_for("manager")
    assert api.delete(reverse("api-customer", args=["7"])).status_code == 200
    lines = [
        dict(LINES[0], customer_id="7"),
        dict(LINES[0], customer_id="Guest", invoice="910002"),
        dict(LINES[0], customer_id="api-new-9", invoice="910003"),
    ]
    answer = api.post("/api/v1/transactions/", {"lines": lines}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["lines_received"], body["lines_imported"], body["lines_skipped"]) == (3, 1, 2)
    record = ImportRecord.unscoped.get(pk=body["import_id"])
    assert record.rows_skipped == 2
    assert record.counts_by_reason == {
        "skipped_kept_out_customer": 1,
        "skipped_placeholder_customer_id": 1,
    }
    assert TransactionLine.unscoped.filter(customer__external_id="api-new-9").exists()
    assert not Customer.unscoped.filter(external_id="7").exists()


def test_the_api_can_remove_without_keeping_out_and_refuses_a_bad_flag(stored_guest, client_for):
    api = client_for("manager")
    url = reverse("api-customer", args=["7"])
    bad = api.delete(url + "?keep_out=maybe")
    assert bad.status_code == 400 and "keep_out" in bad.json()["fields"]
    assert Customer.unscoped.filter(external_id="7").exists()
    assert api.delete(url + "?keep_out=false").status_code == 200
    assert not KeptOutCustomer.unscoped.exists()


def test_letting_back_in_is_for_managers_of_the_shop(stored_guest, client_for, other_shop):
    theirs = KeptOutCustomer.objects.create(workspace=other_shop, external_id="7")
    ours = KeptOutCustomer.objects.create(workspace=shops.test_shop(), external_id="7")
    marketing = client_for("marketing")
    assert marketing.get(reverse("customers:kept-out")).status_code == 403
    assert marketing.post(reverse("customers:kept-out"), {"pk": ours.pk}).status_code == 403
    manager = client_for("manager")
    listed = manager.get(reverse("customers:kept-out")).content.decode()
    assert listed.count('name="pk"') == 1 and f'value="{ours.pk}"' in listed
    response = manager.post(reverse("customers:kept-out"), {"pk": theirs.pk}, follow=True)
    assert "already let back in" in response.content.decode()
    assert KeptOutCustomer.unscoped.count() == 2


def test_the_api_lists_the_kept_out_and_lets_one_back_in(stored_guest, client_for, other_shop):
    KeptOutCustomer.objects.create(workspace=other_shop, external_id="8")
    manager = client_for("manager")
    assert manager.delete(reverse("api-customer", args=["7"])).status_code == 200
    listed = manager.get(reverse("api-kept-out-customers"))
    assert listed.status_code == 200
    assert [(k["customer_id"], k["removed_by"]) for k in listed.json()["results"]] == [
        ("7", "manager-user")
    ]
    # another shop's kept-out id is not found here, and stays there
    assert manager.delete(reverse("api-kept-out-customer", args=["8"])).status_code == 404
    answer = manager.delete(reverse("api-kept-out-customer", args=["7"]))
    assert answer.status_code == 204
    assert list(KeptOutCustomer.unscoped.values_list("external_id", flat=True)) == ["8"]
    assert AuditEntry.unscoped.filter(action=AuditEntry.Action.CUSTOMER_LET_BACK_IN).count() == 1
    gone = manager.delete(reverse("api-kept-out-customer", args=["7"]))
    assert gone.status_code == 404 and gone.json()["status"] == 404


def test_marketing_may_not_read_or_change_the_kept_out(stored_guest, client_for):
    KeptOutCustomer.objects.create(workspace=shops.test_shop(), external_id="7")
    marketing = client_for("marketing")
    assert marketing.get(reverse("api-kept-out-customers")).status_code == 403
    assert marketing.delete(reverse("api-kept-out-customer", args=["7"])).status_code == 403
    assert KeptOutCustomer.unscoped.count() == 1


def test_the_kept_out_page_is_paged(db, client_for, monkeypatch):
    from customers import views

    monkeypatch.setattr(views, "KEPT_OUT_PER_PAGE", 2)
    for i in range(3):
        KeptOutCustomer.objects.create(workspace=shops.test_shop(), external_id=f"c{i}")
    manager = client_for("manager")
    first = manager.get(reverse("customers:kept-out")).content.decode()
    assert "Page 1 of 2 (3 customers)" in first and first.count('name="pk"') == 2
    second = manager.get(reverse("customers:kept-out") + "?page=2").content.decode()
    assert second.count('name="pk"') == 1 and '<td class="mono">c0</td>' in second


def test_the_lookup_says_a_customer_was_removed_and_kept_out(db, client_for, tmp_path):
    import_text(
        tmp_path,
        "a.csv",
        HEADER + "1,P1,MUG,1,2024-01-05 10:00:00,3.00,ann@example.com,UK\n"
        "2,P1,MUG,1,2024-01-06 10:00:00,3.00,17850,UK\n",
    )
    ann = Customer.unscoped.get(external_id__startswith="e-")
    manager = client_for("manager")
    for external_id in (ann.external_id, "17850"):
        assert manager.delete(reverse("api-customer", args=[external_id])).status_code == 200
    lookup = reverse("customer-lookup")
    # a person asking whether they were forgotten gives their e-mail; the shop its id
    for searched in ("Ann@Example.com", "17850"):
        page = manager.get(lookup, {"customer_id": searched})
        assert page.status_code == 404
        text = page.content.decode()
        assert f"Customer “{searched}” was removed with all their lines" in text, searched
        assert "by manager-user, and imports keep them out" in text
    unknown = manager.get(lookup, {"customer_id": "99999"}).content.decode()
    assert 'data-role="kept-out"' not in unknown and "No customer with id “99999”" in unknown


def test_the_api_says_a_customer_was_removed_rather_than_unknown(stored_guest, client_for):
    manager = client_for("manager")
    assert manager.delete(reverse("api-customer", args=["7"])).status_code == 200
    gone = manager.get(reverse("api-customer", args=["7"]))
    assert gone.status_code == 404
    body = gone.json()
    assert (body["code"], body["fields"]) == ("customer_removed", {})
    assert body["detail"].startswith("Customer 7 was removed on ")
    assert body["detail"].endswith(" and is kept out of imports.")
    unknown = manager.get(reverse("api-customer", args=["99999"])).json()
    assert unknown["code"] == "not_found"


def test_a_file_read_while_its_customer_was_removed_is_refused_whole(
    stored_guest, make_user, tmp_path, monkeypatch
):
    from customers.importing import import_pass

    manager = make_user("manager")
    seven = Customer.unscoped.get(external_id="7")
    read = import_pass._read_into

    def read_then_remove(*args, **kwargs):
        read(*args, **kwargs)  # the file is read with 7 not yet kept out...
        customer_remove(
            workspace=shops.test_shop(), customer_pk=seven.pk, user=manager, keep_out=True
        )

    monkeypatch.setattr(import_pass, "_read_into", read_then_remove)
    path = tmp_path / "daily.csv"
    path.write_text(
        HEADER + "501,P1,MUG,1,2024-06-01 10:00:00,3.00,7,Spain\n"
        "502,P1,MUG,1,2024-06-01 10:00:00,3.00,8,Spain\n"
    )
    record = import_path(path)
    assert record.status == ImportRecord.Status.FAILED
    assert "a manager kept customer “7” out of imports (removed them" in record.error
    assert not Customer.unscoped.filter(external_id="7").exists()
    assert not TransactionLine.unscoped.filter(import_record_id=record.pk).exists()


def test_lines_sent_while_their_customer_was_removed_are_refused_whole(
    stored_guest, client_for, monkeypatch
):
    from customers import json_lines
    from tests.api.test_endpoints import LINES

    manager = client_for("manager")
    assert manager.delete(reverse("api-customer", args=["7"])).status_code == 200
    # the request read the list before the removal committed: 7 was not kept out yet
    monkeypatch.setattr(json_lines, "kept_out_customer_ids", lambda workspace: frozenset())
    lines = [
        dict(LINES[0], customer_id="7"),
        dict(LINES[0], customer_id="api-new-9", invoice="910003"),
    ]
    answer = manager.post(
        "/api/v1/transactions/", {"lines": lines}, content_type="application/json"
    )
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == "conflict"
    assert "a manager kept customer 7 out of imports. Nothing was stored" in body["detail"]
    assert not Customer.unscoped.filter(external_id__in=["7", "api-new-9"]).exists()
    assert not ImportRecord.unscoped.filter(file_name="API: 2 lines").exists()
