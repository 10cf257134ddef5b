"""Guess which column of an unknown layout holds each field, from its name and its values.

A guess has a confidence: high ones are pre-selected on the mapping page, medium and low
ones are only suggested (the user chooses), so nothing unsure is applied silently. A name
that promises a field whose values say otherwise (a "date" of week numbers) is never high.
Pure pandas: no Django.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from . import dates
from .columns import ALIASES, FIELDS, NUMBER_FIELDS, PLATFORM_LAYOUTS, platform, recognise
from .numbers import to_numbers

HIGH, MEDIUM, LOW = "high", "medium", "low"
_RANK = {HIGH: 3, MEDIUM: 2, LOW: 1}

# Names beyond the recognised layouts' (columns.ALIASES): other shops' words for a field.
# Lower-case letters and digits only, as columns._key writes a header name.
MORE_NAMES: dict[str, list[str]] = {
    "customer_id": [
        "householdid", "household", "householdkey", "client", "clientno", "member",
        "memberid", "membernumber", "custid", "custno", "shopperid", "buyerid", "loyaltyid",
        "cardid", "accountid", "userid", "buyer", "buyerusername",
    ],
    "invoice": [
        "basketid", "basket", "order", "receipt", "receiptid", "receiptno", "transactionid",
        "transaction", "transactionno", "ticketid", "ticket", "invoiceid",
    ],
    # "Lineitem ...": Shopify's line columns, which other shops' exports copy (Squarespace).
    "quantity": ["quantityordered", "qtysold", "unitssold", "pieces", "items", "lineitemquantity"],
    "unit_price": [
        "itemprice", "priceeach", "unitcost", "sellingprice", "unitamount", "itemcost",
        "lineitemprice",
    ],
    "amount": [
        "salesvalue", "netsales", "lineamount", "linevalue", "grosssales", "totalprice",
        "salesamount", "totalamount", "netamount", "spend", "orderlinetotal",
    ],
    "timestamp": [
        "transactiontimestamp", "transactiondate", "transactiontime", "saledate", "time",
        "purchasedatetime", "orderdatetime", "createdat", "ts", "created", "createdutc",
        "createdon", "createddate", "paymentdate", "paidat", "dateutc", "timestamputc",
    ],
    "product_code": [
        "itemid", "article", "articleid", "ean", "upc", "barcode", "productno", "lineitemsku",
    ],
    "description": [
        "itemname", "articlename", "productdescription", "productdesc", "name", "lineitemname",
    ],
    "country": ["region", "countrycode", "countryname", "market", "shipcountry"],
    "status": ["financialstatus", "paymentstatus", "orderstate", "transactionstatus"],
    "discount": ["linediscount", "lineitemdiscount", "itemdiscount", "linediscountamount"],
    "refunded": ["amountrefunded", "refunded", "refundamount", "refundedamount", "refunds"],
    "time": ["time", "timeofday", "ordertime", "saletime", "transactiontime", "purchasetime"],
    "currency": ["curr", "currencyiso", "ordercurrency", "isocurrency"],
    "line_type": [
        "eventtype", "linetype", "transactiontype", "type", "saletype", "entrytype",
        "recordtype", "movementtype",
    ],
    "email": [
        "mail", "emailaddr", "contactemail", "memberemail", "clientemail", "emailbilling",
        "billingemail",
    ],
    "customer_name": ["fullname", "membername", "buyername", "contactname", "shoppername"],
}  # fmt: skip
# The same fields in the words of European shops' spreadsheets and ERP exports (German,
# French, Spanish, Italian, Dutch, Portuguese, Polish, Czech, Swedish, Danish, Norwegian,
# Hungarian, Finnish), folded as _word_key folds them: "N° client", "Quantité", "Nº pedido",
# "Währung", "Ilość", "Beløb", "Összeg", "Määrä". Not "Référence" (a product's or, in
# PrestaShop's orders, the order's), "Artikel" (a product's code or its name), "Kod" or
# "Kode" (any code).
EUROPEAN_NAMES: dict[str, list[str]] = {
    "customer_id": [
        "kundennummer", "kundennr", "kundenid", "kunde", "numeroclient", "nclient",
        "noclient", "idclient", "codeclient", "idcliente", "numerocliente", "ncliente",
        "nocliente", "cliente", "codigocliente", "codicecliente", "klantnummer", "klantid",
        "klant", "nrklienta", "numerklienta", "idklienta", "klient", "kodklienta",
        "cislozakaznika", "zakaznik", "kundnummer", "kundnr", "kund", "kundenummer",
        "kundenr", "vevokod", "vevoazonosito", "ugyfelkod", "ugyfelazonosito",
        "asiakasnumero", "asiakasnro", "asiakas",
    ],
    "invoice": [
        "rechnungsnummer", "rechnungsnr", "belegnummer", "belegnr", "bestellnummer",
        "bestellnr", "auftragsnummer", "numerofacture", "nfacture", "nofacture",
        "numerocommande", "ncommande", "nocommande", "ndecommande", "numerodecommande",
        "numerodefacture", "ndefacture", "numerofactura", "factura", "pedido",
        "npedido", "nopedido", "numeropedido", "numerodepedido", "numerofattura", "fattura",
        "numeroordine", "factuurnummer", "bestelnummer", "ordernummer", "numeroencomenda",
        "encomenda", "nrzamowienia", "numerzamowienia", "zamowienie", "nrfaktury",
        "cisloobjednavky", "objednavka", "cislofaktury", "fakturanummer", "ordrenummer",
        "ordrenr", "ordernr", "szamlaszam", "rendelesszam", "tilausnumero", "laskunumero",
    ],
    "quantity": [
        "menge", "anzahl", "stuck", "quantite", "qte", "cantidad", "quantita", "qta",
        "aantal", "quantidade", "qtd", "ilosc", "mnozstvi", "antal", "antall", "mennyiseg",
        "maara", "kpl",
    ],
    "unit_price": [
        "einzelpreis", "preis", "stuckpreis", "prixunitaire", "prix", "preciounitario",
        "precio", "prezzounitario", "prezzo", "stukprijs", "prijs", "precounitario", "preco",
        "cena", "cenajednostkowa", "jednotkovacena", "pris", "styckpris", "enhedspris",
        "enhetspris", "egysegar", "hinta", "yksikkohinta",
    ],
    "amount": [
        "betrag", "gesamtbetrag", "gesamtpreis", "umsatz", "summe", "montant", "montantttc",
        "montantht", "totalttc", "totalht", "importe", "importetotal", "importo",
        "importototale", "bedrag", "totaalbedrag", "valor", "valortotal", "wartosc",
        "kwota", "castka", "celkem", "belopp", "summa", "belob", "belop", "osszeg", "ertek",
        "yhteensa",
    ],
    "timestamp": [
        "datum", "rechnungsdatum", "bestelldatum", "belegdatum", "kaufdatum", "datecommande",
        "datedecommande", "datefacture", "datedefacture", "fecha", "fechapedido",
        "fechadepedido", "fechafactura", "data", "datafattura",
        "dataordine", "orderdatum", "factuurdatum", "dataencomenda", "datapedido",
        "datazamowienia", "datasprzedazy", "datumobjednavky", "orderdato", "dato", "keltezes",
        "paivamaara", "pvm", "tilauspaiva",
    ],
    "product_code": [
        "artikelnummer", "artikelnr", "artnr", "referencia", "codigo", "codice",
        "codiceprodotto", "artikelcode", "codigoproduto", "kodproduktu", "varenummer",
        "varenr", "cikkszam", "termekkod", "tuotenumero", "tuotekoodi",
    ],
    "description": [
        "bezeichnung", "artikelbezeichnung", "beschreibung", "designation", "libelle",
        "descripcion", "producto", "descrizione", "prodotto", "omschrijving", "descricao",
        "produto", "nazwa", "nazwaproduktu", "opis", "popis", "nazev", "beskrivning",
        "beskrivelse", "produkt", "produktnavn", "varebeskrivelse", "megnevezes", "termeknev",
        "tuote", "kuvaus",
    ],
    "country": ["land", "pays", "pais", "paese", "nazione", "kraj", "zeme", "orszag", "maa"],
    "currency": ["wahrung", "devise", "moneda", "valuta", "waluta", "mena", "penznem", "valuutta"],
    "email": ["emailadresse", "courriel", "correo", "correoelectronico", "epost"],
    "customer_name": [
        "kundenname", "nomclient", "nombrecliente", "nomecliente", "klantnaam",
        "nazwaklienta", "kundnamn", "kundenavn",
    ],
}  # fmt: skip
NAMES: dict[str, list[str]] = {
    f: ALIASES.get(f, []) + MORE_NAMES.get(f, []) + EUROPEAN_NAMES.get(f, []) for f in FIELDS
}
# Word stems that make a name a partial match (a medium guess at most).
STEMS: dict[str, list[str]] = {
    "customer_id": ["customer", "household", "client", "member", "shopper"],
    "invoice": ["invoice", "basket", "receipt", "order", "transaction"],
    "quantity": ["quantity", "qty", "units"],
    "unit_price": ["price"],
    "amount": ["amount", "sales", "total", "revenue", "value"],
    "timestamp": ["date", "time", "timestamp"],
    "product_code": ["product", "sku", "stock", "item", "article"],
    "description": ["description", "desc"],
    "country": ["country", "region"],
    "status": ["status"],  # not "state": a US address's state is no order status
    "time": ["time"],
    "discount": ["discount"],
    "refunded": ["refund"],
    "currency": ["currency"],
    "line_type": ["eventtype", "linetype", "transactiontype"],  # not "Payment Type"
    "email": ["email", "mail"],
    "customer_name": ["customername", "fullname", "clientname", "membername"],
}
# What each field is, for the mapping page.
EXPLANATIONS: dict[str, str] = {
    "customer_id": "Who bought: the shop's own customer, household or loyalty-card id, or "
    "the customer's e-mail (stored as a pseudonym, so ids show no personal data). Rows "
    "without one are skipped (a sale to an unknown customer cannot be segmented).",
    "timestamp": "When the purchase happened. Times without a time zone are read as the "
    "shop's local time. A week or day number is not a date.",
    "invoice": "One purchase occasion: the invoice, order, basket or receipt that groups "
    "several lines. Without it, each customer's lines of one day count as one order.",
    "quantity": "How many units the line holds. Without it, each line counts as one unit.",
    "unit_price": "The price of one unit. Give this or the line amount: with only a unit "
    "price, the line amount is quantity × unit price.",
    "amount": "What the whole line cost (quantity × unit price, after any discount the "
    "shop subtracts). With only a line amount, the unit price is amount ÷ quantity.",
    "product_code": "The product's code (SKU, stock code, product id).",
    "description": "The product's name, shown beside its code.",
    "country": "Where the customer or the shop is; shown on customer pages.",
    "status": "Optional: the order's status. Orders cancelled, refunded in full, voided, "
    "failed or declined are skipped (a partial refund keeps the order), in English, German, "
    "French, Spanish, Italian, Dutch or Portuguese. Given on an order's first row only, it "
    "holds for the order's other rows.",
    "time": "Optional: the time of day, when it has a column of its own beside the date "
    "(10:15, 1:15 PM). Each date is read with its row's time.",
    "discount": "Optional: the discount on the whole line (not per unit), taken off "
    "quantity × unit price. Not used with a line amount, which is after discounts.",
    "refunded": "Optional: money given back after the sale (a payment's partial refund), "
    "taken off what was paid, never past nothing. An order refunded in full is skipped by "
    "its status instead.",
    "currency": "Optional: the currency of the row's amounts (USD, €). Rows in another "
    "currency than the workspace's are rejected, not added to the shop's money.",
    "line_type": "Optional: whether the line is a sale or gives money back. Lines whose "
    "type says refund or return are stored as returns (a negative quantity and amount), "
    "however the file signs them; other lines are sales.",
    "email": "Optional: the customer's e-mail address, for a marketing tool. Personal data: "
    "only managers and admins see and export it. Addresses without an @ are left out.",
    "customer_name": "Optional: the customer's name, for a marketing tool. Personal data: "
    "only managers and admins see and export it.",
}

_ID_TEXT = re.compile(r"^[A-Za-z0-9_\-./]+$")
# A time of day alone: 10:15, 10:15:30, 1:15 PM, 1:15 p.m.
_TIME_OF_DAY = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?"
SAMPLE_ROWS = 200


def name_key(name: str) -> str:
    """A header name as the guesses compare it: lower-case letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# Letters that carry no accent to fold, written as their plainest spelling
