"""Remembered file layouts (ImportLayout): a mapping made once for a header is used for the
next file with the same header, and can be edited or forgotten. Also the mapping page's
guesses and preview, from the first rows kept on the import (the file is not opened)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from transaction_files.columns import platform_date_order, resolve_mapping
from transaction_files.errors import ImportFileError, MappingNeeded
from transaction_files.guesses import (
    Guesses,
    guess_mapping,
    header_signature,
    name_key,
)
from transaction_files.preview import FileSample, Preview, file_sample, preview, stored_sample
from transaction_files.sources import inspect_source

from .importing.bounds import import_bounds
from .kept_out import kept_out_customer_ids
from .models import ImportLayout, ImportRecord


def layout_signature(columns: list[str]) -> str:
    return hashlib.sha256(header_signature(columns).encode()).hexdigest()


def layout_mapping_for(layout: ImportLayout, columns: list[str]) -> dict[str, str]:
    """The layout's mapping in this file's own column names ("Basket ID" for "basket_id")."""
    by_key = {name_key(c): c for c in columns}
    return {
        field: by_key[name_key(column)]
        for field, column in layout.mapping.items()
        if name_key(column) in by_key
    }


def needs_mapping(columns: list[str]) -> bool:
    """True when the header is not one this tool recognises by itself."""
    try:
        resolve_mapping(columns, None)
    except MappingNeeded:
        return True
    return False


@transaction.atomic
def import_layout_remember(*, workspace, import_record: ImportRecord) -> ImportLayout:
    """Remember the mapping (and date order) `import_record` used for its header; the
    layout of that header is replaced if there was one."""
    layout, _ = ImportLayout.objects.in_workspace(workspace).update_or_create(
        workspace=workspace,
        signature=layout_signature(import_record.columns),
        defaults={
            "columns": import_record.columns,
            "mapping": import_record.mapping,
            "date_order": import_record.date_order,
            "updated_by": import_record.uploaded_by,
        },
        create_defaults={
            "columns": import_record.columns,
            "mapping": import_record.mapping,
            "date_order": import_record.date_order,
            "created_by": import_record.uploaded_by,
            "updated_by": import_record.uploaded_by,
        },
    )
    ImportRecord.objects.in_workspace(workspace).filter(pk=import_record.pk).update(layout=layout)
    return layout


def import_layout_remember_if_mapped(*, workspace, import_record: ImportRecord) -> None:
    """After an import: a succeeded import whose columns were mapped by hand teaches its
    layout (one that used a remembered layout leaves it as the user last edited it)."""
    if (
        import_record.status == ImportRecord.Status.SUCCEEDED
        and import_record.rows_imported > 0
        and import_record.layout_id is None
        and needs_mapping(import_record.columns)
    ):
        import_layout_remember(workspace=workspace, import_record=import_record)


@transaction.atomic
def import_layout_update(
    *, workspace, layout_id: int, mapping: dict[str, str], date_order: str, user
) -> ImportLayout:
    """Change a remembered layout's mapping; ImportFileError (a required field without a
    column, a column that is not in the header) leaves it as it was."""
    layout = ImportLayout.objects.in_workspace(workspace).select_for_update().get(pk=layout_id)
    try:
        layout.mapping = resolve_mapping(layout.columns, mapping)
    except MappingNeeded as exc:
        raise ImportFileError(str(exc)) from exc
    layout.date_order = date_order
    layout.updated_by = user
    layout.save(update_fields=["mapping", "date_order", "updated_by", "updated_at"])
    return layout


@transaction.atomic
def import_layout_forget(*, workspace, layout_id: int) -> None:
    """Forget a layout: the next file of that header asks for its mapping again."""
    ImportLayout.objects.in_workspace(workspace).get(pk=layout_id).delete()


@dataclass
class MappingAdvice:
    guesses: Guesses
    preview: Preview


def _sample(import_record: ImportRecord) -> FileSample:
    """The first rows kept on the import with its header; the file is not opened."""
    return stored_sample(import_record.sample, columns=import_record.columns)


def guessed_mapping(*, import_record: ImportRecord) -> dict[str, str]:
    """The pre-selected (high-confidence) guesses for an import's file; none when its first
    rows could not be read (the import itself will say why)."""
    try:
        sample = _sample(import_record)
    except ImportFileError:
        return {}
    return guess_mapping(import_record.columns, sample.frame).mapping()


def file_guesses(path: Path, *, sheet: str, code_page: str) -> Guesses:
    """The guesses for a file not imported yet (the command line's, which has no mapping
    step): from its header and first rows. Raises ImportFileError when they cannot be read."""
    info = inspect_source(path, sheet=sheet, code_page=code_page)
    sample = stored_sample(file_sample(path, info), columns=info.columns)
    return guess_mapping(info.columns, sample.frame)


def mapping_advice(
    *, workspace, import_record: ImportRecord, mapping: dict[str, str], date_order: str
) -> MappingAdvice:
    """The guesses for an import's file and its first rows as `mapping` would store them,
    read in the workspace's time zone and the date order chosen for the file (else the
    workspace's, which the rows' dates may contradict: the preview says so, as the import
    would). ImportFileError when the first rows could not be read."""
    sample = _sample(import_record)
    known_order = platform_date_order(import_record.columns)
    return MappingAdvice(
        guesses=guess_mapping(import_record.columns, sample.frame),
        preview=preview(
            sample,
            mapping,
            date_order=date_order or known_order or workspace.date_order or None,
            order_default_from=None if date_order or known_order else ImportRecord.WORKSPACE_ORDER,
            pseudonym_key=workspace.pseudonym_key,
            currency=workspace.currency,
            money_marks=workspace.currency_marks,
            kept_customer_ids=workspace.kept_customer_ids,
            kept_out_customer_ids=kept_out_customer_ids(workspace=workspace),
            time_zone=workspace.time_zone,
            decimal_comma=sample.delimiter != ",",
            bounds=import_bounds(),
            uploaded_at=import_record.created_at,
        ),
    )
