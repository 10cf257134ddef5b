"""Django admin forms as the browser posts them (a module, not a test: pytest collects
nothing here)."""

from __future__ import annotations

from collections.abc import Sequence


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    """An inline formset as the browser posts it."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def workspace_add_form(*, memberships: Sequence[dict] = (), **fields: str) -> dict:
    """The admin's "add workspace" form: a garden centre in Dublin unless `fields` say
    otherwise, with `memberships` ({"user": pk, "role": ...}) inline."""
    data = {
        "name": "Garden centre",
        "slug": "garden",
        "currency": "EUR",
        "time_zone": "Europe/Dublin",
        "date_order": "dayfirst",
        "code_page": "cp1252",
        **fields,
    }
    return {**data, **inline("memberships", list(memberships))}