_PLAIN_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d"})


def _word_key(name: str) -> str:
    """name_key with accents folded ("Quantité" is "quantite", "Nº" is "no", "Beløb" is
    "belob"): how a name is looked up among NAMES. (name_key stays as it was: remembered
    layouts are keyed by it.)"""
    folded = unicodedata.normalize("NFKD", str(name).lower().translate(_PLAIN_LETTERS))
    return name_key("".join(c for c in folded if not unicodedata.combining(c)))


def header_signature(columns: list[str]) -> str:
    """The layout of a header: its normalised names in order, so "Basket ID" and
    "basket_id" are one layout."""
    return "|".join(name_key(c) for c in columns)


@dataclass(frozen=True)
class ColumnValues:
    """What a column's sample values look like."""

    filled: int  # values that are not empty
    dates: float  # share that parse as dates
    numbers: float  # share that parse as numbers
    decimals: float  # share of the numbers with a fractional part
    distinct: int
    longest: int
    letters: float  # share holding letters
    example: str
    times: float = 0.0  # share that are times of day alone

    @property
    def date_like(self) -> bool:
        return self.filled > 0 and self.dates >= 0.9

    @property
    def numeric(self) -> bool:
        return self.filled > 0 and self.numbers >= 0.9

    @property
    def repeats(self) -> bool:
        return self.filled > 1 and self.distinct < self.filled


