"""A customer removed is announced to the enabled endpoints that chose "customer.removed", so
the systems that were told of the customer (a CRM, a mailing tool) can forget them too: the
customer id, when and by whom, the lines removed and whether imports keep them out, never
their contact details; posted signed like every event, or as one chat line."""

from __future__ import annotations

import json

import pytest
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from customers.line_removal import customer_remove
from customers.models import Customer, TransactionLine
from tests.clustering.factories import load_transactions, synthetic_lines
from tests.webhooks.receiver import assert_posted, receiver
from tests.webhooks.test_alert_event import _local, queued  # noqa: F401 (fixtures)
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery, Endpoint, every_event

pytestmark = pytest.mark.django_db


def _remove(shop, user, capture, *, keep_out=True) -> tuple[Customer, int]:
    """Remove a customer with an e-mail and name; returns them and how many lines they had."""
    load_transactions(synthetic_lines(20, seed=4), workspace=shop)
    customer = (
        Customer.objects.in_workspace(shop).annotate(n=Count("lines")).order_by("-n", "pk").first()
    )
    customer.email, customer.name = "ann@example.com", "Ann"
    customer.save(update_fields=["email", "name"])
    lines = TransactionLine.objects.in_workspace(shop).filter(customer=customer).count()
    with capture(execute=True):
        customer_remove(workspace=shop, customer_pk=customer.pk, user=user, keep_out=keep_out)
    return customer, lines


def test_a_removal_is_posted_signed_to_the_endpoints_that_chose_it(
    shop,
    make_user,
    django_capture_on_commit_callbacks,
    queued,  # noqa: F811
):
    manager = make_user("manager", workspace=shop)
    with receiver() as hook:
        endpoint = Endpoint.objects.create(workspace=shop, url=hook.url)  # every event
        Endpoint.objects.create(
            workspace=shop, url=hook.url + "/old", events=["segmentation.published"]
        )
        Endpoint.objects.create(workspace=shop, url=hook.url + "/off", enabled=False)
        customer, lines = _remove(shop, manager, django_capture_on_commit_callbacks)

        [delivery] = Delivery.objects.in_workspace(shop)
        assert queued == [delivery.pk]
        assert (delivery.endpoint, delivery.event) == (endpoint, "customer.removed")
        removal = delivery.payload["customer"]
        assert delivery.payload["event"] == "customer.removed"
        assert delivery.payload["workspace"]["slug"] == shop.slug
        assert {k: v for k, v in removal.items() if k != "removed_at"} == {
            "customer_id": customer.external_id,
            "removed_by": manager.get_username(),
            "lines_removed": lines,
            "kept_out": True,
        }
        assert lines > 0 and removal["removed_at"]
        assert "ann@example.com" not in json.dumps(delivery.payload)  # no contact details

        assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
        [request] = hook.received()
    assert_posted(request, endpoint=endpoint, delivery=delivery, event="customer.removed")

    client = Client()
    client.force_login(make_user("manager", username="reader", workspace=shop))
    log = client.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).content.decode()
    assert f'Customer removed: <span class="help">customer {customer.external_id}</span>' in log
    listing = client.get(reverse("webhooks:endpoint-list")).content.decode()
    assert "<td>publications, alerts and removals</td>" in listing


def test_a_chat_endpoint_gets_the_removal_in_one_line(
    shop,
    make_user,
    django_capture_on_commit_callbacks,
    queued,  # noqa: F811
):
    Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/chat", format="chat")
    manager = make_user("manager", workspace=shop)
    customer, lines = _remove(shop, manager, django_capture_on_commit_callbacks, keep_out=False)
    [delivery] = Delivery.objects.in_workspace(shop)
    assert lines > 1
    assert delivery.payload == {
        "text": f"{shop.name}: customer {customer.external_id} was removed with {lines} lines "
        f"by {manager.get_username()}. https://segments.example.com/w/{shop.slug}/"
    }


def test_a_removal_rolled_back_announces_nothing(shop, make_user, queued):  # noqa: F811
    from django.db import transaction

    load_transactions(synthetic_lines(5, seed=4), workspace=shop)
    Endpoint.objects.create(workspace=shop, url="https://hooks.example.com/a")
    customer = Customer.objects.in_workspace(shop).first()
    with pytest.raises(RuntimeError), transaction.atomic():
        customer_remove(workspace=shop, customer_pk=customer.pk, user=None)
        raise RuntimeError("the request failed after the removal")
    assert Customer.objects.in_workspace(shop).filter(pk=customer.pk).exists()
    assert not Delivery.objects.in_workspace(shop).exists() and queued == []


def test_new_endpoints_choose_removals_with_the_rest():
    assert every_event() == ["segmentation.published", "alert.raised", "customer.removed"]


