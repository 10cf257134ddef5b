"""Read the two public data sets into canonical transaction lines (see types.py)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

# Stock codes that are not products: postage, carriage, manual lines, discounts, samples,
# bank charges, marketplace fees, charity, gift vouchers, bad-debt adjustments.
NON_PRODUCT_CODES = frozenset(
    {
        "POST",
        "DOT",
        "M",
        "m",
        "C2",
        "D",
        "S",
        "BANK CHARGES",
        "AMAZONFEE",
        "CRUK",
        "PADS",
        "B",
        "DCGSSGIRL",
        "DCGSSBOY",
        "DCGS0003",
        "DCGS0004",
        "DCGS0069",
        "DCGS0070",
        "DCGS0076",
    }
)
_NON_PRODUCT_RE = re.compile(r"^(gift_0001_\d+|DCGS.*)$")


def detect_format(path: str | Path) -> str:
    """'online_retail' or 'cdnow', by the header line."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        header = fh.readline().strip().lower()
    if "invoiceno" in header and "stockcode" in header:
        return "online_retail"
    if "dollar_value" in header and "customer_id" in header:
        return "cdnow"
    raise ValueError(f"unrecognised header: {header[:120]}")


def is_non_product_code(codes: pd.Series) -> np.ndarray:
    codes = codes.astype(str)
    return (codes.isin(NON_PRODUCT_CODES) | codes.str.match(_NON_PRODUCT_RE)).to_numpy()


def read_online_retail(path: str | Path) -> pd.DataFrame:
    """UCI Online Retail -> canonical lines.  Rows without CustomerID are dropped; invoices
    starting with "C" are returns; "A" (bad-debt adjustment) invoices are non-product."""
    raw = pd.read_csv(
        path,
        dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": "float64", "Country": str},
        usecols=[
            "InvoiceNo",
            "StockCode",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
            "Country",
        ],
        engine="pyarrow",
    )
    raw = raw[raw["CustomerID"].notna()]
    invoice = raw["InvoiceNo"].astype(str)
    qty = raw["Quantity"].to_numpy(dtype="float64")
    price = raw["UnitPrice"].to_numpy(dtype="float64")
    out = pd.DataFrame(
        {
            "customer_id": raw["CustomerID"].astype("int64").astype(str).to_numpy(),
            "invoice": invoice.to_numpy(),
            "product_code": raw["StockCode"].astype(str).to_numpy(),
            "quantity": qty,
            "unit_price": price,
            "amount": qty * price,
            "timestamp": pd.to_datetime(raw["InvoiceDate"]).to_numpy(),
            "country": raw["Country"].astype(str).to_numpy(),
            "is_return": (invoice.str.startswith("C") | (raw["Quantity"] < 0)).to_numpy(),
            "is_non_product": is_non_product_code(raw["StockCode"])
            | invoice.str.startswith("A").to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def read_cdnow(path: str | Path) -> pd.DataFrame:
    """CDNOW master -> canonical lines; one invoice per customer-day (rows on the same day
    are one purchase occasion), no returns, no non-product lines, country "Unknown"."""
    d = pd.read_csv(path, dtype={"customer_id": str, "date": str})
    ts = pd.to_datetime(d["date"], format="%Y%m%d")
    qty = d["number_of_cds"].to_numpy(dtype="float64")
    amount = d["dollar_value"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        price = np.where(qty > 0, amount / np.where(qty > 0, qty, 1), 0.0)
    return pd.DataFrame(
        {
            "customer_id": d["customer_id"].to_numpy(),
            "invoice": (d["customer_id"] + "-" + d["date"]).to_numpy(),
            "product_code": "CD",
            "quantity": qty,
            "unit_price": price,
            "amount": amount,
            "timestamp": ts.to_numpy(),
            "country": "Unknown",
            "is_return": False,
            "is_non_product": False,
        }
    )


def read_transactions(path: str | Path) -> pd.DataFrame:
    fmt = detect_format(path)
    return read_online_retail(path) if fmt == "online_retail" else read_cdnow(path)