def describe(values: pd.Series) -> ColumnValues:
    """The character of a column's sample values (text, None where empty)."""
    text = pd.Series(values, dtype="str").str.strip()
    text = text[text.notna() & (text != "")]
    n = len(text)
    if not n:
        return ColumnValues(0, 0.0, 0.0, 0.0, 0, 0, 0.0, "")
    try:
        parsed = dates.parse_timestamps(text, order=None)
    except dates.DateOrderNeeded:  # 03/02/2011: a date either way round
        parsed = dates.parse_timestamps(text, order=dates.DAYFIRST).fillna(
            dates.parse_timestamps(text, order=dates.MONTHFIRST)
        )
    numbers, _ = to_numbers(text, decimal_comma=False, money=True)  # "£1,234.50" too
    if numbers.isna().any():  # "2,50", "1.234,50": a decimal-comma file's money
        numbers = numbers.fillna(to_numbers(text, decimal_comma=True, money=True)[0])
    counted = numbers.dropna()
    return ColumnValues(
        filled=n,
        dates=float(parsed.notna().mean()),
        numbers=float(numbers.notna().mean()),
        decimals=float((counted != counted.round()).mean()) if len(counted) else 0.0,
        distinct=int(text.nunique()),
        longest=int(text.str.len().max()),
        letters=float(text.str.contains(r"[A-Za-z]", regex=True).mean()),
        example=str(text.iloc[0])[:40],
        times=float(text.str.fullmatch(_TIME_OF_DAY).mean()),
    )


