"""A customer's contact details erased on a person's request: the e-mail and name go, the
customer and their purchases stay (they carry neither), and later imports do not bring them
back. Uploaded files keep them until pruned (prune_import_files)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from audit.log import record

from .models import Customer
from .selectors import customers_known_by_emails, email_pseudonyms

#: Customer ids, and e-mails, one bulk request may name: a day's requests from a CRM.
BULK_ERASURE_MAX = 1000


@dataclass(frozen=True)
class BulkErasure:
    erased: list[tuple[str, bool]]  # (customer id, whether it held an e-mail or a name)
    ids_not_found: list[str]
    emails_not_found: list[str]


def _erase(customer: Customer, *, workspace, user, request: HttpRequest | None) -> bool:
    """Empty a locked customer's e-mail and name, mark them erased and log it (the entry
    holds neither); whether they held any."""
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
    return had_contact


def customer_contact_erase(*, workspace, customer_pk: int, user, request: HttpRequest) -> Customer:
    """Empty the customer's e-mail and name and mark them erased, with an audit entry that
    holds neither; erasing again changes nothing but is logged too."""
    with transaction.atomic():
        customer = Customer.objects.in_workspace(workspace).select_for_update().get(pk=customer_pk)
        _erase(customer, workspace=workspace, user=user, request=request)
    return customer


def customers_contact_erase(
    *, workspace, customer_ids=(), emails=(), user, request: HttpRequest | None = None
) -> BulkErasure:
    """Erase, all at once or not at all, the contact details of the customers named by id
    and of every customer holding one of ``emails`` (case aside; one person may be several
    customers). Names that match no customer are returned, not refused: a request list from
    another system holds people who never bought here, or were erased already by e-mail."""
    ids = list(dict.fromkeys(customer_ids))
    emails = list(dict.fromkeys(emails))
    if max(len(ids), len(emails)) > BULK_ERASURE_MAX:
        raise ValueError(f"At most {BULK_ERASURE_MAX:,} customer ids and e-mails at once.")
    scoped = Customer.objects.in_workspace(workspace)
    # a name holding NUL is nobody's (PostgreSQL stores no NUL) and cannot be queried
    storable = [i for i in ids if "\x00" not in i]
    with transaction.atomic():
        by_id = scoped.filter(external_id__in=storable).values("pk")
        by_email = customers_known_by_emails(workspace=workspace, emails=emails).values("pk")
        customers = list(
            scoped.select_for_update().filter(Q(pk__in=by_id) | Q(pk__in=by_email)).order_by("pk")
        )
        # which e-mails matched, for the answer only (the database did the matching)
        held = {c.email.strip().casefold() for c in customers if c.email}
        aliases = email_pseudonyms(workspace=workspace, emails=emails)
        held.update(
            aliases[c.external_id].strip().casefold() for c in customers if c.external_id in aliases
        )
        erased = [
            (c.external_id, _erase(c, workspace=workspace, user=user, request=request))
            for c in customers
        ]
    found_ids = {c.external_id for c in customers}
    return BulkErasure(
        erased=sorted(erased),
        ids_not_found=[i for i in ids if i not in found_ids],
        emails_not_found=[e for e in emails if e.strip().casefold() not in held],
    )
