"""One chunk of text rows -> typed, flagged transaction lines, rows skipped, rows rejected.

Everything here is column-wise pandas/pyarrow, with no Python loop per row. The line hash
(the identity that keeps a line from being stored twice) is MD5, so a line's hash never
changes with a library upgrade; DuckDB computes it. The staging table hashes each chunk as
it prepares it (see customers/importing/staging.py).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import dates
from .columns import NUMBER_FIELDS, says_utc
from .errors import ImportFileError
from .numbers import other_currency, to_numbers
from .placeholders import placeholder_mask
from .plausible import (
    AMOUNT_LIMIT,
    MAX_DESCRIPTION,
    MAX_TEXT,
    UNIT_PRICE_LIMIT,
    Bounds,
    number_message,
)
from .pseudonyms import EMAIL_SHAPE, pseudonymised

MAX_NUMBER = 1e10
NON_PRODUCT_CODES = {
    "POST",
    "DOT",
    "M",
    "C2",
    "D",
    "S",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "PADS",
    "B",
}
NON_PRODUCT_PREFIXES = ("GIFT_0001", "DCGS")
#: An order status saying the order did not happen: cancelled, refunded (in full), voided,
#: failed or declined (or a checkout never finished), in English and as German, French,
#: Spanish, Italian, Dutch, Portuguese, Polish, Czech, Nordic, Hungarian and Finnish shops'
#: exports write them
#: (storniert, annulée, reembolsado, anulowane, zrušeno, återbetald, törölve, peruttu, ...).
#: A partial refund keeps the order.
_PARTIAL = (
    r"partial|teilweise|partiel|parcial|parzial|gedeeltelijk|częściow|částečn|delvis|"
    r"részleges|osittai"
)
NOT_A_SALE = (
    rf"(?i)^(?!.*(?:{_PARTIAL})).*(?:cancel|refund|void|fail|declin|storn|erstatt|"
    r"fehlgeschlag|abgelehnt|annul|anulad|rembours|[ée]chou|refus|reembols|fallid|fallit|"
    r"rechazad|rimbors|rifiutat|terugbetaald|mislukt|geweigerd|malsucedid|recusad|estornad|"
    r"anulowan|zwrot|zwrócon|odrzucon|nieudan|zrušen|vrácen|zamítnut|neúspěšn|återbetal|"
    r"makuler|misslyck|nekad|kansellert|mislykke|avvist|afvist|sztorn|törölv|visszatérít|"
    r"sikertelen|elutasít|perut|hyvitet|epäonnistu|hylät|"
    # checkouts never finished: WooCommerce's unpaid "Pending payment" and block checkout's
    # "checkout-draft", BigCommerce's "Incomplete", any "Abandoned" (a bare "pending" is
    # Shopify's payment on its way, a sale)
    r"pending[ _-]?payment|\bdraft\b|incomplete|abandon)"
)
#: A line type saying the line gives money back (Square's "Refund" event, a till's
#: "Return", "Retoure", "Remboursement", "Devolución", "Reso", "Zwrot", "Retur", ...).
REFUND_LINE = (
    r"(?i)refund|retur|erstatt|retour|rembours|reembols|devolu|rimbors|\breso\b|"
    r"terugbetal|estorn|zwrot|vrácen|visszár|visszatérít|palautu|hyvity"
)
# A date cell's time that says nothing: midnight, as a spreadsheet writes a date alone.
MIDNIGHT = r"[ T]00:00(?::00(?:\.0+)?)?$"
#: Customers per chunk whose rows are counted towards the file's largest (ChunkResult)
TOP_CUSTOMERS = 3
OTHER_ORDER = {dates.DAYFIRST: dates.MONTHFIRST, dates.MONTHFIRST: dates.DAYFIRST}
#: Why a date was not read, by the date order the import reads day/month dates in.
BAD_DATE_MESSAGES = {
    "": "Not a date this tool can read (ISO, YYYYMMDD, day-first or month-first, or with "
    "the month's name).",
    dates.DAYFIRST: "Not a date this import can read: it reads ISO, YYYYMMDD and day-first "
    "dates (31/12/2024), and dates with the month's name.",
    dates.MONTHFIRST: "Not a date this import can read: it reads ISO, YYYYMMDD and "
    "month-first dates (12/31/2024), and dates with the month's name.",
}
LINE_COLUMNS = [
    "line_no",
    "customer_ext",
    "invoice",
    "product_code",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "ts",
    "country",
    "is_return",
    "is_non_product",
    "invoice_given",  # the file named the line's order: an exact repeat is then a copy
]


@dataclass
class Rejection:
    line_number: int
    column: str
    value: str
    message: str


#: Reasons for rows left out by the shop's own rules, not for a fault of the row.
SKIPPED_ON_PURPOSE = ("skipped_placeholder_customer_id", "skipped_kept_out_customer")


@dataclass
class ChunkResult:
    lines: pd.DataFrame  # LINE_COLUMNS
    rows_read: int = 0
    rows_skipped: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    # the ids skipped as standing for no customer ("Guest", "0"), with their rows
    placeholder_ids: Counter = field(default_factory=Counter)
    # the chunk's customers with the most rows (TOP_CUSTOMERS of them), as stored: an id that
    # stands for many buyers (a marketplace, a till's own default) shows as one of them
    top_customers: Counter = field(default_factory=Counter)
    # customer_ext, email, name, ts of the kept lines that give contact details (or None)
    contacts: pd.DataFrame | None = None


@dataclass
class Normaliser:
    mapping: dict[str, str]  # field -> column
    date_order: str | None
    time_zone: str
    decimal_comma: bool = False
    # The plausible window and ranges (plausible.Bounds); dates are checked against the
    # upload's time (None: now).
    bounds: Bounds = field(default_factory=Bounds)
    uploaded_at: datetime | None = None
    # Where a day-first or month-first order came from when nobody chose it for this file
    # ("this workspace's setting"): a file whose dates contradict it fails, rather than
    # having its other dates misread (11/8 as 11 August). None: the order was chosen, and
    # dates it cannot read are rejected one by one.
    order_default_from: str | None = None
    # The shop's key for customer ids that are e-mail addresses (pseudonyms.py); "" keeps
    # them as they are (the engine's command line, which stores nothing).
    pseudonym_key: str = ""
    # The workspace's currency, and the marks its amounts may carry ("£", "GBP"): an amount
    # written in another ("€15") is rejected. No marks: any is read (the command line).
    currency: str = ""
    money_marks: frozenset[str] = frozenset()
    # Ids the shop says are real customers though they look like placeholders ("0").
    kept_customer_ids: frozenset[str] = frozenset()
    # Ids, as stored, of customers the shop removed and keeps out: their rows are skipped.
    kept_out_customer_ids: frozenset[str] = frozenset()
    # For an order split between two chunks (_by_order), by field: the last chunk's first
    # line number, the (invoice, value) carried into it and the one carried out of it. A
    # chunk run again (once its date order is known) takes what was carried into it.
    _carry: dict[str, tuple[int, tuple | None, tuple]] = field(
        default_factory=dict, init=False, repr=False
    )

    def _by_order(self, cleaned: dict[str, pa.Array], name: str, first_line: int) -> pd.Series:
        """A field given on an order's first row only (Shopify's status and currency): a
        blank one is the value of the rows above it with the same invoice, in this chunk or
        the one before."""
        given = pd.Series(cleaned[name], dtype="str")
        invoice = cleaned.get("invoice")
        if invoice is None or not len(given):
            return given
        orders = pd.Series(invoice, dtype="str")
        carried_in = None
        if name in self._carry:
            last_first, last_in, last_out = self._carry[name]
            carried_in = last_in if last_first == first_line else last_out
        if carried_in is not None:
            orders = pd.concat([pd.Series([carried_in[0]], dtype="str"), orders])
            given = pd.concat([pd.Series([carried_in[1]], dtype="str"), given])
        given, orders = given.reset_index(drop=True), orders.reset_index(drop=True)
        run = (orders != orders.shift()).cumsum()  # a blank invoice is an order alone
        given = given.groupby(run).ffill()
        self._carry[name] = (first_line, carried_in, (orders.iloc[-1], given.iloc[-1]))
        return given.iloc[1:].reset_index(drop=True) if carried_in is not None else given

    def _not_a_sale(self, cleaned: dict[str, pa.Array], first_line: int) -> np.ndarray:
        """Rows of orders whose status says they did not happen (NOT_A_SALE)."""
        if "status" not in cleaned:
            return np.zeros(len(cleaned["customer_id"]), dtype=bool)
        status = self._by_order(cleaned, "status", first_line)
        return _matches(status, NOT_A_SALE)

    def _placeholders(self, ids: pa.Array, result: ChunkResult) -> np.ndarray | None:
        """Rows whose customer id stands for no customer (placeholders.py), skipped and
        counted by id; None when there are none (judged once per distinct id)."""
        distinct = pc.unique(ids.drop_null())
        found = distinct.filter(placeholder_mask(distinct, kept=self.kept_customer_ids))
        if not len(found):
            return None
        mask = pc.fill_null(pc.is_in(ids, value_set=found), False)
        counts = pc.value_counts(ids.filter(mask))
        for item in counts.to_pylist():
            result.placeholder_ids[item["values"]] += item["counts"]
        skipped = int(pc.sum(mask).as_py())
        result.rows_skipped += skipped
        result.reasons["skipped_placeholder_customer_id"] += skipped
        return mask.to_numpy(zero_copy_only=False)

    def _kept_out(self, ids: pa.Array, candidates: np.ndarray, result: ChunkResult) -> np.ndarray:
        """Which of the `candidates` rows belong to customers the shop keeps out, compared
        as stored (an e-mail as its pseudonym, judged once per distinct id); skipped and
        counted."""
        distinct = pc.unique(ids.drop_null())
        stored, _ = customer_ids_as_stored(
            pd.Series(distinct.to_pylist(), dtype="str"), self.pseudonym_key
        )
        found = distinct.filter(pa.array(stored.isin(self.kept_out_customer_ids).to_numpy()))
        mask = pc.fill_null(pc.is_in(ids, value_set=found), False).to_numpy(zero_copy_only=False)
        mask &= candidates
        skipped = int(mask.sum())
        if skipped:
            result.rows_skipped += skipped
            result.reasons["skipped_kept_out_customer"] += skipped
        return mask

    @property
    def times_in_utc(self) -> bool:
        """The date (or time) column's name says UTC: its times are UTC, not local."""
        return any(says_utc(self.mapping[f]) for f in ("timestamp", "time") if f in self.mapping)

    def column(self, field_name: str) -> str:
        """The file's column(s) a field's values come from, as rejections name them."""
        if field_name == "timestamp" and "time" in self.mapping:
            return f"{self.mapping['timestamp']} + {self.mapping['time']}"
        return self.mapping.get(field_name, field_name)

    def run(self, frame: pd.DataFrame, line_numbers: np.ndarray) -> ChunkResult:
        cleaned = {f: _clean(frame[c]) for f, c in self.mapping.items()}
        if "time" in cleaned:
            # The date and its time of day in columns of their own: read as one. A date that
            # holds a time of its own keeps it; a spreadsheet's midnight gives way.
            given = cleaned["timestamp"]
            date = pc.replace_substring_regex(given, MIDNIGHT, "")
            joined = pc.coalesce(pc.binary_join_element_wise(date, cleaned["time"], " "), given)
            has_time = pc.fill_null(pc.match_substring_regex(date, r"\d:\d\d"), False)
            cleaned["timestamp"] = pc.if_else(has_time, given, joined)
        blank = np.logical_and.reduce(
            [a.is_null().to_numpy(zero_copy_only=False) for a in cleaned.values()]
        )
        has_customer = cleaned["customer_id"].is_valid().to_numpy(zero_copy_only=False)
        result = ChunkResult(lines=pd.DataFrame(columns=LINE_COLUMNS))
        result.rows_read = int((~blank).sum())
        result.rows_skipped = int((~blank & ~has_customer).sum())
        if result.rows_skipped:
            result.reasons["skipped_no_customer_id"] += result.rows_skipped
        placeholder = self._placeholders(cleaned["customer_id"], result)
        if placeholder is not None:
            has_customer = has_customer & ~placeholder
        if self.kept_out_customer_ids:
            has_customer = has_customer & ~self._kept_out(
                cleaned["customer_id"], has_customer, result
            )
        first_line = int(line_numbers[0]) if len(line_numbers) else 0
        not_a_sale = self._not_a_sale(cleaned, first_line) & has_customer
        if "currency" in cleaned:
            currency = self._by_order(cleaned, "currency", first_line)
            cleaned["currency"] = pa.array(currency, type=pa.string(), from_pandas=True)
        if not_a_sale.any():
            result.reasons["skipped_cancelled_order"] += int(not_a_sale.sum())
            result.rows_skipped += int(not_a_sale.sum())
            has_customer = has_customer & ~not_a_sale
        # One filter for both (blank rows have no customer id), in pyarrow: half the cost
        # of pandas'.
        keep = pa.array(has_customer)
        text = {f: pd.Series(a.filter(keep), dtype="str") for f, a in cleaned.items()}
        lines = pd.Series(line_numbers[has_customer])
        n = len(lines)
        if not n:
            return result
        ids = Distinct(text["customer_id"])
        stored_ids, from_email = customer_ids_as_stored(ids.values, self.pseudonym_key)
        customer = ids.spread(stored_ids)
        if from_email.any():
            result.reasons["customer_id_from_email"] += int(from_email[ids.positions].sum())
        rows_by_id = np.bincount(ids.positions, minlength=len(ids.values))
        for i in np.argsort(rows_by_id)[::-1][:TOP_CUSTOMERS]:
            result.top_customers[str(stored_ids.iloc[i])] += int(rows_by_id[i])

        bad = np.zeros(n, dtype=bool)
        rejections: list[tuple[np.ndarray, str, pd.Series, str, str]] = []

        def reject(
            mask: np.ndarray, field_name: str, values: pd.Series, message: str, reason: str
        ) -> None:
            new = mask & ~bad
            if new.any():
                rejections.append((new, field_name, values, message, reason))
                bad[new] = True

        # A NUL character past the block the source checked for binary data: PostgreSQL's
        # text cannot hold it, so the row is rejected here rather than the whole import there.
        for name, values in cleaned.items():
            if pc.any(pc.match_substring(values, "\x00")).as_py():
                nul = pc.fill_null(pc.match_substring(values.filter(keep), "\x00"), False)
                reject(
                    nul.to_numpy(zero_copy_only=False),
                    name,
                    text[name],
                    "Holds a NUL character: binary data, not text.",
                    "rejected_binary_data",
                )

        # A file has far fewer distinct times than lines: parse each time once.
        times = Distinct(text["timestamp"])
        in_utc = self.times_in_utc
        naive_distinct = dates.parse_timestamps(
            times.values, order=self.date_order, time_zone="UTC" if in_utc else self.time_zone
        )
        if in_utc:
            naive_distinct = dates.from_utc(naive_distinct, self.time_zone)
        if self.order_default_from is not None and self.date_order in OTHER_ORDER:
            self._check_order(times.values)
        naive = times.spread(naive_distinct)
        reject(
            naive.isna().to_numpy(),
            "timestamp",
            text["timestamp"],
            BAD_DATE_MESSAGES.get(self.date_order or "", BAD_DATE_MESSAGES[""]),
            "rejected_bad_date",
        )
        # Outside the shop's plausible window: compared once per distinct time too.
        latest = self.bounds.latest(self.uploaded_at, self.time_zone)
        early = naive_distinct < self.bounds.earliest()
        late = naive_distinct > latest
        for mask, message in (
            (early, self.bounds.too_early_message()),
            (late, self.bounds.too_late_message()),
        ):
            if mask.any():
                reject(
                    times.spread(mask).to_numpy(dtype=bool),
                    "timestamp",
                    text["timestamp"],
                    message,
                    "rejected_implausible_date",
                )
        # Only plausible times go on (to UTC, then nanoseconds as the lines hold them).
        naive_distinct = naive_distinct.where(~(early | late))

        numbers = {}
        for name in NUMBER_FIELDS:
            if name not in text:
                continue
            raw = text[name]
            values, foreign = to_numbers(
                raw,
                decimal_comma=self.decimal_comma,
                money=name != "quantity",
                marks=self.money_marks,
            )
            missing = raw.isna().to_numpy()
            if foreign is not None:
                reject(
                    (foreign != "").to_numpy(),
                    name,
                    raw,
                    f"Not in {self.currency}, this workspace's currency: convert it, or "
                    "import it into a workspace in its currency.",
                    "rejected_other_currency",
                )
            unreadable = values.isna().to_numpy() & ~missing
            reject(unreadable, name, raw, "Not a number.", "rejected_bad_number")
            huge = (values.abs() >= MAX_NUMBER).fillna(False).to_numpy()
            reject(huge, name, raw, "Number out of range.", "rejected_bad_number")
            # Rejected: left out of the sums below, where 1e240 × 1e226 would overflow.
            values = values.mask(huge)
            if name == "quantity" or (name == "unit_price" and "amount" not in text):
                reject(missing, name, raw, "Missing value.", "rejected_missing_value")
            if name == "amount" and "unit_price" not in text:
                reject(missing, name, raw, "Missing value.", "rejected_missing_value")
            numbers[name] = values

        if "unit_price" in text and "amount" in text:
            both_missing = (text["unit_price"].isna() & text["amount"].isna()).to_numpy()
            reject(
                both_missing,
                "amount",
                text["amount"],
                "Missing value: give a unit price or a line amount.",
                "rejected_missing_value",
            )

        # Rounded as they are stored (below).
        quantity_given = numbers.get("quantity", pd.Series(1.0, index=range(n))).round(3)
        if "unit_price" in numbers:
            # The amount is quantity x unit price where no amount is given.
            derived = (quantity_given * numbers["unit_price"].round(4)).round(4).abs()
            used = numbers["amount"].isna() if "amount" in numbers else True
            reject(
                ((derived >= AMOUNT_LIMIT) & used).fillna(False).to_numpy(),
                "unit_price",
                text["unit_price"],
                "Quantity times unit price is too large for a line amount.",
                "rejected_bad_number",
            )
        if "amount" in numbers and "unit_price" not in numbers:
            # The unit price is amount / quantity.
            divisor = quantity_given.where(quantity_given != 0)
            derived = (numbers["amount"].round(4) / divisor).round(4).abs()
            reject(
                (derived >= UNIT_PRICE_LIMIT).fillna(False).to_numpy(),
                "amount",
                text["amount"],
                "Amount divided by quantity is too large for a unit price.",
                "rejected_bad_number",
            )

        self._reject_implausible_numbers(numbers, quantity_given, text, reject)

        if "currency" in text and self.money_marks:
            code = text["currency"]
            reject(
                other_currency(code, self.money_marks).to_numpy(),
                "currency",
                code,
                f"Not in {self.currency}, this workspace's currency: convert it, or import it "
                "into a workspace in its currency.",
                "rejected_other_currency",
            )

        for name, limit in (
            ("customer_id", MAX_TEXT),
            ("invoice", MAX_TEXT),
            ("product_code", MAX_TEXT),
            ("country", MAX_TEXT),
            ("description", MAX_DESCRIPTION),
        ):
            if name in text:
                reject(
                    _longer_than(text[name], limit),
                    name,
                    text[name],
                    f"Longer than {limit} characters.",
                    "rejected_too_long",
                )

        for mask, field_name, values, message, reason in rejections:
            idx = np.flatnonzero(mask)
            result.reasons[reason] += len(idx)
            column = self.column(field_name)
            for i in idx:
                value = values.iloc[i]
                result.rejections.append(
                    Rejection(
                        line_number=int(lines.iloc[i]),
                        column=column,
                        value="" if value is None or value is pd.NA else str(value)[:500],
                        message=message,
                    )
                )

        good = ~bad
        if not good.any():
            return result
        quantity = numbers.get("quantity", pd.Series(1.0, index=range(n)))[good].round(3)
        unit_price = numbers.get("unit_price")
        amount = numbers.get("amount")

        def taken_off(name: str, gross: pd.Series) -> pd.Series:
            # A line's discount takes from quantity × unit price (a given line amount is after
            # discounts already), a refund from what was paid; never past nothing.
            if name not in numbers:
                return gross
            off = numbers[name][good].abs().fillna(0.0).round(4)
            return (np.sign(gross) * (gross.abs() - off).clip(lower=0)).round(4)

        if amount is None:
            assert unit_price is not None  # a mapping holds a unit price or an amount
            gross = taken_off("discount", (quantity * unit_price[good]).round(4))
            amount = taken_off("refunded", gross)
            unit_price = unit_price[good].round(4)
        else:
            amount = taken_off("refunded", amount[good].round(4))
            if unit_price is None:
                unit_price = (amount / quantity.where(quantity != 0)).round(4)
            else:
                unit_price = unit_price[good].round(4)
            # A missing amount with a unit price given: the line total is their product.
            product = taken_off("discount", (quantity * unit_price).round(4))
            amount = amount.fillna(taken_off("refunded", product))
        if "line_type" in text:
            # A refund line is a return, however its export signs it (docs/decisions/
            # point-of-sale-and-marketplace-exports.md).
            refund = _matches(text["line_type"][good], REFUND_LINE)
            quantity = quantity.where(~refund, -quantity.abs())
            amount = amount.where(~refund, -amount.abs())
            unit_price = unit_price.abs().where(refund, unit_price)
        naive = naive[good]
        customer = customer[good]

        def opt(name: str) -> pd.Series:
            if name in text:
                return text[name][good].fillna("")
            return pd.Series("", index=customer.index, dtype="str")

        if "invoice" in text:
            invoice = opt("invoice")
            invoice_given = (invoice != "").to_numpy()
        else:
            invoice_given = np.zeros(len(customer), dtype=bool)
            # No invoice column (CDNOW): one purchase occasion per customer and day.
            invoice = customer + "-" + naive.dt.strftime("%Y%m%d")
        product_code = opt("product_code")
        description = opt("description")
        country = opt("country")

        code = product_code.str.upper()
        is_non_product = (
            code.isin(NON_PRODUCT_CODES) | code.str.startswith(NON_PRODUCT_PREFIXES)
        ).to_numpy()
        # A return is told by its sign, never by the invoice's first letter: Online Retail's
        # "C" invoices all have negative quantities, while other shops' order numbers
        # ("CA-2016-152156") and customer ids ("A1", which make CDNOW-style invoices) may
        # start with any letter (docs/decisions/returns-by-sign.md).
        is_return = ((quantity < 0) | (amount < 0)).to_numpy()
        utc = dates.to_utc(naive_distinct, self.time_zone).astype("datetime64[ns, UTC]")
        ts = times.spread(utc)[good]
        if "email" in text or "customer_name" in text:
            result.contacts = _contacts(customer, opt("email"), opt("customer_name"), ts)

        out = pd.DataFrame(
            {
                "line_no": lines[good].to_numpy(),
                "customer_ext": customer.reset_index(drop=True),
                "invoice": invoice.reset_index(drop=True),
                "product_code": product_code.reset_index(drop=True),
                "description": description.reset_index(drop=True),
                "quantity": quantity.to_numpy(dtype=float),
                "unit_price": unit_price.to_numpy(dtype=float),
                "amount": amount.to_numpy(dtype=float),
                "ts": ts.reset_index(drop=True),
                "country": country.reset_index(drop=True),
                "is_return": is_return,
                "is_non_product": is_non_product,
                "invoice_given": invoice_given,
            }
        )
        result.lines = out
        return result

    def _check_order(self, values: pd.Series) -> None:
        message = order_contradiction(values, self.date_order or "", self.order_default_from or "")
        if message:
            raise ImportFileError(message)

    def _reject_implausible_numbers(
        self,
        numbers: dict[str, pd.Series],
        quantity: pd.Series,
        text: dict[str, pd.Series],
        reject: Callable[[np.ndarray, str, pd.Series, str, str], None],
    ) -> None:
        """Quantities, unit prices and line amounts beyond the bounds, given or worked out
        from the others (as they will be stored: rounded)."""
        bounds = self.bounds
        for name, values in numbers.items():
            maximum = bounds.maximum(name)
            beyond = (values.abs() > maximum).fillna(False).to_numpy()
            reject(beyond, name, text[name], number_message(name, maximum), "rejected_bad_number")
        if "unit_price" in numbers:
            amount = (quantity * numbers["unit_price"].round(4)).round(4).abs()
            used = numbers["amount"].isna() if "amount" in numbers else True
            reject(
                ((amount > bounds.max_amount) & used).fillna(False).to_numpy(),
                "unit_price",
                text["unit_price"],
                number_message("amount", bounds.max_amount, derived="Quantity times unit price"),
                "rejected_bad_number",
            )
        elif "amount" in numbers:
            divisor = quantity.where(quantity != 0)
            unit_price = (numbers["amount"].round(4) / divisor).round(4).abs()
            reject(
                (unit_price > bounds.max_unit_price).fillna(False).to_numpy(),
                "amount",
                text["amount"],
                number_message(
                    "unit_price", bounds.max_unit_price, derived="Amount divided by quantity"
                ),
                "rejected_bad_number",
            )


