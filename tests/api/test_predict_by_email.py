"""Predict by a customer's e-mail: for users who may see personal data (as the lookup page
asks), whether the shop's files named customers by e-mail (the id is its pseudonym) or gave
their e-mail beside an id; the answer carries the customer's id."""

from __future__ import annotations

import pytest

from clustering.predicting import forget_published_model
from customers.models import Customer
from transaction_files.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db
PREDICT = "/api/v1/predict/"


@pytest.fixture
def emails(world):
    """One customer with a stored e-mail, one whose id is an e-mail's pseudonym, and an
    e-mail two customers share."""
    customers = list(Customer.unscoped.filter(workspace=world.workspace).order_by("external_id"))
    stored, named, twin_a, twin_b = customers[:4]
    stored.email = "ann@example.com"
    twin_a.email = twin_b.email = "shared@example.com"
    named.external_id = pseudonym("bob@example.org", world.workspace.pseudonym_key)
    for customer in (stored, named, twin_a, twin_b):
        customer.save()
    forget_published_model()  # the run's ids are cached with its predictor
    yield {"stored": stored.external_id, "named": named.external_id}
    forget_published_model()


def post(client, body):
    return client.post(PREDICT, body, content_type="application/json")


def test_a_manager_predicts_by_e_mail_and_learns_the_id(api, emails):
    client = api("manager")
    by_id = post(client, {"customer_id": emails["stored"]}).json()
    by_email = post(client, {"customer_id": "Ann@Example.com"})
    assert by_email.status_code == 200
    assert by_email.json()["customer_id"] == emails["stored"]
    assert by_email.json()["segment_number"] == by_id["segment_number"]
    # files that named customers by e-mail: the pseudonym is found without a stored e-mail
    named = post(client, {"customer_id": "bob@example.org"}).json()
    assert named["customer_id"] == emails["named"] and named["source"] == "stored"

    batch = post(
        client,
        {
            "customers": [
                {"customer_id": "ann@example.com"},
                {"customer_id": "nobody@example.com"},
                {"customer_id": "shared@example.com"},
            ]
        },
    ).json()["results"]
    assert batch[0]["customer_id"] == emails["stored"] and batch[0]["error"] is None
    assert batch[1]["customer_id"] == "nobody@example.com"
    assert batch[1]["error"].startswith("customer not in the published segmentation")
    assert batch[2]["segment_number"] is None
    assert "2 customers have this e-mail" in batch[2]["error"]


def test_an_e_mail_two_customers_share_is_a_conflict(api, emails):
    response = post(api("manager"), {"customer_id": "shared@example.com"})
    assert response.status_code == 409 and response.json()["code"] == "email_not_unique"


def test_a_role_that_may_not_see_personal_data_cannot_ask_by_e_mail(api, emails):
    client = api("marketing")
    refused = post(client, {"customer_id": "ann@example.com"})
    assert refused.status_code == 403 and refused.json()["code"] == "personal_data_required"
    batch = post(client, {"customers": [{"customer_id": "ann@example.com"}]}).json()
    assert "may see personal data" in batch["results"][0]["error"]
    # ids are still answered
    assert post(client, {"customer_id": emails["stored"]}).status_code == 200


def test_a_batch_of_e_mails_is_looked_up_at_once(api, emails):
    """However many e-mails a batch names, they cost the same queries as one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api("manager")
    post(client, {"customer_id": emails["stored"]})  # the predictor loaded once
    one = [{"customer_id": "ann@example.com"}]
    many = [{"customer_id": f"someone{i}@example.com"} for i in range(20)] + one
    with CaptureQueriesContext(connection) as single:
        post(client, {"customers": one})
    with CaptureQueriesContext(connection) as batch:
        results = post(client, {"customers": many}).json()["results"]
    assert len(batch) == len(single)
    assert results[-1]["customer_id"] == emails["stored"]
