"""The ISO code beside every amount the API sends: the request's workspace's currency."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

CURRENCY_HELP = "ISO 4217 code of the amounts in this object (the workspace's currency)."


def request_currency(context: dict) -> str:
    """The currency a serializer's amounts are in: the context's `currency`, else the
    request's workspace's (every API view reads one workspace)."""
    if context.get("currency"):
        return context["currency"]
    request = context.get("request")
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        raise ValueError(
            "A serializer with amounts needs the request (or a currency) in its context."
        )
    return workspace.currency


@extend_schema_field(OpenApiTypes.STR)
class CurrencyField(serializers.Field):
    """Read-only; the same code on every object of a response (no query per row)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", CURRENCY_HELP)
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return request_currency(self.context)
