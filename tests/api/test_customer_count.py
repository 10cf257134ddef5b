"""The customers list's count is cached per workspace, and never outlives a change of its
customers: an import that adds some, or lines undone that delete some."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import api_token_create
from customers.models import Customer
from customers.services import import_record_undo
from tests.clustering.factories import load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db(transaction=True)  # the version is bumped on commit


@pytest.fixture
def shop(db):
    """A workspace of these tests' own: customers that module-scoped data of other test
    modules left in the test shop would collide with the ones loaded here."""
    from tests.shops import test_shop

    return test_shop({"slug": "count-shop", "name": "Count shop", "currency": "GBP"})


@pytest.fixture
def api(shop, django_user_model):
    from tests.shops import join

    manager = django_user_model.objects.create_user("count-manager", password="pw-count-1")
    join(manager, shop, "manager")
    _, secret = api_token_create(user=manager, workspace=shop, name="t", read_only=False)
    client = Client(headers={"Authorization": f"Token {secret}"})
    return lambda query="": client.get(f"/api/v1/customers/{query}").json()["count"], manager


def test_count_follows_imports_and_undos(shop, api):
    count, manager = api
    first = load_transactions(synthetic_lines(30, seed=1), name="first.csv", workspace=shop)
    assert count() == Customer.objects.in_workspace(shop).count() == 30
    assert count() == 30  # from the cache now

    lines = synthetic_lines(50, seed=2)
    lines["customer_id"] = lines["customer_id"].astype(str) + "-b"  # all new customers
    load_transactions(lines, name="second.csv", workspace=shop)
    assert count() == 80

    import_record_undo(workspace=shop, import_record_id=first.pk, user=manager)
    assert Customer.objects.in_workspace(shop).count() == 50
    assert count() == 50


def test_filtered_list_is_counted(shop, api):
    count, _ = api
    load_transactions(synthetic_lines(30, seed=1), workspace=shop)
    country = Customer.objects.in_workspace(shop).values_list("country", flat=True).first()
    expected = Customer.objects.in_workspace(shop).filter(country__iexact=country).count()
    assert count() == 30
    assert count(f"?country={country}") == expected
    assert count("?search=zzz") == 0
