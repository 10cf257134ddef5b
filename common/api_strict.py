"""Serializer fields that take JSON as it is: DRF's CharField turns 0 into "0" by design, so
a client that sends a number where text belongs would be accepted without a word."""

from __future__ import annotations

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"not_a_string": "Must be text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
