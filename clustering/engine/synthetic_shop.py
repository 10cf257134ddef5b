"""A synthetic shop as the import reads it: Online Retail's columns (InvoiceNo, StockCode,
Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country), written in chunks of
customers so that a million customers and twenty million lines fit in a few hundred MB.

The customers are synthetic.py's five behaviours (negative binomial orders, lognormal
baskets with a Pareto tail of big accounts, so spend and frequency are heavy-tailed); each
invoice gets 1 + Poisson(3) product lines over a catalogue whose popularity is Zipf-like,
10% of invoices a postage line, and 5% of lines a later cancellation ("C" invoice, negative
quantity), as in Online Retail.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from .synthetic import REFERENCE_DATE, make_customer_aggregates

COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
CATALOGUE = 4_000  # products; popularity ~ 1 / rank
CHUNK_CUSTOMERS = 50_000


def shop_chunks(
    n_customers: int,
    seed: int = 0,
    reference_date: pd.Timestamp = REFERENCE_DATE,
    chunk: int = CHUNK_CUSTOMERS,
) -> Iterator[pd.DataFrame]:
    """The shop's lines, chunk by chunk of customers (each chunk is its own seeded draw, so
    the file does not depend on memory, only on n, seed and chunk)."""
    rank = np.arange(1, CATALOGUE + 1)
    popularity = (1 / rank) / (1 / rank).sum()
    prices = np.random.default_rng(seed).lognormal(1.0, 0.9, CATALOGUE).round(2) + 0.1
    invoice_base = 1_000_000
    for number, start in enumerate(range(0, n_customers, chunk)):
        n = min(chunk, n_customers - start)
        agg, _ = make_customer_aggregates(
            n, seed=seed * 10_007 + number, reference_date=reference_date
        )
        rng = np.random.default_rng([seed, number, 1])
        inv = agg["invoices"].to_numpy()
        cust = np.repeat(np.arange(n), inv)
        first = agg["first_purchase"].to_numpy()[cust]
        last = agg["last_purchase"].to_numpy()[cust]
        frac = rng.random(len(cust))
        starts = np.r_[0, np.cumsum(inv)[:-1]]
        frac[starts] = 0.0
        frac[starts + inv - 1] = 1.0
        when = (first + (last - first) * frac).astype("datetime64[m]")
        invoice_no = invoice_base + np.arange(len(cust))
        invoice_base += len(cust)
        per_invoice = 1 + rng.poisson(3, len(cust))
        row_invoice = np.repeat(np.arange(len(cust)), per_invoice)
        product = rng.choice(CATALOGUE, size=len(row_invoice), p=popularity)
        quantity = 1 + rng.geometric(0.35, len(row_invoice)) - 1
        customer_ids = (start + cust + 1)[row_invoice]
        lines = pd.DataFrame(
            {
                "InvoiceNo": invoice_no[row_invoice].astype(str),
                "StockCode": (10_000 + product).astype(str),
                "Description": np.char.add("PRODUCT ", (10_000 + product).astype(str)),
                "Quantity": quantity,
                "InvoiceDate": when[row_invoice],
                "UnitPrice": prices[product],
                "CustomerID": customer_ids,
                "Country": agg["country"].to_numpy()[cust][row_invoice],
            }
        )
        post = rng.random(len(cust)) < 0.10
        postage = pd.DataFrame(
            {
                "InvoiceNo": invoice_no[post].astype(str),
                "StockCode": "POST",
                "Description": "POSTAGE",
                "Quantity": 1,
                "InvoiceDate": when[post],
                "UnitPrice": 18.0,
                "CustomerID": (start + cust + 1)[post],
                "Country": agg["country"].to_numpy()[cust][post],
            }
        )
        back = lines.sample(frac=0.05, random_state=rng.integers(2**31))
        back = back.assign(
            InvoiceNo="C" + back["InvoiceNo"],
            Quantity=-back["Quantity"],
            InvoiceDate=back["InvoiceDate"] + np.timedelta64(2, "D"),
        )
        out = pd.concat([lines, postage, back], ignore_index=True)
        out["InvoiceDate"] = pd.to_datetime(out["InvoiceDate"]).clip(upper=reference_date)
        yield out.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable")[list(COLUMNS)]
