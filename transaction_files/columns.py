"""The fields a transaction line needs, and how a file's header maps onto them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .dates import MONTHFIRST
from .errors import ImportFileError, MappingNeeded

FIELDS: dict[str, str] = {
    "customer_id": "Customer id",
    "timestamp": "Date / time",
    # When the date and the time of day are columns of their own (point-of-sale exports).
    "time": "Time of day",
    "invoice": "Invoice",
    "quantity": "Quantity",
    "unit_price": "Unit price",
    "amount": "Line amount",
    "discount": "Line discount",
    # Money given back after the sale (a payment's partial refund: Stripe's).
    "refunded": "Amount refunded",
    "currency": "Currency",
    "product_code": "Product code",
    "description": "Description",
    "country": "Country",
    "status": "Order status",
    "line_type": "Line type (sale or refund)",
    # Optional contact details for a marketing tool (personal data: customers.Customer).
    "email": "Customer e-mail",
    "customer_name": "Customer name",
}
REQUIRED = ["customer_id", "timestamp"]
#: What a mapping lacks when it gives a line no money: either field will do.
MONEY_GAP = "unit_price or amount"
#: The fields read as numbers (money but the quantity).
NUMBER_FIELDS = ("quantity", "unit_price", "amount", "discount", "refunded")

# Header names (lower-case, letters and digits only) recognised without asking.
ALIASES: dict[str, list[str]] = {
    "customer_id": ["customerid", "customer", "customerno", "customernumber", "clientid"],
    "timestamp": ["invoicedate", "date", "timestamp", "orderdate", "datetime", "purchasedate"],
    # A "Time" beside the date is its time of day (a date that holds one keeps its own).
    "time": ["time", "timeofday"],
    "invoice": ["invoiceno", "invoice", "invoicenumber", "orderid", "orderno", "ordernumber"],
    "quantity": ["quantity", "qty", "numberofcds", "units"],
    "unit_price": ["unitprice", "price"],
    "amount": ["dollarvalue", "amount", "linetotal", "total", "value", "sales", "revenue"],
    "product_code": ["stockcode", "productcode", "sku", "productid", "itemcode"],
    "description": ["description", "productname", "product", "itemdescription"],
    "country": ["country"],
    "status": ["status", "orderstatus"],
    "currency": ["currency", "currencycode"],
    "email": ["email", "emailaddress", "customeremail"],
    "customer_name": ["customername", "clientname"],
}


# Platforms' exports, known by columns of their own (all present), and the mapping each
# implies, where the names alone would mislead.
@dataclass(frozen=True)
class PlatformLayout:
    signature: tuple[str, ...]  # header names as _key writes them, all present
    # field -> header name as _key writes it, or names in order of preference (the first
    # the file has is read)
    mapping: dict[str, str | tuple[str, ...]]
    # The order its day/month dates are always in, whatever the shop's country ("" none)
    date_order: str = ""
    # Which of its rows have no customer, in the words the import's warning uses
    no_customer: str = ""


PLATFORM_LAYOUTS: dict[str, PlatformLayout] = {
    # Shopify's orders export: one row per line item, an order's rows sharing its "Name"
    # (#1001); "Total" is the order's, on its first row only, so a line's amount is
    # quantity × price, less the line's discount. It names customers only by their e-mail,
    # which is then the customer id too (stored as its pseudonym: pseudonyms.py).
    "Shopify orders export": PlatformLayout(
        signature=("name", "email", "financialstatus", "lineitemquantity", "lineitemprice"),
        mapping={
            "customer_id": "email",
            "email": "email",
            "timestamp": "createdat",
            "invoice": "name",
            "quantity": "lineitemquantity",
            "unit_price": "lineitemprice",
            "product_code": "lineitemsku",
            "description": "lineitemname",
            "country": "billingcountry",
            "customer_name": "billingname",
            "status": "financialstatus",
            "currency": "currency",
            "discount": "lineitemdiscount",
        },
        no_customer="guest orders placed without an e-mail address",
    ),
    # Etsy's "Sold order items" download (Shop Manager, Settings, Options, Download Data):
    # one row per item, month-first dates with two-digit years (08/14/25) in every
    # country, buyers named by their Etsy user name, the currency on every row.
    "Etsy sold order items": PlatformLayout(
        signature=("saledate", "itemname", "buyer", "transactionid", "listingid", "orderid"),
        mapping={
            "customer_id": "buyer",
            "timestamp": "saledate",
            "invoice": "orderid",
            "quantity": "quantity",
            "unit_price": "price",
            "product_code": "listingid",
            "description": "itemname",
            "country": "shipcountry",
            "customer_name": "shipname",
            "currency": "currency",
        },
        date_order=MONTHFIRST,
    ),
    # Square's "Item sales" detail export (Reports, Item sales, Export, Item detail CSV):
    # the date and time in columns of their own, a line's money after discounts in
    # "Net Sales", refunds as lines of event type "Refund", walk-in sales with no customer.
    "Square item sales export": PlatformLayout(
        signature=("pricepointname", "modifiersapplied", "netsales", "eventtype", "paymentid"),
        mapping={
            "customer_id": "customerid",
            "timestamp": "date",
            "time": "time",
            "invoice": "transactionid",
            "quantity": "qty",
            "amount": "netsales",
            "product_code": "sku",
            "description": "item",
            "customer_name": "customername",
            "line_type": "eventtype",
        },
        no_customer="walk-in sales, with no customer attached at the till",
    ),
    # Stripe's payments export (Dashboard, Payments, Export): one row per payment, so the
    # payment ("id", ch_/py_) is the order; times in UTC, as its header says; refunded and
    # failed payments by their Status; guest payments have no Stripe customer. Money is read
    # as converted to the account's own currency where the export has it: a payment in
    # euros to a British account counts in pounds, as the shop was paid.
    "Stripe payments export": PlatformLayout(
        signature=("id", "createdutc", "amount", "amountrefunded", "status", "customerid"),
        mapping={
            "customer_id": "customerid",
            "email": "customeremail",
            "timestamp": "createdutc",
            "invoice": "id",
            "amount": ("convertedamount", "amount"),
            "currency": ("convertedcurrency", "currency"),
            "status": "status",
            "description": "description",
            "refunded": ("convertedamountrefunded", "amountrefunded"),
        },
        no_customer="payments made without a Stripe customer (guest checkouts)",
    ),
}


def platform_layout(columns: list[str]) -> PlatformLayout | None:
    """The layout of the platform's export this header is (PLATFORM_LAYOUTS), if any."""
    known = platform(columns)
    return PLATFORM_LAYOUTS[known] if known is not None else None


