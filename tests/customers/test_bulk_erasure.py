"""Erasing many people's contact details at once (the requests another system collected):
by customer id or by e-mail, all or none, each audited, names that match nobody listed."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from customers import erasure
from customers.erasure import BULK_ERASURE_MAX, customers_contact_erase
from customers.models import Customer

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/erase-contact/"


@pytest.fixture
def people(shop, other_shop):
    for external_id, email, name in [
        ("1001", "ann@example.com", "Ann"),
        ("1002", "Ann@Example.com", "Ann S."),
        ("1003", "bo@example.com", "Bo"),
        ("1004", "cy@example.com", "Cy"),
    ]:
        Customer.objects.create(workspace=shop, external_id=external_id, email=email, name=name)
    Customer.objects.create(workspace=other_shop, external_id="1003", email="ann@example.com")


def contacts(workspace) -> dict:
    return {
        c.external_id: (c.email, c.name, c.contact_erased_at is not None)
        for c in Customer.objects.in_workspace(workspace)
    }


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def test_customers_named_by_id_or_e_mail_are_erased_and_the_rest_listed(
    people, token_client, shop, other_shop
):
    theirs = contacts(other_shop)
    response = post(
        token_client("manager"),
        {"customer_ids": ["1003", "nope", "1003"], "emails": ["ANN@example.com ", "no@x.org"]},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "erased": [
            {"customer_id": "1001", "had_contact": True},
            {"customer_id": "1002", "had_contact": True},
            {"customer_id": "1003", "had_contact": True},
        ],
        "customer_ids_not_found": ["nope"],
        "emails_not_found": ["no@x.org"],
    }
    now = contacts(shop)
    assert all(now[i] == ("", "", True) for i in ("1001", "1002", "1003"))
    assert now["1004"] == ("cy@example.com", "Cy", False)
    assert contacts(other_shop) == theirs  # the same id and e-mail elsewhere stay
    entries = AuditEntry.objects.in_workspace(shop).filter(action="contact_erased")
    assert entries.count() == 3
    assert all(e.details == {"had_contact": True} for e in entries)
    assert "example.com" not in " ".join(str(e.details) + e.target_repr for e in entries)

    # again: already erased, said so, nothing else changes
    again = post(token_client("admin"), {"customer_ids": ["1001"]}).json()
    assert again["erased"] == [{"customer_id": "1001", "had_contact": False}]
    assert post(token_client("admin"), {"emails": ["ann@example.com"]}).json()[
        "emails_not_found"
    ] == ["ann@example.com"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"customer_ids": [1001]}, "customer_ids"),
        ({"emails": "ann@example.com"}, "emails"),
        ({"emails": [None]}, "emails"),
        ({"customer_ids": [str(i) for i in range(BULK_ERASURE_MAX + 1)]}, "customer_ids"),
    ],
)
def test_a_bad_request_is_refused_with_its_field_and_erases_nothing(
    people, token_client, shop, body, field
):
    before = contacts(shop)
    response = post(token_client("manager"), body)
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert contacts(shop) == before


def test_names_no_customer_can_have_are_answered_as_not_found(people, token_client, shop):
    """A NUL, a blank or spaces are nobody's id or e-mail (PostgreSQL stores no NUL)."""
    odd = ["\x00", "", "  ", "10\x0003"]
    response = post(token_client("manager"), {"customer_ids": [*odd, "1003"], "emails": odd})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["erased"] == [{"customer_id": "1003", "had_contact": True}]
    assert body["customer_ids_not_found"] == odd
    assert body["emails_not_found"] == odd


def test_a_request_naming_no_one_erases_no_one(people, token_client, shop):
    before = contacts(shop)
    response = post(token_client("manager"), {})
    assert response.status_code == 200
    assert response.json() == {"erased": [], "customer_ids_not_found": [], "emails_not_found": []}
    assert contacts(shop) == before


def test_only_those_who_see_personal_data_with_a_writing_token_erase(people, token_client, shop):
    before = contacts(shop)
    for client in (token_client("marketing"), token_client("manager", read_only=True)):
        assert post(client, {"customer_ids": ["1001"]}).status_code == 403
    assert contacts(shop) == before


def test_a_failure_half_way_erases_no_one(people, shop, make_user, monkeypatch):
    calls = []
    real = erasure.record

    def record_then_fail(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("the audit log went away")
        return real(**kwargs)

    monkeypatch.setattr(erasure, "record", record_then_fail)
    before = contacts(shop)
    with pytest.raises(RuntimeError):
        customers_contact_erase(
            workspace=shop, customer_ids=["1001", "1003"], user=make_user("manager")
        )
    assert len(calls) == 2 and contacts(shop) == before
    assert not AuditEntry.objects.in_workspace(shop).filter(action="contact_erased").exists()
