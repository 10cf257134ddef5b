"""A customer's contact details erased on a person's request: the e-mail and name go, the
customer and their purchases stay (they carry neither), and later imports do not bring them
back. Uploaded files keep them until pruned (prune_import_files)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.log import record

from .models import Customer


def customer_contact_erase(*, workspace, customer_pk: int, user, request: HttpRequest) -> Customer:
    """Empty the customer's e-mail and name and mark them erased, with an audit entry that
    holds neither; erasing again changes nothing but is logged too."""
    with transaction.atomic():
        customer = Customer.objects.in_workspace(workspace).select_for_update().get(pk=customer_pk)
        had_contact = bool(customer.email or customer.name)
        customer.email = customer.name = ""
        customer.contact_erased_at = customer.contact_erased_at or timezone.now()
        customer.save(update_fields=["email", "name", "contact_erased_at", "updated_at"])
        record(
            workspace=workspace,
            action="contact_erased",
            actor=user,
            target=customer,
            request=request,
            details={"had_contact": had_contact},
        )
    return customer