def platform_date_order(columns: list[str]) -> str:
    """The date order of the platform's export this header is ("" when none is known)."""
    layout = platform_layout(columns)
    return layout.date_order if layout is not None else ""


# Platforms' exports that hold no purchases, known by their columns: uploaded by mistake
# for the orders, they are named and refused rather than sent to the mapping step.
ORDERS_INSTEAD = "Export the orders instead: in Shopify's admin, Orders, then Export."
NOT_TRANSACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "Shopify's customers export, one row per customer with their totals": (
        ("firstname", "lastname", "email", "totalspent", "totalorders"),
        ORDERS_INSTEAD,
    ),
    "Shopify's products export, one row per product variant": (
        ("handle", "title", "bodyhtml", "vendor"),
        ORDERS_INSTEAD,
    ),
}


def check_transactions(columns: list[str]) -> None:
    """ImportFileError naming a platform's export that holds no purchases."""
    keys = {_key(c) for c in columns}
    for name, (signature, instead) in NOT_TRANSACTIONS.items():
        if set(signature) <= keys:
            raise ImportFileError(
                f"This file is {name}: it has no purchases with their dates, which "
                f"segments are made from. {instead} Nothing was imported."
            )


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def platform(columns: list[str]) -> str | None:
    """The platform whose export this header is (PLATFORM_LAYOUTS), if any."""
    keys = {_key(c) for c in columns}
    for name, layout in PLATFORM_LAYOUTS.items():
        if set(layout.signature) <= keys:
            return name
    return None


