"""The customers list's count is cached per workspace, and never outlives a change of its
customers: an import that adds some, or lines undone that delete some."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import api_token_create
from customers.line_removal import import_record_undo
from customers.models import Customer
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


def test_a_published_segment_s_count_follows_its_members(shop, api):
    """Filtered by segment alone, the count is the segment's assignments (not the list's
    join, 2 s at 1M): equal to the members listed, before and after an undo removes some."""
    from clustering.models import Segment
    from clustering.services import run_publish
    from tests.clustering.factories import FAST_PARAMS, executed_run

    count, manager = api
    load_transactions(synthetic_lines(40, seed=1), name="first.csv", workspace=shop)
    lines = synthetic_lines(25, seed=2)
    lines["customer_id"] = lines["customer_id"].astype(str) + "-b"
    second = load_transactions(lines, name="second.csv", workspace=shop)
    run = executed_run(shop, manager, FAST_PARAMS)
    assert count("?segment=0") == 0  # nothing published yet
    run_publish(workspace=shop, run_id=run.pk, user=manager)

    def members(number: int) -> int:
        return (
            Customer.objects.in_workspace(shop)
            .filter(
                segment_assignments__segment__run=run, segment_assignments__segment__number=number
            )
            .count()
        )

    numbers = list(
        Segment.objects.in_workspace(shop).filter(run=run).values_list("number", flat=True)
    )
    assert sum(count(f"?segment={n}") for n in numbers) == 65
    for n in numbers:
        assert count(f"?segment={n}") == members(n) > 0
    assert count(f"?segment={max(numbers) + 1}") == 0
    import_record_undo(workspace=shop, import_record_id=second.pk, user=manager)
    assert sum(count(f"?segment={n}") for n in numbers) == 40
    for n in numbers:
        assert count(f"?segment={n}") == members(n)
    country = Customer.objects.in_workspace(shop).values_list("country", flat=True).first()
    both = Customer.objects.in_workspace(shop).filter(
        country__iexact=country, segment_assignments__segment__run=run,
        segment_assignments__segment__number=numbers[0],
    ).count()  # fmt: skip
    assert count(f"?segment={numbers[0]}&country={country}") == both