def test_removing_a_customers_last_line_announces_the_customer_gone(
    shop,
    make_user,
    django_capture_on_commit_callbacks,
    queued,  # noqa: F811
):
    from customers.line_removal import transaction_line_remove

    load_transactions(synthetic_lines(20, seed=4), workspace=shop)
    Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/hook")
    manager = make_user("manager", workspace=shop)
    counted = Customer.objects.in_workspace(shop).annotate(n=Count("lines"))
    several = counted.filter(n__gt=1).first()
    line = TransactionLine.objects.in_workspace(shop).filter(customer=several).first()
    with django_capture_on_commit_callbacks(execute=True):
        transaction_line_remove(workspace=shop, line_id=line.line_hash, user=manager)
    assert not Delivery.objects.in_workspace(shop).exists()  # the customer stays

    TransactionLine.objects.in_workspace(shop).filter(customer=several).exclude(
        pk=TransactionLine.objects.in_workspace(shop).filter(customer=several).first().pk
    ).delete()
    [last] = TransactionLine.objects.in_workspace(shop).filter(customer=several)
    with django_capture_on_commit_callbacks(execute=True):
        transaction_line_remove(workspace=shop, line_id=last.line_hash, user=manager)
    assert not Customer.objects.in_workspace(shop).filter(pk=several.pk).exists()
    [delivery] = Delivery.objects.in_workspace(shop)
    assert queued == [delivery.pk]
    removal = delivery.payload["customer"]
    assert {k: v for k, v in removal.items() if k != "removed_at"} == {
        "customer_id": several.external_id,
        "removed_by": manager.get_username(),
        "lines_removed": 1,
        "kept_out": False,
    }


def _undo_import_with_new_customers(shop, manager, capture, tmp_path) -> tuple[int, list[str]]:
    """A second file that brought three customers of its own, and a line of one already
    there, undone: the three go, the earlier one stays."""
    from customers.line_removal import import_record_undo
    from tests.customers.test_undo import import_text

    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    import_text(tmp_path, "first.csv", header + "1,P1,MUG,1,2024-01-05 10:00:00,3.00,K-1,UK\n")
    second = import_text(
        tmp_path,
        "second.csv",
        header + "2,P1,MUG,1,2024-02-05 10:00:00,3.00,K-1,UK\n"
        "3,P1,MUG,1,2024-02-05 10:00:00,3.00,N-2,UK\n"
        "4,P1,MUG,1,2024-02-05 10:00:00,3.00,N-3,UK\n"
        "5,P1,MUG,1,2024-02-05 10:00:00,3.00,N-1,UK\n",
    )
    with capture(execute=True):
        import_record_undo(workspace=shop, import_record_id=second.pk, user=manager)
    return second.pk, ["N-1", "N-2", "N-3"]


def test_an_undone_imports_customers_are_posted_together_in_parts(
    shop,
    make_user,
    django_capture_on_commit_callbacks,
    queued,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    from webhooks import services

    monkeypatch.setattr(services, "REMOVED_IDS_PER_DELIVERY", 2)
    crm = Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/crm")
    chat = Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/chat", format="chat")
    Endpoint.objects.create(
        workspace=shop, url="https://93.184.215.14/news", events=["segmentation.published"]
    )
    manager = make_user("manager", workspace=shop)
    import_id, gone = _undo_import_with_new_customers(
        shop, manager, django_capture_on_commit_callbacks, tmp_path
    )
    assert sorted(Customer.objects.in_workspace(shop).values_list("external_id", flat=True)) == [
        "K-1"
    ]
    parts = list(
        Delivery.objects.in_workspace(shop)
        .filter(endpoint=crm)
        .order_by("pk")
        .values_list("payload", flat=True)
    )
    assert [p["event"] for p in parts] == ["customers.removed"] * 2
    removals = [p["removal"] for p in parts]
    assert [r["customer_ids"] for r in removals] == [gone[:2], gone[2:]]
    assert [(r["part"], r["parts"], r["customers"]) for r in removals] == [(1, 2, 3), (2, 2, 3)]
    assert removals[0]["reason"] == "import_undone" and removals[0]["import_id"] == import_id
    assert removals[0]["removed_by"] == manager.get_username()
    [line] = Delivery.objects.in_workspace(shop).filter(endpoint=chat)
    assert line.payload["text"].startswith(
        f"{shop.name}: import #{import_id} (second.csv) was undone by "
        f"{manager.get_username()}: the 3 customers only it brought were removed."
    )
    assert len(queued) == 3  # two parts to the CRM, one line to the chat, none to the news


def test_an_undo_that_leaves_every_customer_posts_nothing(
    shop,
    make_user,
    django_capture_on_commit_callbacks,
    queued,  # noqa: F811
    tmp_path,
):
    from customers.line_removal import import_record_undo
    from tests.customers.test_undo import import_text

    Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/crm")
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    import_text(tmp_path, "a.csv", header + "1,P1,MUG,1,2024-01-05 10:00:00,3.00,K-1,UK\n")
    later = import_text(tmp_path, "b.csv", header + "2,P1,MUG,1,2024-02-05 10:00:00,3.00,K-1,UK\n")
    with django_capture_on_commit_callbacks(execute=True):
        import_record_undo(workspace=shop, import_record_id=later.pk, user=None)
    assert not Delivery.objects.in_workspace(shop).exists() and queued == []