def recognise(columns: list[str]) -> dict[str, str]:
    """{field: column} for the header names this tool knows (Online Retail, CDNOW, ...) or
    a platform's export it knows (PLATFORM_LAYOUTS)."""
    by_key = {_key(c): c for c in columns}
    known = platform(columns)
    if known is not None:
        found = {}
        for field, keys in PLATFORM_LAYOUTS[known].mapping.items():
            present = [k for k in ((keys,) if isinstance(keys, str) else keys) if k in by_key]
            if present:
                found[field] = by_key[present[0]]
        return found
    mapping = {}
    for field, aliases in ALIASES.items():
        for alias in aliases:
            if alias in by_key:
                mapping[field] = by_key[alias]
                break
    return mapping


def parse_mapping_text(text: str) -> dict[str, str]:
    """'customer_id=CustomerID,timestamp=Date' -> {'customer_id': 'CustomerID', ...}."""
    mapping = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ImportFileError(f"Mapping entry “{part.strip()}” must look like field=Column.")
        field, column = (s.strip() for s in part.split("=", 1))
        mapping[field] = column
    return mapping


def mapping_text(mapping: dict[str, str]) -> str:
    """A mapping as parse_mapping_text reads it, its fields in FIELDS' order."""
    return ",".join(f"{f}={mapping[f]}" for f in FIELDS if mapping.get(f))


# UTC or GMT as a word, not followed by an offset ("Time (GMT+1)" is not UTC).
_SAYS_UTC = re.compile(r"(?i)(?<![a-z])(?:utc|gmt)(?![a-z]|\s*[+-]\s*\d)")


def says_utc(column: str) -> bool:
    """Whether a date column's name says its times are in UTC ("Created (UTC)", Stripe's;
    "timestamp_utc"): they are read as UTC, not as the shop's local times."""
    return bool(_SAYS_UTC.search(column))


def resolve_mapping(columns: list[str], given: dict[str, str] | None) -> dict[str, str]:
    """The mapping to use: the recognised header, overridden by what the user gave.

    Raises MappingNeeded when a required field has no column, ImportFileError when the
    given mapping names an unknown field or column, or the file is a platform's export that
    holds no purchases (NOT_TRANSACTIONS).
    """
    check_transactions(columns)
    given = {k: v for k, v in (given or {}).items() if v}
    unknown_fields = sorted(set(given) - set(FIELDS))
    if unknown_fields:
        raise ImportFileError(
            f"Unknown field(s) in the mapping: {', '.join(unknown_fields)}. "
            f"Fields are: {', '.join(FIELDS)}."
        )
    missing_columns = sorted(v for v in given.values() if v not in columns)
    if missing_columns:
        raise ImportFileError(
            f"The file has no column named {', '.join(missing_columns)}. "
            f"Its columns are: {', '.join(columns)}."
        )
    mapping = {**recognise(columns), **given} if not given else _merge(columns, given)
    missing = [f for f in REQUIRED if f not in mapping]
    if "unit_price" not in mapping and "amount" not in mapping:
        missing.append(MONEY_GAP)
    if missing:
        raise MappingNeeded(
            "The columns of this file were not recognised. Say which column holds "
            f"{', '.join(gap_label(m) for m in missing)}. "
            f"The file's columns are: {', '.join(columns)}.",
            columns=columns,
            missing=missing,
        )
    return mapping


def gap_label(gap: str) -> str:
    """A field a mapping lacks (or MONEY_GAP) as the mapping form labels it."""
    if gap == MONEY_GAP:
        return f"{FIELDS['unit_price']} or {FIELDS['amount'].lower()}"
    return FIELDS.get(gap, gap)


def _merge(columns: list[str], given: dict[str, str]) -> dict[str, str]:
    # Recognised columns fill the fields the user left out, unless the user used that
    # column for another field.
    used = set(given.values())
    auto = {f: c for f, c in recognise(columns).items() if f not in given and c not in used}
    return {**auto, **given}
