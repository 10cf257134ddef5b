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
# Year first: 2024-01-05, 2024/01/05 (East Asia's spreadsheets), 2024.01.05 (Hungary's)
_ISO_RE = r"^\d{4}([-/.])\d{1,2}\1\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_COMPACT_RE = r"^\d{8}$"
# A time with its offset from UTC, as platforms and APIs export them: "2024-01-05T10:15:00Z",
# "2024-01-05 10:15:00 -0500" (Shopify), "2024-01-05 10:15:00+05:30", "... UTC".
_OFFSET_RE = (
    r"^(\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
)
# A time after a date: 10:15, 10:15:30, 10:15 AM, 1:15 p.m.
_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?"
# Day and month first: 31/01/2024, 31-01-24, 31.01.2024, and as Czech and Slovak write it,
# "31. 1. 2024" (a space after each dot)
_DMY_RE = (
    rf"^(\d{{1,2}})(?:[/\-]|\.\s?)(\d{{1,2}})(?:[/\-]|\.\s?)(\d{{4}}|\d{{2}})(?:[ T]{_TIME})?$"
)
# Year first as Hungarian writes it, a dot after each part: "2024. 03. 05.", "2024.03.05. 10:15"
_YMD_DOTTED_RE = rf"^(\d{{4}})\.\s?(\d{{1,2}})\.\s?(\d{{1,2}})\.(?:\s+{_TIME})?$"
# Year first with a 12-hour time: "2024-03-05 1:15 PM" (a till's date and time joined).
_ISO_12H_RE = rf"^(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}})[ T]{_TIME}$"
# Dates with the month's name: "Jan 5, 2024", "Friday, January 5, 2024 10:15 AM",
# "Jan-05-24" (eBay), "5 Jan 2024", "05-Jan-2024", "5-Jan-24", and as European shops write
# them: "5. März 2024", "1er janvier 2024", "5 de enero de 2024", "5 gennaio 2024". They say
# which number is the day.
_WORD = r"[^\W\d_]{3,12}"  # letters of any language ("października": 12)
_WEEKDAY = rf"(?:{_WORD}\.?,?\s+)?"
_NAMED_MDY_RE = (
    rf"^{_WEEKDAY}({_WORD})\.?(?:\s+|-)(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+|-)"
    rf"(\d{{4}}|\d{{2}})(?:,?\s+{_TIME})?$"
)
# Year first as Hungarian writes it with the month's name: "2024. december 5.", "2024. dec. 5."
_YMD_NAMED_RE = rf"^(\d{{4}})\.\s+({_WORD})\.?\s+(\d{{1,2}})\.?(?:,?\s+{_TIME})?$"
_NAMED_DMY_RE = (
    rf"^{_WEEKDAY}(\d{{1,2}})(?:st|nd|rd|th|er)?\.?[\s\-]+(?:de\s+)?({_WORD})\.?"
    rf"(?:\s+de)?[\s\-,]+(\d{{4}}|\d{{2}})(?:,?\s+(?:um\s+|à\s+|a\s+las\s+)?{_TIME})?$"
)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")  # fmt: skip
# Other languages' month names and abbreviations (French, German, Spanish, Italian, Dutch,
# Portuguese; Polish and Czech, nominative and genitive; Swedish, Danish, Norwegian;
# Hungarian; Finnish, with its partitive), each one month's only: no word names two months.
_OTHER_MONTHS = {
    1: "janvier janv januar jän jänner enero ene gennaio gen januari janeiro styczeń stycznia sty "
       "leden ledna led január tammikuu tammikuuta tammi",
    2: "février fevrier févr fevr fév fev februar febrero febbraio februari fevereiro luty lutego "
       "lut únor února úno február febr helmikuu helmikuuta helmi",
    3: "mars märz maerz mrz mär marzo maart mrt março marco marzec marca březen března bře marts "
       "március márc maaliskuu maaliskuuta maalis",
    4: "avril avr abril aprile kwiecień kwietnia kwi duben dubna dub április ápr huhtikuu "
       "huhtikuuta huhti",
    5: "mai mayo maggio mag mei maio maj maja květen května kvě május máj toukokuu toukokuuta "
       "touko",
    6: "juin juni junio giugno giu junho czerwiec czerwca cze červen června čvn június jún "
       "kesäkuu kesäkuuta kesä",
    7: "juillet juil juli julio luglio lug julho lipiec lipca lip červenec července čvc július "
       "júl heinäkuu heinäkuuta heinä",
    8: "août aout agosto ago augustus sierpień sierpnia sie srpen srpna srp augusti augusztus "
       "elokuu elokuuta elo",
    9: "septembre setiembre septiembre settembre set setembro wrzesień września wrz září zář "
       "szeptember szept syyskuu syyskuuta syys",
    10: "octobre oktober okt octubre ottobre ott outubro out październik października paź říjen "
        "října říj október lokakuu lokakuuta loka",
    11: "novembre noviembre novembro listopad listopada listopadu lis marraskuu marraskuuta "
        "marras",
    12: "décembre decembre déc dezember dez diciembre dic dicembre dezembro grudzień grudnia gru "
        "prosinec prosince pro joulukuu joulukuuta joulu",
}  # fmt: skip
_MONTH_WORDS = {word: month for month, words in _OTHER_MONTHS.items() for word in words.split()}


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


