"""Serializer fields that take JSON as it is: DRF reads scalars leniently by design (0 as
false, false as 0, "1.5" as a number, 5 as "5"), so a client that sends the wrong type would
be accepted without a word. The API reads JSON only (DEFAULT_PARSER_CLASSES), where every
type is the client's choice, so these refuse the wrong one with a message naming it."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"not_a_string": "Must be text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"not_a_boolean": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_a_boolean")
        return data


def _is_number(data) -> bool:
    return isinstance(data, int | float) and not isinstance(data, bool)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"not_a_number": "Must be a whole number (a JSON number)."}

    def to_internal_value(self, data):
        if not _is_number(data):
            self.fail("not_a_number")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    default_error_messages = {"not_a_number": "Must be a number (a JSON number)."}

    def to_internal_value(self, data):
        if not _is_number(data):
            self.fail("not_a_number")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose text, boolean and number fields are the strict ones."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.FloatField: StrictFloatField,
    }
