"""Dates in ISO, YYYYMMDD, day-first and month-first forms, parsed column-wise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ImportFileError

ISO = "iso"
DAYFIRST = "dayfirst"
MONTHFIRST = "monthfirst"
ORDERS = (ISO, DAYFIRST, MONTHFIRST)

_COMMON_FORMAT = "%Y-%m-%d %H:%M:%S"
_ISO_RE = r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_COMPACT_RE = r"^\d{8}$"
# A time with its offset from UTC, as platforms and APIs export them: "2024-01-05T10:15:00Z",
# "2024-01-05 10:15:00 -0500" (Shopify), "2024-01-05 10:15:00+05:30", "... UTC".
_OFFSET_RE = (
    r"^(\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
)
_DMY_RE = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"


class DateOrderNeeded(ValueError):
    """Day/month dates met with no date order given: the caller detects the order from the
    whole column (reader.detect_date_order) and parses again."""


def is_day_month_form(values: pd.Series) -> pd.Series:
    return values.str.match(_DMY_RE, na=False)


def order_evidence(values: pd.Series) -> tuple[bool, bool]:
    """(some value can only be day-first, some value can only be month-first)."""
    parts = values[is_day_month_form(values)].str.extract(_DMY_RE)
    if parts.empty:
        return False, False
    first = pd.to_numeric(parts[0])
    second = pd.to_numeric(parts[1])
    return bool((first > 12).any()), bool((second > 12).any())


def contradicting_example(values: pd.Series, order: str) -> str:
    """A value that can only be read in the other order than `order` (day-first or
    month-first), "" when none: a file that contradicts the order it is read in."""
    forms = values[is_day_month_form(values)]
    if forms.empty or order not in (DAYFIRST, MONTHFIRST):
        return ""
    parts = forms.str.extract(_DMY_RE)
    # day-first reads the first part as the day: a second part over 12 is a month-first day
    other = pd.to_numeric(parts[1 if order == DAYFIRST else 0]) > 12
    return str(forms[other.to_numpy()].iloc[0]) if other.any() else ""


def day_month_example(values: pd.Series) -> str:
    """The first day/month date among `values` ("" if none): the file's own example for the
    messages that ask for the date order."""
    forms = values[is_day_month_form(values)]
    return str(forms.iloc[0]) if len(forms) else ""


def decide_order(
    day_first_seen: bool, month_first_seen: bool, example: str = "", then: str = "import again"
) -> str:
    """The order the file's dates show. ImportFileError when they mix both forms, or when no
    date tells; `example` (one of the file's dates) is quoted then, and `then` says what to
    do once the order is chosen."""
    if day_first_seen and month_first_seen:
        raise ImportFileError(
            "The dates mix day-first (31/01) and month-first (01/31) forms; "
            "fix the file or choose the date order so the other rows are rejected."
        )
    if day_first_seen:
        return DAYFIRST
    if month_first_seen:
        return MONTHFIRST
    such_as = f"“{example}”" if example else "01/02/2011"
    raise ImportFileError(
        f"The dates are ambiguous: every date (such as {such_as}) can be read day-first or "
        f"month-first. Choose the date order (day first or month first) and {then}."
    )


# Microseconds: every year from 1 to 9999 fits, so a date outside a shop's plausible window
# is parsed, then rejected as such (transaction_files.plausible), never an overflow.
RESOLUTION = "datetime64[us]"


def parse_timestamps(values: pd.Series, *, order: str | None, time_zone: str = "UTC") -> pd.Series:
    """Naive datetimes at microsecond resolution (NaT where unreadable): wall-clock times in
    `time_zone`, the shop's, as times without an offset are taken to be; a time with an
    offset is converted to it. `order` is needed only for day/month forms; when it is not
    day-first or month-first and such values occur, DateOrderNeeded is raised."""
    if isinstance(values.dtype, pd.StringDtype):
        text = values.str.strip()
    else:
        text = values.astype(object).where(values.notna(), None)
        text = pd.Series(text, index=values.index, dtype="str").str.strip()
    result = pd.to_datetime(text, format=_COMMON_FORMAT, errors="coerce").astype(RESOLUTION)
    rest = result.isna() & text.notna()
    if not rest.any():
        return result
    rest_text = text[rest]
    out = pd.Series(pd.NaT, index=rest_text.index, dtype=RESOLUTION)

    iso = rest_text.str.match(_ISO_RE, na=False)
    if iso.any():
        parsed = pd.to_datetime(
            rest_text[iso].str.replace("/", "-", regex=False), format="ISO8601", errors="coerce"
        )
        out[iso] = parsed.astype(RESOLUTION).to_numpy()
    with_offset = rest_text.str.extract(_OFFSET_RE)
    has_offset = with_offset[0].notna().to_numpy()
    if has_offset.any():
        out[has_offset] = _from_offset(
            with_offset.loc[has_offset, 0], with_offset.loc[has_offset, 1], time_zone
        ).to_numpy()
    compact = rest_text.str.match(_COMPACT_RE, na=False)
    if compact.any():
        out[compact] = (
            pd.to_datetime(rest_text[compact], format="%Y%m%d", errors="coerce")
            .astype(RESOLUTION)
            .to_numpy()
        )
    dmy = is_day_month_form(rest_text)
    if dmy.any():
        # ISO names how a shop writes dates, and a day/month date is never ISO: such a
        # file's own dates decide, as with no order (docs/decisions/date-order-as-fallback.md)
        if order not in (DAYFIRST, MONTHFIRST):
            raise DateOrderNeeded("order needed")
        parts = rest_text[dmy].str.extract(_DMY_RE).apply(pd.to_numeric)
        day, month = (parts[0], parts[1]) if order == DAYFIRST else (parts[1], parts[0])
        year = parts[2].where(parts[2] >= 100, parts[2] + 2000)
        frame = pd.DataFrame(
            {
                "year": year,
                "month": month,
                "day": day,
                "hour": parts[3].fillna(0),
                "minute": parts[4].fillna(0),
                "second": parts[5].fillna(0),
            }
        )
        out[dmy] = pd.to_datetime(frame, errors="coerce").astype(RESOLUTION).to_numpy()
    result[rest] = out.to_numpy()
    return result


def _from_offset(times: pd.Series, offsets: pd.Series, time_zone: str) -> pd.Series:
    """Times with their UTC offsets as wall-clock times in `time_zone` (naive), which the
    import takes back to UTC as it does every local time (to_utc)."""
    zone = offsets.str.upper().replace({"Z": "+00:00", "UTC": "+00:00", "GMT": "+00:00"})
    zone = zone.str.replace(r"^([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)
    zone = zone.str.replace(r"^([+-]\d{2})$", r"\1:00", regex=True)
    aware = pd.to_datetime(times + zone, format="ISO8601", utc=True, errors="coerce")
    return aware.dt.tz_convert(time_zone).dt.tz_localize(None).astype(RESOLUTION)


def to_utc(naive: pd.Series, time_zone: str) -> pd.Series:
    """Local wall-clock times (as shops export them) to UTC."""
    ambiguous = np.zeros(len(naive), dtype=bool)  # the repeated autumn hour: standard time
    local = naive.dt.tz_localize(time_zone, ambiguous=ambiguous, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")
