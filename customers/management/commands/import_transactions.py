"""Import a transactions file from the command line (the same service as the upload page).

manage.py import_transactions FILE [--workspace SLUG] [--mapping customer_id=CustomerID,...]
    [--date-order dayfirst|monthfirst|iso] [--sheet NAME] [--user NAME] [--sync|--queue]

The lines go into the workspace named (the only one, when there is just one); without
--date-order the workspace's date order applies.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from customers.layouts import file_guesses
from customers.management.workspace_option import add_workspace_argument, workspace_from_option
from customers.models import ImportRecord
from customers.services import import_record_create, import_record_process
from transaction_files import dates
from transaction_files.columns import (
    FIELDS,
    MONEY_GAP,
    gap_label,
    mapping_text,
    parse_mapping_text,
)
from transaction_files.errors import ImportFileError, MappingNeeded


class Command(BaseCommand):
    help = "Import customers and transaction lines from a CSV, gzip CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        add_workspace_argument(parser)
        parser.add_argument(
            "--mapping",
            default="",
            help="field=Column pairs, comma-separated, e.g. customer_id=Cust,timestamp=Date. "
            f"Fields: {' '.join(FIELDS)}.",
        )
        parser.add_argument(
            "--date-order",
            choices=dates.ORDERS,
            default="",
            help="How the file writes dates (default: the workspace's date order).",
        )
        parser.add_argument("--sheet", default="", help="Worksheet to import from an XLSX file.")
        parser.add_argument("--user", default="", help="Username recorded as the importer.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--sync",
            action="store_true",
            default=True,
            help="Import in this process (the default).",
        )
        mode.add_argument(
            "--queue", action="store_true", help="Hand the import to the Celery worker instead."
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        workspace = workspace_from_option(options["workspace"])
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']}")
        try:
            with open(path, "rb") as f:
                record = import_record_create(
                    workspace=workspace,
                    file=f,
                    file_name=path.name,
                    uploaded_by=user,
                    mapping=parse_mapping_text(options["mapping"]),
                    date_order=options["date_order"],
                    sheet=options["sheet"],
                    enqueue=options["queue"],
                )
        except MappingNeeded as exc:
            advice = _guessed(path, exc, sheet=options["sheet"], code_page=workspace.code_page)
            raise CommandError(f"{exc}\n{advice}".rstrip()) from exc
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        if options["queue"]:
            self.stdout.write(
                f"Import #{record.pk} into workspace {workspace.slug} queued for the worker."
            )
            return
        record = import_record_process(workspace=workspace, import_record_id=record.pk)
        self._report(record)
        if record.status == ImportRecord.Status.FAILED:
            raise CommandError(record.error)

    def _report(self, record: ImportRecord) -> None:
        w = self.stdout.write
        slug = record.workspace.slug
        status = record.status_label.lower()
        w(f"Import #{record.pk} {record.file_name}: {status} (workspace {slug})")
        if record.recognised_as:
            w(f"  read as {record.recognised_as}")
        if record.mapping:
            # as --mapping takes it, to import the next file the same way
            w("  mapping " + mapping_text(record.mapping))
        counts = [
            ("rows read", record.rows_read),
            ("lines imported", record.rows_imported),
            ("skipped (no customer id)", record.rows_without_customer),
            ("skipped (guest or walk-in id)", record.rows_with_placeholder_id),
            ("skipped (no sale: cancelled, refunded, unfinished)", record.orders_not_sales),
            ("duplicates", record.rows_duplicate),
            ("rejected", record.rows_rejected),
            ("new customers", record.customers_created),
        ]
        reasons = record.reasons()
        width = max(len(text) for text, _ in counts + [(f"· {r}", 0) for r, _ in reasons])
        for label, value in counts:
            w(f"  {label:<{width}} {value:>10,}")
        for reason, count in reasons:
            w(f"  {'· ' + reason:<{width}} {count:>10,}")
        for notice in record.notices:
            w(f"  notice: {notice}")
        for warning in record.warnings:
            w(f"  warning: {warning}")
        if record.duration_seconds is not None:
            w(f"  took {record.duration_seconds:.2f} s")


def _guessed(path: Path, needed: MappingNeeded, *, sheet: str, code_page: str) -> str:
    """What the upload page would pre-fill, as a --mapping to check and run again with (the
    command has no mapping step); "" when nothing is guessed."""
    try:
        guesses = file_guesses(path, sheet=sheet, code_page=code_page)
    except ImportFileError:
        return ""
    mapping = {field: guess.column for field, guess in guesses.by_field.items()}
    if not mapping:
        return ""
    lines = [
        "Guessed from the columns' names and first rows; check it, then run again with",
        f'  --mapping "{mapping_text(mapping)}"',
    ]
    unsure = [g for g in guesses.by_field.values() if not g.preselected]
    lines += [f"  less sure, {FIELDS[g.field].lower()}: {g.reason}." for g in unsure]
    guessed = set(mapping) | ({MONEY_GAP} if mapping.keys() & {"unit_price", "amount"} else set())
    unguessed = [m for m in needed.missing if m not in guessed]
    if unguessed:
        lines.append(f"  No column looked like {', '.join(gap_label(m) for m in unguessed)}.")
    return "\n".join(lines)
