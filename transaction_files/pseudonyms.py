"""Customer ids that are e-mail addresses, stored as pseudonyms.

A shop whose export names customers only by their e-mail (Shopify's orders export has no
customer id) would otherwise put personal data in every customer id, which the marketing
role, member exports and the API show. Such an id is stored as a keyed hash of the address:
the same address gives the same id in every file of the shop, a different one in another
shop, and no one without the shop's key can find the address from the id. The address
itself is kept only where the mapping asks for it (the customer's e-mail, personal data).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import numpy as np
import pandas as pd

#: What makes a customer id an e-mail address: something@domain.tld, no spaces.
EMAIL_SHAPE = r"[^@\s]+@[^@\s]+\.[^@\s]+"
#: Pseudonyms start so, and are 16 characters of base32 after it (80 bits).
PREFIX = "e-"


def is_email(value: str) -> bool:
    return re.fullmatch(EMAIL_SHAPE, value.strip()) is not None


def pseudonym(email: str, key: str) -> str:
    """The customer id of an e-mail address: case and surrounding spaces do not count."""
    digest = hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest[:10]).decode().lower()


def pseudonymised(ids: pd.Series, key: str) -> tuple[pd.Series, np.ndarray]:
    """`ids` with each e-mail address replaced by its pseudonym (others unchanged), and the
    mask of those replaced."""
    if not ids.str.contains("@", regex=False).any():  # most shops: no regex at all
        return ids, np.zeros(len(ids), dtype=bool)
    is_email = ids.str.fullmatch(EMAIL_SHAPE).fillna(False).to_numpy(dtype=bool)
    if not is_email.any():
        return ids, is_email
    out = ids.copy()
    out[is_email] = [pseudonym(e, key) for e in ids[is_email]]
    return out, is_email
