"""Removing stored lines: undoing an import, one line, or a customer with all their lines;
customers' summaries follow the lines they keep, and customers left with none go."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import dateformat, timezone

from audit.log import record as audit_record
from audit.models import AuditEntry
from common.derived_cache import customers_changed

from .kept_out import customer_keep_out
from .line_lock import lock_line_writers
from .models import Customer, ImportRecord, TransactionLine
from .signals import customer_removed, customers_removed

logger = logging.getLogger(__name__)


class LinesNotRemovable(Exception):
    """The lines cannot be removed as asked (the import is not finished, or already undone)."""


@dataclass
class LinesRemoved:
    lines: int
    customers_updated: int
    customers_deleted: int
    deleted_ids: list[str] = field(default_factory=list)  # of the customers deleted


def _lines_remove(workspace, removed: Q, *, name_deleted: bool = False) -> LinesRemoved:
    """Delete `workspace`'s lines matching `removed`; their customers' summary fields are
    recomputed from the lines they keep (one UPDATE) and customers left with none are
    deleted (`name_deleted`: their ids read first, for an undo to announce). Call inside a
    transaction, after lock_line_writers."""
    workspace_lines = TransactionLine.objects.in_workspace(workspace)
    lines = workspace_lines.filter(removed)
    affected = Customer.objects.in_workspace(workspace).filter(pk__in=lines.values("customer_id"))
    kept = workspace_lines.filter(customer=OuterRef("pk")).exclude(removed)
    purchases = kept.filter(is_return=False, is_non_product=False)

    def first(queryset, *order: str):
        return Subquery(queryset.order_by(*order).values("timestamp")[:1])

    # Customers whose every line goes: deleted, with those lines (CASCADE, as the ORM does
    # for any customer) and their assignments in earlier runs.
    emptied = affected.filter(~Exists(kept))
    deleted_ids = sorted(emptied.values_list("external_id", flat=True)) if name_deleted else []
    _, deleted = emptied.delete()
    customers_updated = affected.update(
        first_purchase_at=first(purchases, "timestamp"),
        last_purchase_at=first(purchases, "-timestamp"),
        last_seen_at=first(kept, "-timestamp"),
        country=Coalesce(
            Subquery(kept.order_by("-timestamp", "-line_hash").values("country")[:1]),
            F("country"),
        ),
        updated_at=timezone.now(),
    )
    lines_deleted, _ = lines.delete()
    if deleted.get(Customer._meta.label, 0):
        customers_changed(workspace.pk)  # their places in earlier runs went with them
    return LinesRemoved(
        lines=lines_deleted + deleted.get(TransactionLine._meta.label, 0),
        customers_updated=customers_updated,
        customers_deleted=deleted.get(Customer._meta.label, 0),
        deleted_ids=deleted_ids,
    )


def _who(user) -> str:
    return user.get_username() if user is not None else "an unknown user"


@transaction.atomic
def import_record_undo(*, workspace, import_record_id: int, user) -> LinesRemoved:
    """Remove the lines an import stored (lines it found already stored belong to the
    earlier import and stay) and mark it undone, by whom and when; the record, its counts
    and rejected rows stay. The customers only it brought go, announced together. Raises
    LinesNotRemovable unless the import succeeded, and ImportRecord.DoesNotExist for an
    import of another workspace."""
    lock_line_writers()
    record = (
        ImportRecord.objects.in_workspace(workspace).select_for_update().get(pk=import_record_id)
    )
    if record.status == ImportRecord.Status.UNDONE:
        when = dateformat.format(timezone.localtime(record.undone_at), "j M Y H:i")
        raise LinesNotRemovable(
            f"Import #{record.pk} was already undone by {_who(record.undone_by)} on {when}."
        )
    if record.status != ImportRecord.Status.SUCCEEDED:
        raise LinesNotRemovable(
            f"Import #{record.pk} is {record.get_status_display().lower()}; only a "
            "succeeded import can be undone."
        )
    removed = _lines_remove(workspace, Q(import_record_id=record.pk), name_deleted=True)
    record.status = ImportRecord.Status.UNDONE
    record.undone_by = user
    record.undone_at = timezone.now()
    record.stage = "undone"
    record.notices = [
        *record.notices,
        f"Undone by {_who(user)}: {removed.lines:,} lines removed, "
        f"{removed.customers_deleted:,} customers left with no lines deleted.",
    ]
    record.save(update_fields=["status", "undone_by", "undone_at", "stage", "notices"])
    audit_record(
        workspace=workspace,
        action=AuditEntry.Action.IMPORT_UNDONE,
        actor=user,
        target=record,
        details={"lines_removed": removed.lines, "customers_deleted": removed.customers_deleted},
    )
    if removed.deleted_ids:  # the customers only this import brought are gone
        undo = {
            "reason": "import_undone",
            "import_id": record.pk,
            "file_name": record.file_name,
            "removed_at": record.undone_at.isoformat(),
            "removed_by": user.get_username() if user is not None else None,
            "lines_removed": removed.lines,
            "customer_ids": removed.deleted_ids,
        }
        transaction.on_commit(
            lambda: customers_removed.send(sender=Customer, workspace=workspace, removal=undo)
        )
    logger.info(
        "import %s undone by %s: %s lines removed, %s customers updated, %s deleted",
        record.pk,
        _who(user),
        removed.lines,
        removed.customers_updated,
        removed.customers_deleted,
    )
    return removed


@transaction.atomic
def transaction_line_remove(*, workspace, line_id, user) -> LinesRemoved:
    """Remove one of `workspace`'s lines by its id (its content hash: the same line imported
    into another workspace has the same id, and stays); the import that stored it notes who
    removed it and when. A customer left without lines goes, and is announced as removed.
    Raises TransactionLine.DoesNotExist."""
    lock_line_writers()
    line = (
        TransactionLine.objects.in_workspace(workspace)
        .select_related("customer")
        .get(line_hash=line_id)
    )
    removed = _lines_remove(workspace, Q(line_hash=line.line_hash))
    stamp = dateformat.format(timezone.localtime(), "j M Y H:i")
    note = (
        f"Line {line.line_hash} (customer {line.customer.external_id}, invoice "
        f"{line.invoice}, {timezone.localtime(line.timestamp):%Y-%m-%d %H:%M}) removed by "
        f"{_who(user)} on {stamp}."
    )
    record = (
        ImportRecord.objects.in_workspace(workspace)
        .select_for_update()
        .filter(pk=line.import_record_id)
        .first()
    )
    if record is not None:
        record.notices = [*record.notices, note]
        record.save(update_fields=["notices"])
    logger.info("%s", note)
    if removed.customers_deleted:  # it was their last line: the customer is gone too
        _announce(workspace, line.customer.external_id, user, lines=1, kept_out=False)
    return removed


def _announce(workspace, external_id: str, user, *, lines: int, kept_out: bool) -> None:
    """Tell the apps that listen (webhooks) that a customer is gone, once this commits."""
    removal = {
        "customer_id": external_id,
        "removed_at": timezone.now().isoformat(),
        "removed_by": user.get_username() if user is not None else None,
        "lines_removed": lines,
        "kept_out": kept_out,
    }
    transaction.on_commit(
        lambda: customer_removed.send(sender=Customer, workspace=workspace, removal=removal)
    )


@transaction.atomic
def customer_remove(
    *, workspace, customer_pk: int, user, keep_out: bool = False, request=None
) -> LinesRemoved:
    """Remove one of `workspace`'s customers with every line of theirs and their places in
    earlier runs (a test account, a guest checkout stored before such ids were skipped, a
    person who asked to be forgotten); `keep_out` also has later imports skip the id's rows.
    Each import that had stored some of the lines notes how many went, by whom and when;
    the audit log records it. Raises Customer.DoesNotExist."""
    lock_line_writers()
    customer = Customer.objects.in_workspace(workspace).select_for_update().get(pk=customer_pk)
    per_import = dict(
        TransactionLine.objects.in_workspace(workspace)
        .filter(customer_id=customer.pk)
        .values("import_record_id")
        .annotate(lines=Count("*"))
        .values_list("import_record_id", "lines")
    )
    audit_record(
        workspace=workspace,
        action=AuditEntry.Action.CUSTOMER_REMOVED,
        actor=user,
        target=customer,
        request=request,
        details={
            "lines_removed": sum(per_import.values()),
            "import_ids": sorted(per_import),
            "kept_out": keep_out,
        },
    )
    if keep_out:
        customer_keep_out(workspace=workspace, external_id=customer.external_id, user=user)
    removed = _lines_remove(workspace, Q(customer_id=customer.pk))
    if not removed.customers_deleted:  # a customer without lines is left by nothing above
        customer.delete()
        customers_changed(workspace.pk)
        removed.customers_deleted = 1
    stamp = dateformat.format(timezone.localtime(), "j M Y H:i")
    records = ImportRecord.objects.in_workspace(workspace).select_for_update()
    for record in records.filter(pk__in=per_import).order_by("pk"):
        count = per_import[record.pk]
        record.notices = [
            *record.notices,
            f"Customer {customer.external_id} removed with {count:,} "
            f"line{'s' if count != 1 else ''} of this import, by {_who(user)} on {stamp}.",
        ]
        record.save(update_fields=["notices"])
    logger.info(
        "customer %s removed by %s: %s lines", customer.external_id, _who(user), removed.lines
    )
    _announce(workspace, customer.external_id, user, lines=removed.lines, kept_out=keep_out)
    return removed
