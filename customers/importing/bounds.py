"""The plausible-data bounds (transaction_files.plausible.Bounds) from the settings, for the
file import and the JSON API alike."""

from __future__ import annotations

from django.conf import settings

from transaction_files.plausible import Bounds


def import_bounds() -> Bounds:
    return Bounds(
        earliest_year=settings.IMPORT_EARLIEST_YEAR,
        future_days=settings.IMPORT_FUTURE_DAYS,
        max_quantity=settings.IMPORT_MAX_QUANTITY,
        max_unit_price=settings.IMPORT_MAX_UNIT_PRICE,
        max_amount=settings.IMPORT_MAX_AMOUNT,
    )