def _values_fit(field: str, v: ColumnValues) -> tuple[bool, str]:
    """(do the values suit the field, why in words)."""
    if not v.filled:
        return False, "its first rows are empty"
    e = f"“{v.example}”"
    if field == "timestamp":
        if v.date_like:
            return True, f"its values are dates (e.g. {e})"
        if v.numeric:
            return False, f"its values are plain numbers (e.g. {e}), such as week numbers"
        return False, f"its values are not dates (e.g. {e})"
    if field in NUMBER_FIELDS:
        if not v.numeric:
            return False, f"its values are not numbers (e.g. {e})"
        if field in ("quantity", "discount", "refunded"):
            return True, f"its values are numbers (e.g. {e})"
        if v.date_like and not v.decimals:
            return False, f"its values look like dates or codes (e.g. {e})"
        return True, f"its values are amounts (e.g. {e})"
    if field in ("customer_id", "invoice", "product_code"):
        if v.date_like and not v.numeric:
            return False, f"its values are dates (e.g. {e})"
        if v.numeric and v.decimals and not _whole_ids(v):
            return False, f"its values are amounts with decimals (e.g. {e})"
        if v.longest > 64:
            return False, "its values are too long for codes"
        if field == "customer_id" and v.repeats:
            return True, f"its values are ids that repeat, as a customer's do (e.g. {e})"
        return True, f"its values are codes (e.g. {e})"
    if field == "description":
        if v.letters >= 0.5:
            return True, f"its values are text (e.g. {e})"
        return False, f"its values are not text (e.g. {e})"
    if field == "email":
        if "@" in v.example and not v.numeric:
            return True, f"its values are e-mail addresses (e.g. {e})"
        return False, f"its values are not e-mail addresses (e.g. {e})"
    if field == "customer_name":
        if v.letters >= 0.9 and not v.date_like and "@" not in v.example:
            return True, f"its values are names (e.g. {e})"
        return False, f"its values are not names (e.g. {e})"
    if field in ("status", "line_type"):  # a few words, each on many rows
        if v.letters >= 0.9 and not v.date_like and v.longest <= 40 and v.repeats:
            return True, f"its values are words that repeat (e.g. {e})"
        kind = "statuses" if field == "status" else "line types"
        return False, f"its values are not {kind} (e.g. {e})"
    if field == "time":
        if v.filled and v.times >= 0.9:
            return True, f"its values are times of day (e.g. {e})"
        return False, f"its values are not times of day (e.g. {e})"
    if field == "currency":
        if v.longest <= 4 and not v.numeric and v.repeats:
            return True, f"its values are currencies (e.g. {e})"
        return False, f"its values are not currencies (e.g. {e})"
    if field == "country":
        if v.letters >= 0.9 and not v.date_like:
            return True, f"its values are names (e.g. {e})"
        return False, f"its values are not place names (e.g. {e})"
    return False, ""


