"""Finding a person by e-mail: someone asking to be forgotten gives their e-mail, not the
shop's customer id. Those who see personal data find the customers with it (case aside, one
person may be several customers) on the lookup page and with the API's `email` filter; others
are refused without learning whether the address is known."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from customers.selectors import customers_known_by_emails, customers_with_emails

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(shop, other_shop):
    made = {
        "1001": "ann@example.com",
        "1002": "Ann@Example.com",  # the same person, a second account
        "1003": "bo@example.com",
        "1004": "",  # erased, or never had one
        "x@y.org": "",  # a shop whose ids look like addresses
    }
    for external_id, email in made.items():
        Customer.objects.create(workspace=shop, external_id=external_id, email=email)
    Customer.objects.create(workspace=other_shop, external_id="9", email="bo@example.com")
    return made


def lookup(client, text):
    return client.get(reverse("customer-lookup"), {"customer_id": text})


def logged_in(make_user, role):
    client = Client()
    client.force_login(make_user(role))
    return client


def test_the_selector_matches_case_aside_within_the_workspace(people, shop, other_shop):
    found = customers_with_emails(workspace=shop, emails=[" ANN@example.COM "])
    assert list(found.values_list("external_id", flat=True)) == ["1001", "1002"]
    assert list(
        customers_with_emails(workspace=other_shop, emails=["bo@example.com"]).values_list(
            "external_id", flat=True
        )
    ) == ["9"]
    assert not customers_with_emails(workspace=shop, emails=[""]).exists()  # the erased stay hidden
    assert not customers_with_emails(workspace=shop, emails=["a\x00b", "  "]).exists()
    several = customers_with_emails(workspace=shop, emails=["ann@example.com", "BO@example.com"])
    assert list(several.values_list("external_id", flat=True)) == ["1001", "1002", "1003"]


def test_a_manager_finds_one_customer_by_e_mail(people, make_user):
    manager = logged_in(make_user, "manager")
    page = lookup(manager, "BO@example.com")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Customer 1003" in html and "bo@example.com" in html
    assert "Customer id or e-mail" in html


def test_several_customers_with_one_e_mail_are_listed_with_links(people, make_user):
    page = lookup(logged_in(make_user, "admin"), "ann@example.com")
    html = page.content.decode()
    assert page.status_code == 200
    assert "2 customers with the e-mail" in html
    matches = html.split('data-role="email-matches"')[1].split("</ul>")[0]
    assert "?customer_id=1001" in matches and "?customer_id=1002" in matches
    assert "1003" not in matches


def test_an_unknown_or_erased_address_says_so(people, make_user):
    manager = logged_in(make_user, "manager")
    page = lookup(manager, "nobody@example.com")
    assert page.status_code == 404
    assert "No customer with id or e-mail" in page.content.decode()
    # another workspace's customer is not found either
    assert lookup(manager, "bo@example.com").content.decode().count("Customer 9") == 0


def test_an_id_is_tried_before_an_e_mail(people, make_user):
    page = lookup(logged_in(make_user, "marketing"), "x@y.org")
    assert page.status_code == 200 and "Customer x@y.org" in page.content.decode()


def test_without_personal_data_the_search_by_e_mail_is_refused_alike(people, make_user):
    marketing = logged_in(make_user, "marketing")
    known, unknown = lookup(marketing, "ann@example.com"), lookup(marketing, "no@example.com")
    for page in (known, unknown):
        assert page.status_code == 403
        assert 'data-role="email-refused"' in page.content.decode()
    assert "Customer 1001" not in known.content.decode()
    assert "Customer id or e-mail" not in known.content.decode()


def test_the_api_filters_by_e_mail_for_those_who_see_personal_data(people, token_client):
    url = "/api/v1/customers/?email=ANN%40example.com"
    for client in (token_client("manager"), token_client("admin", read_only=True)):
        body = client.get(url).json()
        assert [c["customer_id"] for c in body["results"]] == ["1001", "1002"]
        assert body["count"] == 2  # counted, not the workspace's cached total
    assert token_client("manager").get(url.replace("ANN", "nobody")).json()["count"] == 0
    refused = token_client("marketing").get(url)
    assert refused.status_code == 403
    assert "personal data" in refused.json()["detail"]
    # without the filter, marketing still lists customers
    assert token_client("marketing", read_only=True).get("/api/v1/customers/").status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_the_search_reads_the_e_mail_index(people, shop):
    # a shop of a few thousand customers, analysed: on five rows any index (or none) will do
    Customer.objects.bulk_create(
        Customer(workspace=shop, external_id=f"c{i}", email=f"c{i}@example.com")
        for i in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")
    plan = customers_with_emails(workspace=shop, emails=["ann@example.com"]).explain()
    assert "customer_email_ci" in plan, plan
    # with the addresses' pseudonyms: the e-mail index and the id's, no scan of the shop
    known = customers_known_by_emails(workspace=shop, emails=["ann@example.com"]).explain()
    assert "customer_email_ci" in known and "Seq Scan" not in known, known


def test_every_customer_with_the_e_mail_is_erased_from_the_list(people, make_user, shop):
    manager = logged_in(make_user, "manager")
    listed = lookup(manager, "ann@example.com").content.decode()
    url = reverse("customers:customers-erase-contact")
    assert f'action="{url}"' in listed.replace(f"/w/{shop.slug}", "")
    assert "Erase the e-mail and name of these 2 customers" in listed
    response = manager.post(url, {"emails": "ann@example.com"}, follow=True)
    assert "2 customer(s) erased (1001, 1002)" in response.content.decode()
    erased = Customer.objects.in_workspace(shop).filter(external_id__in=["1001", "1002"])
    assert all(c.email == "" and c.contact_erased_at for c in erased)
    assert Customer.objects.in_workspace(shop).get(external_id="1003").email == "bo@example.com"
    assert lookup(manager, "ann@example.com").status_code == 404  # nobody holds it now
    again = manager.post(url, {"emails": "ann@example.com"}, follow=True).content.decode()
    assert "No customer has or holds: ann@example.com." in again


def test_marketing_cannot_erase_by_e_mail(people, make_user, shop):
    url = reverse("customers:customers-erase-contact")
    marketing = logged_in(make_user, "marketing")
    assert marketing.get(url).status_code == 403
    assert marketing.post(url, {"emails": "ann@example.com"}).status_code == 403
    assert Customer.objects.in_workspace(shop).get(external_id="1001").email == "ann@example.com"


def test_a_pasted_list_of_ids_and_e_mails_is_erased_and_the_unknown_named(people, make_user, shop):
    manager = logged_in(make_user, "manager")
    url = reverse("customers:customers-erase-contact")
    form = manager.get(url)
    assert form.status_code == 200 and "Customer ids" in form.content.decode()
    assert url in lookup(manager, "1003").content.decode()  # linked from the lookup
    page = manager.post(
        url,
        {"customer_ids": "1003\n\n nope \n", "emails": "ANN@example.com\nno@x.org"},
        follow=True,
    ).content.decode()
    assert "3 customer(s) erased (1001, 1002, 1003)" in page
    assert "No customer has or holds: nope, no@x.org." in page
    left = {c.external_id: c.email for c in Customer.objects.in_workspace(shop)}
    assert left["1001"] == left["1002"] == left["1003"] == ""
    assert left["1004"] == ""  # had none: untouched either way


@pytest.mark.parametrize(
    "data, words",
    [
        ({}, "Paste at least one customer id or e-mail."),
        ({"customer_ids": "1001\n" + "x" * 65}, "Line 2: longer than 64 characters"),
        ({"emails": "\n".join(f"p{i}@x.org" for i in range(1001))}, "at most 1,000 at once"),
    ],
)
def test_a_bad_list_is_refused_naming_the_line_and_erases_nothing(
    people, make_user, shop, data, words
):
    before = {c.external_id: c.email for c in Customer.objects.in_workspace(shop)}
    page = logged_in(make_user, "manager").post(reverse("customers:customers-erase-contact"), data)
    assert page.status_code == 200 and words in page.content.decode()
    assert {c.external_id: c.email for c in Customer.objects.in_workspace(shop)} == before


def test_customers_named_by_their_e_mail_are_found_by_it_until_erased(shop, make_user):
    """A file that named customers by e-mail stored its pseudonym as the id and, if not
    mapped, no e-mail: the lookup, the API's filter and the bulk erasure find them by the
    address all the same; once their contact details are erased, the address finds no one."""
    from customers.erasure import customers_contact_erase
    from customers.selectors import customer_ids_for_email
    from transaction_files.pseudonyms import pseudonym

    alias = pseudonym("cy@example.net", shop.pseudonym_key)
    Customer.objects.create(workspace=shop, external_id=alias)
    assert customer_ids_for_email(workspace=shop, email="CY@example.net") == [alias]

    manager = logged_in(make_user, "manager")
    page = lookup(manager, "cy@example.net")
    assert page.status_code == 200 and f"Customer {alias}" in page.content.decode()

    done = customers_contact_erase(
        workspace=shop, emails=["cy@example.net"], user=make_user("admin")
    )
    assert [customer_id for customer_id, _ in done.erased] == [alias]
    assert done.emails_not_found == []
    assert customer_ids_for_email(workspace=shop, email="cy@example.net") == []
    assert lookup(manager, "cy@example.net").status_code == 404