def dotted_only(values: pd.Series) -> bool:
    """Whether every day/month date among `values` is written with dots ("05.12.2026"), as
    only day-first dates are (Germany to Russia); true when there is none."""
    forms = values[is_day_month_form(values)]
    return bool(forms.str.match(r"^\d{1,2}\.\s?\d{1,2}\.").all())


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
    day_first_seen: bool,
    month_first_seen: bool,
    example: str = "",
    then: str = "import again",
    *,
    dotted: bool = False,
) -> str:
    """The order the file's dates show; day-first when no date tells but all are written with
    dots (`dotted`: dotted_only). ImportFileError when they mix both forms, or when nothing
    tells; `example` (one of the file's dates) is quoted then, and `then` says what to do
    once the order is chosen."""
    if day_first_seen and month_first_seen:
        raise ImportFileError(
            "The dates mix day-first (31/01) and month-first (01/31) forms; "
            "fix the file or choose the date order so the other rows are rejected."
        )
    if day_first_seen:
        return DAYFIRST
    if month_first_seen:
        return MONTHFIRST
    if dotted:
        return DAYFIRST
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
            rest_text[iso].str.replace(r"^(\d{4})[/.](\d{1,2})[/.]", r"\1-\2-", regex=True),
            format="ISO8601",
            errors="coerce",
        )
        out[iso] = parsed.astype(RESOLUTION).to_numpy()
    iso_12h = rest_text[~iso].str.extract(_ISO_12H_RE)
    iso_12h = iso_12h[iso_12h[7].notna()]  # with AM or PM (24-hour ones are ISO above)
    if len(iso_12h):
        out[iso_12h.index] = _assemble(
            pd.to_numeric(iso_12h[3]), pd.to_numeric(iso_12h[2]), iso_12h[0], iso_12h[[4, 5, 6, 7]]
        ).to_numpy()
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
        parts = rest_text[dmy].str.extract(_DMY_RE)
        first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[1])
        day, month = (first, second) if order == DAYFIRST else (second, first)
        out[dmy] = _assemble(day, month, parts[2], parts[[3, 4, 5, 6]]).to_numpy()
    # the rarer forms, tried only on what no form above read: numeric files pay nothing
    for pattern, day_at, month_at, year_at in (
        (_YMD_DOTTED_RE, 2, 1, 0),
        (_YMD_NAMED_RE, 2, 1, 0),
        (_NAMED_MDY_RE, 1, 0, 2),
        (_NAMED_DMY_RE, 0, 1, 2),
    ):
        left = rest_text[out.isna().to_numpy() & ~dmy.to_numpy()]
        if left.empty:
            break
        found = left.str.extract(pattern)
        found = found[found[0].notna()]
        if len(found):
            month = found[month_at]
            month = pd.to_numeric(month) if pattern is _YMD_DOTTED_RE else month.map(_month_number)
            times = found[[3, 4, 5, 6]]
            out[found.index] = _assemble(
                pd.to_numeric(found[day_at]), month, found[year_at], times
            ).to_numpy()
    result[rest] = out.to_numpy()
    return result


def _month_number(name: str) -> float:
    """1-12 for a month's name in English (or its first three letters or more, or "Sept")
    or in another language of _OTHER_MONTHS."""
    word = name.lower()
    if word in _MONTH_WORDS:
        return float(_MONTH_WORDS[word])
    return _english_month_number(name)


def _english_month_number(name: str) -> float:
    """1-12 for an English month's name or its first three letters or more ("Sept")."""
    name = name.lower()
    for number, month in enumerate(_MONTHS, start=1):
        if len(name) >= 3 and month.startswith(name if name != "sept" else "sep"):
            return float(number)
    return float("nan")


def _assemble(day: pd.Series, month: pd.Series, year: pd.Series, times: pd.DataFrame) -> pd.Series:
    """Datetimes from their parts (NaT where impossible): a two-digit year is this century's;
    times are (hour, minute, second, "a"/"p" or NaN) and 12 AM is midnight."""
    year = pd.to_numeric(year)
    year = year.where(year >= 100, year + 2000)
    hour, minute, second = (pd.to_numeric(times.iloc[:, i]) for i in range(3))
    half = times.iloc[:, 3].str.lower()
    twelve_hour = half.notna()
    bad_hour = twelve_hour & ((hour < 1) | (hour > 12))
    hour = hour.where(~twelve_hour, hour % 12 + (half == "p") * 12)
    frame = pd.DataFrame(
        {
            "year": year,
            "month": month,
            "day": day,
            "hour": hour.fillna(0),
            "minute": minute.fillna(0),
            "second": second.fillna(0),
        }
    )
    parsed = pd.to_datetime(frame, errors="coerce").astype(RESOLUTION)
    return parsed.where(~bad_hour.to_numpy())


def _from_offset(times: pd.Series, offsets: pd.Series, time_zone: str) -> pd.Series:
    """Times with their UTC offsets as wall-clock times in `time_zone` (naive), which the
    import takes back to UTC as it does every local time (to_utc)."""
    zone = offsets.str.upper().replace({"Z": "+00:00", "UTC": "+00:00", "GMT": "+00:00"})
    zone = zone.str.replace(r"^([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)
    zone = zone.str.replace(r"^([+-]\d{2})$", r"\1:00", regex=True)
    aware = pd.to_datetime(times + zone, format="ISO8601", utc=True, errors="coerce")
    return aware.dt.tz_convert(time_zone).dt.tz_localize(None).astype(RESOLUTION)


def from_utc(naive: pd.Series, time_zone: str) -> pd.Series:
    """UTC times (naive) as wall-clock times in `time_zone`, as the import holds times."""
    aware = naive.dt.tz_localize("UTC").dt.tz_convert(time_zone)
    return aware.dt.tz_localize(None).astype(RESOLUTION)


def to_utc(naive: pd.Series, time_zone: str) -> pd.Series:
    """Local wall-clock times (as shops export them) to UTC."""
    ambiguous = np.zeros(len(naive), dtype=bool)  # the repeated autumn hour: standard time
    local = naive.dt.tz_localize(time_zone, ambiguous=ambiguous, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")
