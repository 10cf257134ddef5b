"""Erasing a customer's contact details on a person's request: the e-mail and name go from
the pages, exports and API, the customer and purchases stay, the audit log says who did it
without the details, and a later import carrying them does not bring them back."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from customers.models import Customer, TransactionLine

from .conftest import import_path
from .test_contact_fields import with_contacts

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,"
LATER = (
    HEADER + "Email,Customer Name\n"
    "900001,85123A,HEART,1,2011-12-01 10:00:00,2.55,17850,United Kingdom,back@example.com,Ann\n"
    "900002,85123A,HEART,1,2011-12-01 11:00:00,2.55,{other},United Kingdom,later@example.com,Bo\n"
)


def test_a_manager_erases_a_customers_contact_and_imports_do_not_bring_it_back(
    tmp_path, make_user, shop
):
    path, other_id = with_contacts(tmp_path)
    assert import_path(path).status == "succeeded"
    customer = Customer.objects.in_workspace(shop).get(external_id="17850")
    assert customer.email == "new@example.com"
    lines = TransactionLine.objects.in_workspace(shop).filter(customer=customer).count()
    manager = Client()
    manager.force_login(make_user("manager"))
    url = reverse("customers:customer-erase-contact", args=[customer.pk])
    lookup = f"{reverse('customer-lookup')}?customer_id=17850"
    page = manager.get(lookup).content.decode()
    assert "new@example.com" in page and f'{url}"' in page  # (with the workspace's prefix)

    # asking shows what would go and changes nothing
    confirm = manager.get(url)
    assert confirm.status_code == 200 and "new@example.com" in confirm.content.decode()
    assert "deleted 30 days after their import finished" in confirm.content.decode()
    customer.refresh_from_db()
    assert customer.email == "new@example.com" and customer.contact_erased_at is None

    response = manager.post(url)
    assert response.status_code == 302 and response["Location"].endswith(lookup)
    customer.refresh_from_db()
    assert (customer.email, customer.name) == ("", "")
    assert customer.contact_erased_at is not None
    # the customer and purchases stay
    assert TransactionLine.objects.in_workspace(shop).filter(customer=customer).count() == lines
    entry = AuditEntry.objects.in_workspace(shop).get(action="contact_erased")
    assert entry.target_id == str(customer.pk) and entry.details == {"had_contact": True}
    assert "example.com" not in str(entry.details) + entry.target_repr
    page = manager.get(lookup).content.decode()
    assert "new@example.com" not in page and 'data-role="contact-erased"' in page

    # a later file with the customer's e-mail: theirs stays erased, another's is updated
    later = tmp_path / "later.csv"
    later.write_text(LATER.format(other=other_id))
    assert import_path(later).status == "succeeded"
    customer.refresh_from_db()
    assert (customer.email, customer.name) == ("", "")
    other = Customer.objects.in_workspace(shop).get(external_id=other_id)
    assert (other.email, other.name) == ("later@example.com", "Bo")
    assert TransactionLine.objects.in_workspace(shop).filter(customer=customer).count() == (
        lines + 1
    )


def test_only_those_who_see_personal_data_erase_it(tmp_path, make_user, shop):
    path, _ = with_contacts(tmp_path)
    assert import_path(path).status == "succeeded"
    customer = Customer.objects.in_workspace(shop).get(external_id="17850")
    url = reverse("customers:customer-erase-contact", args=[customer.pk])
    marketing = Client()
    marketing.force_login(make_user("marketing"))
    assert marketing.get(url).status_code == 403
    assert marketing.post(url).status_code == 403
    lookup = marketing.get(f"{reverse('customer-lookup')}?customer_id=17850").content.decode()
    assert "erase-contact" not in lookup
    customer.refresh_from_db()
    assert customer.email == "new@example.com"
    assert not AuditEntry.objects.in_workspace(shop).filter(action="contact_erased").exists()
    admin = Client()
    admin.force_login(make_user("admin"))
    assert admin.post(url).status_code == 302
    customer.refresh_from_db()
    assert customer.email == ""


def test_the_api_erases_a_customers_contact_for_those_who_see_personal_data(
    tmp_path, token_client, shop
):
    path, _ = with_contacts(tmp_path)
    assert import_path(path).status == "succeeded"

    url = "/api/v1/customers/17850/erase-contact/"
    assert token_client("marketing").post(url).status_code == 403
    assert token_client("manager", read_only=True).post(url).status_code == 403
    manager = token_client("manager")
    before = manager.get("/api/v1/customers/17850/").json()["contact"]
    assert before == {"email": "new@example.com", "name": "Customer 17850", "erased_at": None}

    response = manager.post(url)
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["name"]) == ("", "") and body["erased_at"]
    assert manager.get("/api/v1/customers/17850/").json()["contact"] == body
    assert manager.post("/api/v1/customers/no-such-id/erase-contact/").status_code == 404
    assert AuditEntry.objects.in_workspace(shop).filter(action="contact_erased").count() == 1


def test_back_to_the_lookup_of_a_customer_id_that_needs_encoding(make_user, shop):
    customer = Customer.objects.create(
        workspace=shop, external_id="A&B 7", email="ab@example.com", name="A B"
    )
    admin = Client()
    admin.force_login(make_user("admin"))
    response = admin.post(reverse("customers:customer-erase-contact", args=[customer.pk]))
    assert response["Location"].endswith("?customer_id=A%26B+7")
    page = admin.get(response["Location"]).content.decode()
    assert "Customer A&amp;B 7" in page and 'data-role="contact-erased"' in page
