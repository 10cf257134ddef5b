"""How a delivery is written and signed; pure (no Django), so receivers' docs and tests can
follow it line by line (docs/webhooks.md).

The signature is ``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with the endpoint's
secret: the timestamp is signed with the body so a captured request cannot be replayed
later with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_VERSION = "v1"


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The payload as sent: canonical JSON (sorted keys, no spaces), so the same payload is
    the same bytes on every attempt, whatever order the database kept its keys in."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Webhook-Signature header's value for this body sent at `timestamp`."""
    message = str(int(timestamp)).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify(secret: str, timestamp: str | int, body: bytes, header: str) -> bool:
    """Whether `header` is a valid signature of `body` at `timestamp` (what a receiver does;
    it should also refuse timestamps far from its clock)."""
    try:
        expected = signature(secret, int(timestamp), body)
    except (TypeError, ValueError):
        return False
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))