class Distinct:
    """A column's distinct values, for costly work value by value (parsing dates, rewriting
    ids) on columns that repeat: do it on .values, then spread() the result (a Series as long
    as .values) back over the column's rows."""

    def __init__(self, column: pd.Series):
        if isinstance(column.dtype, pd.StringDtype):
            encoded = pc.dictionary_encode(
                pa.array(column, type=pa.string(), from_pandas=True), null_encoding="encode"
            )
            self.values = pd.Series(encoded.dictionary, dtype=column.dtype)
            self.positions = encoded.indices.to_numpy()
        else:
            self.positions, uniques = pd.factorize(column, use_na_sentinel=False)
            self.values = pd.Series(uniques, dtype=column.dtype)
        self.index, self.name = column.index, column.name

    def spread(self, done: pd.Series) -> pd.Series:
        return pd.Series(done.array.take(self.positions), index=self.index, name=self.name)


def by_value(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """fn over the distinct values only, spread back over all of them (see Distinct)."""
    distinct = Distinct(values)
    return distinct.spread(fn(distinct.values))


def customer_ids_as_stored(
    ids: pd.Series, pseudonym_key: str | None
) -> tuple[pd.Series, np.ndarray]:
    """Customer ids (trimmed) as an import stores them: 17850.0 (a spreadsheet's number) as
    17850, an e-mail address as its pseudonym (given a key); and the mask of those that were
    e-mail addresses."""
    ids = ids.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    if not pseudonym_key:
        return ids, np.zeros(len(ids), dtype=bool)
    return pseudonymised(ids, pseudonym_key)


def _longer_than(values: pd.Series, limit: int) -> np.ndarray:
    """Mask of the values longer than limit characters. A value is never longer in characters
    than in bytes, and the byte lengths are at hand: most columns need nothing more."""
    arrow = pa.array(values, type=pa.string(), from_pandas=True)
    longest = pc.max(pc.binary_length(arrow)).as_py()
    if longest is None or longest <= limit:
        return np.zeros(len(values), dtype=bool)
    return pc.fill_null(pc.greater(pc.utf8_length(arrow), limit), False).to_numpy(
        zero_copy_only=False
    )


def _clean(values: pd.Series) -> pa.Array:
    """Trimmed text, null for empty cells."""
    arrow = pa.array(values, type=pa.string(), from_pandas=True)
    if _may_need_trim(arrow):
        arrow = pc.utf8_trim_whitespace(arrow)
    empty = pc.equal(arrow, "")
    if pc.any(empty).as_py():
        arrow = pc.if_else(empty, pa.scalar(None, pa.string()), arrow)
    return arrow


def _may_need_trim(arrow: pa.StringArray) -> bool:
    """False when no value starts or ends with a byte that can belong to whitespace (ASCII
    up to the space, or any byte of a non-ASCII character): then trimming changes nothing,
    and most columns (codes, numbers, dates, ids) are like that. Checking costs a tenth of
    trimming. An empty or null value reads a neighbour's byte: at worst a needless trim."""
    if len(arrow) == 0 or arrow.buffers()[2] is None:
        return False
    offsets = np.frombuffer(arrow.buffers()[1], dtype=np.int32)
    offsets = offsets[arrow.offset : arrow.offset + len(arrow) + 1]
    data = np.frombuffer(arrow.buffers()[2], dtype=np.uint8)
    if not len(data):
        return False
    for edges in (np.minimum(offsets[:-1], len(data) - 1), offsets[1:] - 1):
        edge = data.take(edges)
        if ((edge <= 0x20) | (edge >= 0x80)).any():
            return True
    return False


#: Contact e-mails of another shape are left out (EMAIL_SHAPE).
MAX_EMAIL = 254
MAX_NAME = 200


def _contacts(
    customer: pd.Series, email: pd.Series, name: pd.Series, ts: pd.Series
) -> pd.DataFrame | None:
    """The kept lines' contact details (customer_ext, email, name, ts), lines giving neither
    left out; None when no line gives any. Not part of a line: customers.Customer keeps
    the latest of each (customers.importing.contacts)."""
    email = email.str.strip()
    email = email.where(email.str.fullmatch(EMAIL_SHAPE).fillna(False), "").str.slice(0, MAX_EMAIL)
    name = name.str.strip().str.slice(0, MAX_NAME)
    given = ((email != "") | (name != "")).to_numpy()
    if not given.any():
        return None
    return pd.DataFrame(
        {
            "customer_ext": customer.to_numpy()[given],
            "email": email.to_numpy()[given],
            "name": name.to_numpy()[given],
            "ts": ts.to_numpy()[given],
        }
    )


def _number_text(values: np.ndarray) -> pa.Array:
    """Each number as pyarrow casts it to text ("" for NaN), cast once per distinct value:
    a float's shortest round-trip text costs ten times a lookup, and prices, quantities and
    times repeat. Values are told apart by their bits, so -0.0 keeps its own text ("-0")."""
    codes, distinct = pd.factorize(values.view(np.int64), use_na_sentinel=False)
    text = pc.cast(pa.array(distinct.view(values.dtype), from_pandas=True), pa.string())
    return pc.fill_null(text, "").take(codes)


def _arrow_text(values: pd.Series) -> pa.Array:
    return pc.fill_null(pa.array(values, type=pa.string(), from_pandas=True), "")


def line_hashes(lines: pd.DataFrame) -> np.ndarray:
    """MD5 of the normalised content of each line (identity, not security): an (n, 16)
    uint8 array of the digests.

    The content is the fields joined by U+001F and encoded as UTF-8: customer, invoice,
    product, description, quantity, unit price, amount (numbers in shortest round-trip form,
    a missing one as ""), the time as whole seconds since the epoch (UTC), country.
    """
    epoch = lines["ts"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]")
    seconds = epoch.astype("int64").to_numpy()
    parts = [
        _arrow_text(lines["customer_ext"]),
        _arrow_text(lines["invoice"]),
        _arrow_text(lines["product_code"]),
        _arrow_text(lines["description"]),
        _number_text(lines["quantity"].to_numpy(dtype=float)),
        _number_text(lines["unit_price"].to_numpy(dtype=float)),
        _number_text(lines["amount"].to_numpy(dtype=float)),
        _number_text(seconds),
        _arrow_text(lines["country"]),
    ]
    return md5_digests(pc.binary_join_element_wise(*parts, "\x1f"))


_duckdb = threading.local()
_duckdb_lock = threading.Lock()
_duckdb_database: duckdb.DuckDBPyConnection | None = None


def _duckdb_cursor() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on one in-memory DuckDB database (DuckDB wants a cursor per
    thread; a cursor is far cheaper to open than a database). One thread per query: the
    import's other threads and the database server have the other core."""
    global _duckdb_database
    cursor = getattr(_duckdb, "cursor", None)
    if cursor is None:
        with _duckdb_lock:
            if _duckdb_database is None:
                _duckdb_database = duckdb.connect(config={"threads": 1})
            cursor = _duckdb.cursor = _duckdb_database.cursor()
    return cursor


def md5_digests(values: pa.Array) -> np.ndarray:
    """The MD5 digest of each string (none null), as an (n, 16) uint8 array.

    DuckDB hashes the whole array in C and lets go of the GIL meanwhile, where Python's md5,
    line by line, held it while the import's other threads waited."""
    if len(values) == 0:
        return np.empty((0, 16), dtype=np.uint8)
    if values.null_count:
        raise ValueError("md5_digests: a null value")
    table = _duckdb_cursor().from_arrow(pa.table({"value": values}))
    hashed = table.project("md5_number(value)").to_arrow_table().column(0).combine_chunks()
    # md5_number is the digest read as a little-endian 128-bit integer, which Arrow holds
    # as its 16 bytes: those are the digest's, in order.
    data = np.frombuffer(hashed.buffers()[1], dtype=np.uint8)
    return data[16 * hashed.offset : 16 * (hashed.offset + len(hashed))].reshape(-1, 16)


def hashes_hex(digests: np.ndarray) -> pa.Array:
    """The digests as 32 hex digits each (PostgreSQL reads that as a uuid)."""
    text = np.ascontiguousarray(digests).tobytes().hex().encode()
    return pa.array(np.frombuffer(text, dtype="S32"), type=pa.binary()).cast(pa.string())


def order_contradiction(
    values: pd.Series, order: str, source: str, then: str = "import again"
) -> str:
    """Why dates read in `order` (day-first or month-first, from `source`, which nobody chose
    for this file) would be misread, quoting one that contradicts it; "" when none does."""
    example = dates.contradicting_example(values, order)
    if not example:
        return ""
    words = {dates.DAYFIRST: "day-first", dates.MONTHFIRST: "month-first"}
    read, other = words[order], words[OTHER_ORDER[order]]
    return (
        f"Dates such as “{example}” are {other}, while this import reads {read} dates "
        f"({source}), so its other dates would be misread. Choose the date order and {then}: "
        f"{other} to read them all, {read} to reject such rows."
    )


def _matches(values: pd.Series, pattern: str) -> np.ndarray:
    """Which values `pattern` finds something in (False where empty), judged once per distinct
    value: a column of statuses or line types holds a handful, repeated on every row."""
    distinct = pd.unique(values.dropna())
    found = {v: re.search(pattern, str(v)) is not None for v in distinct}
    return values.map(found).eq(True).to_numpy(dtype=bool)
