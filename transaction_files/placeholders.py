"""Customer ids that stand for no customer: what a till, a marketplace or a shop system
writes where a sale has no known buyer ("Guest", "Walk-in", "Consumidor final", "0", "-").
Kept, such an id becomes one customer holding every anonymous sale, who then leads the most
valuable segment (docs/decisions/placeholder-customer-ids.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

# Folded (lower case, accents and everything but letters and digits dropped): "Walk-in
# customer" is "walkincustomer", "Público en General" "publicoengeneral", "#N/A" "na".
_WORDS = {
    # English
    "guest", "guests", "guestcustomer", "guestcheckout", "guestuser", "guestorder",
    "walkin", "walkincustomer", "walkins", "cash", "cashcustomer", "cashsale", "cashsales",
    "countersale", "poscustomer", "anonymous", "anonymouscustomer", "anon", "unknown",
    "unknowncustomer", "nocustomer", "na", "none", "null", "nil", "nan", "undefined",
    "notavailable", "notprovided", "notapplicable", "blank", "empty", "defaultcustomer",
    "retailcustomer",
    # German, Dutch
    "gast", "gastkunde", "gastbestellung", "laufkunde", "laufkundschaft", "barverkauf",
    "barkunde", "unbekannt", "keinkunde", "anoniem", "onbekend", "passant", "kassaklant",
    "cpd", "cpdkunde", "diverse", "diversekunden", "diversekunde",  # SAP's one-time account
    # French, Italian
    "invite", "clientinvite", "clientdepassage", "anonyme", "inconnu", "clientcomptoir",
    "clientsdivers", "divers", "clientidiversi", "diversi",
    "ospite", "clienteoccasionale", "anonimo", "sconosciuto", "clienteabanco",
    # Spanish, Portuguese
    "invitado", "clienteinvitado", "desconocido", "clientedepaso", "clientecontado",
    "consumidorfinal", "publicoengeneral", "publicogeneral", "clientegenerico", "convidado",
    "anonima", "desconhecido", "clientebalcao", "clientefinal", "varios", "clientesvarios",
    "clientesdiversos", "diversos",
    # Polish, Czech, Hungarian
    "gosc", "klientdetaliczny", "anonimowy", "nieznany", "anonymni", "neznamy",
    "hotovostnizakaznik", "vendeg", "ismeretlen", "keszpenzesvevo", "alkalmivevo",
    # Swedish (gäst folds to gast, above), Danish, Norwegian, Finnish
    "okand", "kontantkund", "gaest", "ukendt", "kontantkunde", "gjest", "ukjent",
    "vieras", "tuntematon", "kateisasiakas",
}  # fmt: skip

# Ids that are only zeros (WooCommerce's guest is customer 0), minus one, or no letter or
# digit at all ("-", "?", "*").
_SHAPES = r"^\s*(?:[-+]?0+(?:[.,]0+)?|-1(?:[.,]0+)?|[^\pL\pN]+)\s*$"
# Letters NFKD does not take apart, written plainly
_PLAIN = {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d"}
_WORD_SET = pa.array(sorted(_WORDS), type=pa.string())


def _keys(ids: pa.Array) -> pa.Array:
    """Each id folded as _WORDS is written, in pyarrow: an import has a new customer id
    every few lines, and Python's own folding cost 2.7 µs an id."""
    folded = pc.utf8_normalize(pc.utf8_lower(ids), "NFKD")
    for letter, plain in _PLAIN.items():
        folded = pc.replace_substring(folded, letter, plain)
    return pc.replace_substring_regex(folded, r"[^a-z0-9]", "")


def placeholder_mask(ids: pa.Array, kept: Iterable[str] = ()) -> pa.Array:
    """Which ids stand for no customer (False where empty), but for those the shop `kept`
    as real customers (compared trimmed, in any case)."""
    ids = ids.cast(pa.string())
    found = pc.or_(
        pc.match_substring_regex(ids, _SHAPES), pc.is_in(_keys(ids), value_set=_WORD_SET)
    )
    kept_set = pa.array(sorted({value.strip().lower() for value in kept}), type=pa.string())
    if len(kept_set):
        ours = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(ids)), value_set=kept_set)
        found = pc.and_(found, pc.invert(ours))
    return pc.fill_null(found, False)


def is_placeholder(value: str, kept: Iterable[str] = ()) -> bool:
    """Whether one customer id stands for no customer (and the shop did not keep it)."""
    return bool(placeholder_mask(pa.array([value]), kept)[0].as_py())


def id_list(text: str) -> list[str]:
    """Ids written with commas or lines between them (customer ids to keep, or to keep out),
    each once, in the order given."""
    return list(dict.fromkeys(part.strip() for part in re.split(r"[,\n]", text) if part.strip()))
