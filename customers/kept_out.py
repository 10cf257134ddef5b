"""Customers the shop keeps out of later imports (a test account, a person who asked to be
forgotten): the list the imports read, the check for one kept out while an import ran, the
lookup's answer for one, the list as the page shows it, listing ids no import has stored
yet, and letting an id back in."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from django.db import transaction
from django.db.models import Count

from audit.log import record as audit_record
from audit.models import AuditEntry
from transaction_files.normalise import customer_ids_as_stored
from transaction_files.placeholders import placeholder_mask
from transaction_files.pseudonyms import is_email, pseudonym

from .line_lock import lock_line_writers
from .models import CODE_LENGTH, Customer, KeptOutCustomer, TransactionLine

#: Ids one request may list (a list pasted from a support tool; more, in several goes).
KEEP_OUT_AT_ONCE = 1000


def kept_out_customer_ids(*, workspace) -> frozenset[str]:
    """The ids, as stored, whose rows the workspace's imports skip."""
    return frozenset(
        KeptOutCustomer.objects.in_workspace(workspace).values_list("external_id", flat=True)
    )


def kept_out_meanwhile(*, workspace, before: frozenset[str], import_record_id: int) -> list[str]:
    """The ids kept out since `before` (the list an import read its rows by) that got lines
    from the import all the same (up to 5): stored now, the customer would be back. Call
    after the import's move, which holds the line table's lock a removal takes too."""
    newly = kept_out_customer_ids(workspace=workspace) - before
    if not newly:
        return []
    return sorted(
        TransactionLine.objects.in_workspace(workspace)
        .filter(import_record_id=import_record_id, customer__external_id__in=newly)
        .values_list("customer__external_id", flat=True)
        .distinct()[:5]
    )


def kept_out_entry(*, workspace, searched: str) -> KeptOutCustomer | None:
    """The entry of a customer id kept out, or of an e-mail address kept out as its
    pseudonym (the lookup answers "removed" rather than "no such customer")."""
    ids = [searched.strip()]
    if is_email(searched):
        ids.append(pseudonym(searched, workspace.pseudonym_key))
    return (
        KeptOutCustomer.objects.in_workspace(workspace)
        .filter(external_id__in=ids)
        .select_related("removed_by")
        .first()
    )


def kept_out_entries(*, workspace, search: str = ""):
    """The workspace's kept-out ids, latest first; with `search`, those starting with it, or
    the one an e-mail address is kept out as (its pseudonym)."""
    kept = KeptOutCustomer.objects.in_workspace(workspace).select_related("removed_by")
    search = search.strip()
    if not search:
        return kept
    if is_email(search):
        return kept.filter(external_id=pseudonym(search, workspace.pseudonym_key))
    return kept.filter(external_id__startswith=search)


def customer_keep_out(*, workspace, external_id: str, user) -> KeptOutCustomer:
    """Add the id to the list (again: the latest removal's time and user). Call inside the
    removal's transaction."""
    kept, _ = KeptOutCustomer.objects.in_workspace(workspace).update_or_create(
        workspace=workspace,
        external_id=external_id,
        defaults={"removed_by": user, "source": KeptOutCustomer.Source.REMOVED},
    )
    return kept


class KeepOutRefused(ValueError):
    """Some ids cannot be listed, each with why (`problems`); none was listed. `stored`:
    the customers refused as stored, to be removed instead."""

    def __init__(self, problems: list[str], stored: list[Customer] = ()):
        super().__init__(" ".join(problems))
        self.problems = problems
        self.stored = list(stored)


@dataclass
class KeptOutAhead:
    listed: list[str]  # as stored, newly on the list
    already: list[str]  # as stored, on the list before
    emails: int  # of those given, e-mail addresses (listed as their pseudonyms)


@transaction.atomic
def customers_keep_out_ahead(*, workspace, ids: list[str], user, request=None) -> KeptOutAhead:
    """List ids no import has stored yet (a test account about to be used, a person who asked
    not to be recorded), compared as imports store them: later imports skip their rows. An
    id with a stored customer is refused (remove the customer: their lines would stay), as
    is a placeholder (imports skip it anyway) or one too long to be stored; then nothing is
    listed. Takes the line table's writer lock, so that no import stores a line of theirs
    meanwhile. Raises KeepOutRefused."""
    ids = list(dict.fromkeys(given.strip() for given in ids if given.strip()))
    if not ids:
        raise KeepOutRefused(["Give at least one customer id."])
    if len(ids) > KEEP_OUT_AT_ONCE:
        raise KeepOutRefused(
            [f"{len(ids):,} ids given; list at most {KEEP_OUT_AT_ONCE:,} at a time."]
        )
    stored, from_email = customer_ids_as_stored(
        pd.Series(ids, dtype="str"), workspace.pseudonym_key
    )
    as_stored = dict(zip(ids, stored.tolist(), strict=True))
    placeholder = placeholder_mask(pa.array(ids), kept=workspace.kept_customer_ids)
    problems = [
        f"“{given}” stands for no customer: imports skip its rows already."
        for given, is_one in zip(ids, placeholder.to_pylist(), strict=True)
        if is_one
    ]
    problems += [
        f"“{given[:20]}…” is longer than a customer id may be ({CODE_LENGTH} characters)."
        for given, kept in as_stored.items()
        if len(kept) > CODE_LENGTH
    ]
    lock_line_writers()
    customers = (
        Customer.objects.in_workspace(workspace)
        .filter(external_id__in=set(as_stored.values()))
        .annotate(line_count=Count("lines"))
    )
    stored_customers = list(customers.order_by("external_id"))
    for customer in stored_customers:
        problems.append(
            f"Customer {customer.external_id} is stored, with {customer.line_count:,} "
            f"line{'s' if customer.line_count != 1 else ''}: remove the customer to keep "
            "them out."
        )
    if problems:
        raise KeepOutRefused(problems, stored_customers)
    on_list = set(
        KeptOutCustomer.objects.in_workspace(workspace)
        .filter(external_id__in=set(as_stored.values()))
        .values_list("external_id", flat=True)
    )
    new = [kept for kept in dict.fromkeys(as_stored.values()) if kept not in on_list]
    KeptOutCustomer.objects.bulk_create(
        [
            KeptOutCustomer(
                workspace=workspace,
                external_id=kept,
                removed_by=user,
                source=KeptOutCustomer.Source.LISTED,
            )
            for kept in new
        ],
        ignore_conflicts=True,  # listed meanwhile by another request: listed all the same
    )
    if new:
        audit_record(
            workspace=workspace,
            action=AuditEntry.Action.CUSTOMERS_KEPT_OUT,
            actor=user,
            target=workspace,  # its list of ids kept out
            request=request,
            details={"customer_ids": new},
        )
    return KeptOutAhead(listed=new, already=sorted(on_list), emails=int(from_email.sum()))


@transaction.atomic
def customer_let_back_in(*, workspace, pk: int, user, request=None) -> KeptOutCustomer:
    """Take an id off the list: later imports store its rows again (earlier files must be
    imported again for the lines they held). Raises KeptOutCustomer.DoesNotExist."""
    kept = KeptOutCustomer.objects.in_workspace(workspace).select_for_update().get(pk=pk)
    audit_record(
        workspace=workspace,
        action=AuditEntry.Action.CUSTOMER_LET_BACK_IN,
        actor=user,
        target=kept,
        request=request,
        details={"removed_at": kept.removed_at.isoformat()},
    )
    kept.delete()
    return kept
