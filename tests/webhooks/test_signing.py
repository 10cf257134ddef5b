"""The signature a receiver checks: HMAC-SHA256 of "<timestamp>.<body>" with the secret,
hex, behind "v1=" (pure: no database)."""

from __future__ import annotations

import hashlib
import hmac
import json

from webhooks.signing import body_bytes, signature, verify

SECRET = "whsec_test-secret"


def test_the_signature_is_the_hmac_of_timestamp_dot_body():
    body = b'{"event":"segmentation.published"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1700000000, body) == f"v1={expected}"


def test_verify_accepts_the_signature_and_refuses_any_change():
    body = body_bytes({"event": "segmentation.published", "run": {"customers": 10}})
    header = signature(SECRET, 1700000000, body)
    assert verify(SECRET, "1700000000", body, header)
    assert not verify(SECRET, "1700000001", body, header)  # another timestamp
    assert not verify(SECRET, "1700000000", body.replace(b"10", b"11"), header)  # another body
    assert not verify("whsec_other", "1700000000", body, header)  # another secret
    assert not verify(SECRET, "not-a-number", body, header)
    # Several signatures in one header (e.g. while a receiver knows two secrets): any one.
    assert verify(SECRET, 1700000000, body, f"v1=00ff, {header}")


def test_the_body_is_the_same_bytes_whatever_the_key_order():
    one = body_bytes({"b": 1, "a": {"y": 2, "x": "é"}})
    other = body_bytes({"a": {"x": "é", "y": 2}, "b": 1})
    assert one == other == '{"a":{"x":"é","y":2},"b":1}'.encode()
    assert json.loads(one) == {"a": {"x": "é", "y": 2}, "b": 1}
