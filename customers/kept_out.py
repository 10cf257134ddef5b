"""Customers the shop removed and keeps out of later imports (a test account, a person who
asked to be forgotten): the list the imports read, the check for one kept out while an
import ran, the lookup's answer for one, and letting an id back in."""

from __future__ import annotations

from django.db import transaction

from audit.log import record as audit_record
from audit.models import AuditEntry
from transaction_files.pseudonyms import is_email, pseudonym

from .models import KeptOutCustomer, TransactionLine


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


def customer_keep_out(*, workspace, external_id: str, user) -> KeptOutCustomer:
    """Add the id to the list (again: the latest removal's time and user). Call inside the
    removal's transaction."""
    kept, _ = KeptOutCustomer.objects.in_workspace(workspace).update_or_create(
        workspace=workspace, external_id=external_id, defaults={"removed_by": user}
    )
    return kept


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
