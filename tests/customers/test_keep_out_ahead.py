"""Managers keep out customer ids no import has stored yet (a test account about to be
used, a person who asked not to be recorded), by page and API: later imports skip their
rows as they skip a removed customer's. All are listed or none: a stored customer is
removed instead, a placeholder is skipped anyway."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from customers.kept_out import KeepOutRefused, customers_keep_out_ahead
from customers.models import Customer, ImportRecord, KeptOutCustomer, TransactionLine
from tests import shops
from transaction_files.pseudonyms import pseudonym

from .conftest import import_path
from .test_customer_removal import HEADER, import_lines

pytestmark = pytest.mark.django_db


def kept_out() -> dict[str, str]:
    return dict(KeptOutCustomer.unscoped.values_list("external_id", "source"))


def test_listed_ids_are_skipped_by_later_imports_as_the_import_stores_them(db, make_user, tmp_path):
    shop = shops.test_shop()
    manager = make_user("manager")
    done = customers_keep_out_ahead(
        workspace=shop, ids=["TEST-1", " Ann@Example.com ", "17850.0", "TEST-1"], user=manager
    )
    ann = pseudonym("ann@example.com", shop.pseudonym_key)
    assert sorted(done.listed) == sorted(["TEST-1", ann, "17850"])
    assert (done.already, done.emails) == ([], 1)
    assert kept_out() == {"TEST-1": "listed", ann: "listed", "17850": "listed"}
    entry = AuditEntry.unscoped.get(action=AuditEntry.Action.CUSTOMERS_KEPT_OUT)
    assert sorted(entry.details["customer_ids"]) == sorted(done.listed)
    assert "ann@example.com" not in str(entry.details).lower()  # no address in the log

    record = import_lines(
        tmp_path,
        "daily.csv",
        "1,P1,MUG,1,2024-01-05 10:00:00,3.00,TEST-1,UK\n"
        "2,P1,MUG,1,2024-01-05 10:00:00,3.00,ann@example.com,UK\n"
        "3,P1,MUG,1,2024-01-05 10:00:00,3.00,17850,UK\n"
        "4,P1,MUG,2,2024-01-06 10:00:00,3.00,12347,UK\n",
    )
    assert record.rows_imported == 1
    assert record.counts_by_reason["skipped_kept_out_customer"] == 3
    assert list(Customer.unscoped.values_list("external_id", flat=True)) == ["12347"]
    page = Client()
    page.force_login(manager)
    shown = page.get(record.get_absolute_url()).content.decode()
    assert "3 rows skipped: their customers are kept out of this shop's imports" in shown
    assert f'{reverse("customers:kept-out")}">customers kept out</a>' in shown


def test_ids_already_kept_out_are_counted_not_listed_twice(db, make_user):
    shop = shops.test_shop()
    manager = make_user("manager")
    customers_keep_out_ahead(workspace=shop, ids=["TEST-1"], user=manager)
    done = customers_keep_out_ahead(workspace=shop, ids=["TEST-1", "TEST-2"], user=manager)
    assert (done.listed, done.already) == (["TEST-2"], ["TEST-1"])
    assert KeptOutCustomer.unscoped.count() == 2
    assert AuditEntry.unscoped.filter(action=AuditEntry.Action.CUSTOMERS_KEPT_OUT).count() == 2


def test_a_stored_customer_a_placeholder_or_a_long_id_refuses_the_whole_list(
    db, make_user, tmp_path
):
    import_lines(tmp_path, "a.csv", "1,P1,MUG,1,2024-01-05 10:00:00,3.00,12347,UK\n")
    with pytest.raises(KeepOutRefused) as refused:
        customers_keep_out_ahead(
            workspace=shops.test_shop(),
            ids=["TEST-1", "Guest", "12347", "x" * 65],
            user=make_user("manager"),
        )
    problems = refused.value.problems
    assert problems[0] == "“Guest” stands for no customer: imports skip its rows already."
    assert problems[1].startswith("“xxxxxxxxxxxxxxxxxxxx…” is longer than a customer id may be")
    assert problems[2] == (
        "Customer 12347 is stored, with 1 line: remove the customer to keep them out."
    )
    assert [c.external_id for c in refused.value.stored] == ["12347"]
    assert not KeptOutCustomer.unscoped.exists()
    assert not AuditEntry.unscoped.filter(action=AuditEntry.Action.CUSTOMERS_KEPT_OUT).exists()


def test_a_kept_placeholder_may_be_kept_out(db, make_user):
    shop = shops.test_shop()
    shop.customer_ids_kept = "0"
    shop.save(update_fields=["customer_ids_kept"])
    done = customers_keep_out_ahead(workspace=shop, ids=["0"], user=make_user("manager"))
    assert done.listed == ["0"]


def test_too_many_or_no_ids_are_refused(db, make_user, monkeypatch):
    from customers import kept_out as module

    monkeypatch.setattr(module, "KEEP_OUT_AT_ONCE", 2)
    with pytest.raises(KeepOutRefused, match="3 ids given; list at most 2 at a time"):
        customers_keep_out_ahead(
            workspace=shops.test_shop(), ids=["a", "b", "c"], user=make_user("manager")
        )
    with pytest.raises(KeepOutRefused, match="Give at least one customer id"):
        customers_keep_out_ahead(workspace=shops.test_shop(), ids=[" ", ""], user=None)
    assert not KeptOutCustomer.unscoped.exists()


def test_the_page_lists_pasted_ids_and_shows_how_each_was_kept_out(db, client_for, tmp_path):
    import_lines(tmp_path, "a.csv", "1,P1,MUG,1,2024-01-05 10:00:00,3.00,7,UK\n")
    manager = client_for("manager")
    assert manager.delete(reverse("api-customer", args=["7"])).status_code == 200
    page = manager.post(
        reverse("customers:kept-out"),
        {"customer_ids": "TEST-1, TEST-2\nann@example.com\n7"},
        follow=True,
    )
    text = page.content.decode()
    assert (
        "3 customer ids kept out of later imports (1 already were). The e-mail address "
        "given is kept as its pseudonym, shown as e-…" in text
    )
    assert text.count("Listed before any line of theirs was stored") == 3
    assert text.count("Removed with their lines") == 1
    assert '<td class="mono">TEST-2</td>' in text


def test_the_page_refuses_a_stored_customer_and_links_to_the_removal(db, client_for, tmp_path):
    import_lines(tmp_path, "a.csv", "1,P1,MUG,1,2024-01-05 10:00:00,3.00,12347,UK\n")
    customer = Customer.unscoped.get()
    page = client_for("manager").post(
        reverse("customers:kept-out"), {"customer_ids": "TEST-1\n12347\nGuest"}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "Customer 12347 is stored, with 1 line: remove the customer" in text
    assert "“Guest” stands for no customer" in text
    removal = reverse("customers:customer-remove", args=[customer.pk])
    assert f'{removal}">Remove customer 12347…</a>' in text
    assert "TEST-1\n12347\nGuest</textarea>" in text  # the pasted list is kept to mend
    assert not KeptOutCustomer.unscoped.exists()


def test_marketing_may_not_keep_ids_out(db, client_for):
    marketing = client_for("marketing")
    answer = marketing.post(reverse("customers:kept-out"), {"customer_ids": "TEST-1"})
    assert answer.status_code == 403
    api = marketing.post(
        reverse("api-kept-out-customers"),
        {"customer_ids": ["TEST-1"]},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert not KeptOutCustomer.unscoped.exists()


def test_the_api_keeps_ids_out_and_names_each_refusal(db, client_for, tmp_path, other_shop):
    import_lines(tmp_path, "a.csv", "1,P1,MUG,1,2024-01-05 10:00:00,3.00,12347,UK\n")
    KeptOutCustomer.objects.create(workspace=other_shop, external_id="TEST-2")
    KeptOutCustomer.objects.create(workspace=other_shop, external_id="TEST-9")
    api = client_for("manager")
    url = reverse("api-kept-out-customers")
    first = api.post(url, {"customer_ids": ["TEST-1"]}, content_type="application/json")
    assert first.status_code == 201, first.content
    assert first.json() == {"kept_out": ["TEST-1"], "already_kept_out": []}
    # another shop's list is its own
    second = api.post(url, {"customer_ids": ["TEST-1", "TEST-2"]}, content_type="application/json")
    assert second.json() == {"kept_out": ["TEST-2"], "already_kept_out": ["TEST-1"]}
    refused = api.post(url, {"customer_ids": ["12347", "TEST-3"]}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["fields"] == {
        "customer_ids": [
            "Customer 12347 is stored, with 1 line: remove the customer to keep them out."
        ]
    }
    one = api.get(reverse("api-kept-out-customer", args=["TEST-1"]))
    assert (one.status_code, one.json()["customer_id"], one.json()["source"]) == (
        200, "TEST-1", "listed"
    )  # fmt: skip
    # not kept out here (another shop keeps TEST-9 out), or not at all
    for absent in ("TEST-9", "nobody"):
        assert api.get(reverse("api-kept-out-customer", args=[absent])).status_code == 404
    for bad in ({"customer_ids": []}, {"customer_ids": [7]}, {}):
        assert api.post(url, bad, content_type="application/json").status_code == 400, bad
    listed = api.get(url).json()["results"]
    assert {(k["customer_id"], k["source"]) for k in listed} == {
        ("TEST-1", "listed"),
        ("TEST-2", "listed"),
    }
    assert KeptOutCustomer.unscoped.filter(workspace=other_shop).count() == 2


def test_the_lookup_and_the_api_say_an_id_is_kept_out_before_any_line(db, client_for, make_user):
    customers_keep_out_ahead(workspace=shops.test_shop(), ids=["TEST-1"], user=None)
    manager = client_for("manager")
    page = manager.get(reverse("customer-lookup"), {"customer_id": "TEST-1"})
    assert page.status_code == 404
    assert "Customer “TEST-1” is kept out of imports: listed on " in page.content.decode()
    assert "before any line of theirs was stored" in page.content.decode()
    answer = manager.get(reverse("api-customer", args=["TEST-1"])).json()
    assert answer["code"] == "customer_kept_out"
    assert answer["detail"].startswith("Customer TEST-1 is kept out of imports since ")


def test_a_file_read_while_its_customer_was_listed_is_refused_whole(
    db, make_user, tmp_path, monkeypatch
):
    from customers.importing import import_pass

    manager = make_user("manager")
    read = import_pass._read_into

    def read_then_list(*args, **kwargs):
        read(*args, **kwargs)  # the file is read with TEST-1 not yet kept out...
        customers_keep_out_ahead(workspace=shops.test_shop(), ids=["TEST-1"], user=manager)

    monkeypatch.setattr(import_pass, "_read_into", read_then_list)
    path = tmp_path / "daily.csv"
    path.write_text(
        HEADER + "501,P1,MUG,1,2024-06-01 10:00:00,3.00,TEST-1,Spain\n"
        "502,P1,MUG,1,2024-06-01 10:00:00,3.00,8,Spain\n"
    )
    record = import_path(path)
    assert record.status == ImportRecord.Status.FAILED
    assert "a manager kept customer “TEST-1” out of imports" in record.error
    assert not TransactionLine.unscoped.filter(import_record_id=record.pk).exists()


def test_the_list_is_found_by_id_or_e_mail_and_downloads_as_csv(
    db, client_for, make_user, other_shop
):
    shop = shops.test_shop()
    customers_keep_out_ahead(
        workspace=shop, ids=["TEST-1", "TEST-2", "OTHER", "ann@example.com"], user=None
    )
    KeptOutCustomer.objects.create(workspace=other_shop, external_id="TEST-9")
    ann = pseudonym("ann@example.com", shop.pseudonym_key)
    manager = client_for("manager")
    page = reverse("customers:kept-out")

    def listed(query: dict) -> list[str]:
        html = manager.get(page, query).content.decode()
        return re.findall(r'<td class="mono">([^<]+)</td>', html)

    assert sorted(listed({"q": "TEST"})) == ["TEST-1", "TEST-2"]
    assert listed({"q": " Ann@Example.com "}) == [ann]
    assert len(listed({})) == 4
    nothing = manager.get(page, {"q": "bob@example.com"}).content.decode()
    assert "nor is that e-mail address kept out" in nothing

    def downloaded(query: dict) -> list[list[str]]:
        answer = manager.get(reverse("customers:kept-out-csv"), query)
        assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
        text = b"".join(answer.streaming_content).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))

    whole = downloaded({})
    assert whole[0] == ["customer_id", "kept_out_since", "kept_out_by", "how"]
    assert sorted(row[0] for row in whole[1:]) == sorted(["TEST-1", "TEST-2", "OTHER", ann])
    assert {row[3] for row in whole[1:]} == {"listed"}
    assert sorted(row[0] for row in downloaded({"q": "TEST"})[1:]) == ["TEST-1", "TEST-2"]


def test_marketing_may_not_download_the_list(db, client_for):
    answer = client_for("marketing").get(reverse("customers:kept-out-csv"))
    assert answer.status_code == 403