def _whole_ids(v: ColumnValues) -> bool:
    # 17850.0: a spreadsheet's integer id, not an amount.
    return v.example.endswith(".0")


@dataclass(frozen=True)
class Guess:
    field: str
    column: str
    confidence: str  # HIGH | MEDIUM | LOW
    reason: str

    @property
    def preselected(self) -> bool:
        return self.confidence == HIGH


@dataclass(frozen=True)
class Guesses:
    by_field: dict[str, Guess]  # fields with a guess only
    columns: list[str]

    def mapping(self) -> dict[str, str]:
        """What is pre-selected: the high-confidence guesses only."""
        return {f: g.column for f, g in self.by_field.items() if g.preselected}

    def ignored(self, mapping: dict[str, str]) -> list[str]:
        """The file's columns that `mapping` leaves out: not imported."""
        used = set(mapping.values())
        return [c for c in self.columns if c not in used]


@dataclass(frozen=True)
class _Candidate:
    field: str
    column: str
    score: int  # higher first
    confidence: str
    reason: str


def _candidates(column: str, values: ColumnValues) -> list[_Candidate]:
    key = _word_key(column)
    found = []
    for field in FIELDS:
        fits, why_values = _values_fit(field, values)
        exact = key in NAMES[field]
        partial = not exact and any(stem in key for stem in STEMS[field])
        label = FIELDS[field].lower()
        if exact:
            named = f"the column is named “{column}”, a usual name for the {label}"
            # The recognised layouts' own names (columns.ALIASES) before other shops' words:
            # Stripe's "Customer ID" is the customer, not its "Card ID" (a loyalty card's).
            score = 30 if key in ALIASES.get(field, ()) else 28
            if fits:
                found.append(_Candidate(field, column, score, HIGH, f"{named}, and {why_values}"))
            else:
                found.append(_Candidate(field, column, 10, LOW, f"{named}, but {why_values}"))
        elif partial:
            named = f"the name “{column}” suggests the {label}"
            if fits:
                found.append(_Candidate(field, column, 20, MEDIUM, f"{named}, and {why_values}"))
        elif field == "timestamp" and fits:
            # Dates are unmistakable by their values; the name says nothing, so only a
            # suggestion.
            found.append(_Candidate(field, column, 15, MEDIUM, f"{why_values}".capitalize()))
    return found


# Money fields an order export may give once per order, on its first row: what each is then.
ORDER_FIGURES = {"amount": "total", "discount": "discount", "refunded": "refund"}


def _order_level(cand: _Candidate, values: ColumnValues, rows: int) -> _Candidate:
    """A line amount or discount empty on rows that others fill is an order's figure, given
    on its first line only (an order's total or discount): a low guess, never pre-selected."""
    if cand.field not in ORDER_FIGURES or cand.confidence == LOW or values.filled >= 0.9 * rows:
        return cand
    reason = (
        f"{cand.reason}; it is empty on {rows - values.filled} of the first {rows} "
        f"rows, as an order's {ORDER_FIGURES[cand.field]} given on its first line only would be"
    )
    return _Candidate(cand.field, cand.column, 5, LOW, reason)


def guess_mapping(columns: list[str], sample: pd.DataFrame) -> Guesses:
    """A guess per field (when any column fits) from the columns' names and the sample's
    values (the file's first rows, as text). Each column serves one field; when two columns
    fit a field equally well, neither is pre-selected (the guess drops to medium and names
    both). A platform's export this tool knows (columns.PLATFORM_LAYOUTS) is guessed whole."""
    known = platform(columns)
    chosen: dict[str, Guess] = {}
    used: set[str] = set()
    if known is not None:
        for f, c in recognise(columns).items():
            chosen[f] = Guess(f, c, HIGH, f"a {known} holds the {FIELDS[f].lower()} in “{c}”")
            used.add(c)
        # Only the fields whose usual column this export lacks (renamed) are guessed.
        lacking = set(PLATFORM_LAYOUTS[known].mapping) - set(chosen)
        if not lacking:
            return Guesses(by_field=chosen, columns=list(columns))
    described = {
        c: describe(sample[c] if c in sample else pd.Series([], dtype="str")) for c in columns
    }
    rows = max((v.filled for v in described.values()), default=0)
    candidates = [
        _order_level(cand, described[c], rows)
        for c in columns
        for cand in _candidates(c, described[c])
    ]
    if known is not None:
        candidates = [c for c in candidates if c.field in lacking]
    candidates.sort(key=lambda c: (-c.score, columns.index(c.column)))
    for cand in candidates:
        if cand.field in chosen or cand.column in used:
            continue
        rivals = [
            r.column
            for r in candidates
            if r.field == cand.field
            and r.score == cand.score
            and r.column != cand.column
            and r.column not in used
        ]
        confidence, reason = cand.confidence, cand.reason
        if rivals:
            confidence = MEDIUM if _RANK[confidence] > _RANK[MEDIUM] else confidence
            reason += f"; but “{'”, “'.join(rivals)}” could be it as well"
        chosen[cand.field] = Guess(cand.field, cand.column, confidence, reason)
        used.add(cand.column)
    if "customer_id" not in chosen and "email" in chosen:
        email = chosen["email"].column
        chosen["customer_id"] = Guess(
            "customer_id",
            email,
            MEDIUM,
            f"no column names the customer, and “{email}” holds e-mail addresses: each "
            "address can be its customer, stored as a pseudonym (the same address, the same "
            "customer in every file)",
        )
    ordered = {f: chosen[f] for f in FIELDS if f in chosen}
    return Guesses(by_field=ordered, columns=list(columns))
