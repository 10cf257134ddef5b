"""The API's strict fields take a JSON value of the right type and refuse every other with a
message naming the type, where DRF's own read 0 as false, "7" as 7 and 5 as "5"."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from alerts.serializers import AlertRuleSerializer
from common.api_strict import (
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
)
from schedules.serializers import ScheduleSerializer


@pytest.mark.parametrize(
    "field, good, bad",
    [
        (StrictCharField(), ["5", "text"], [5, 1.5, True, None, [], {}]),
        (StrictBooleanField(), [True, False], [0, 1, "true", "yes", None, []]),
        (StrictIntegerField(), [0, 7, 7.0], ["7", True, False, None, [], 7.5]),
        (StrictFloatField(), [0, 0.25, 3], ["0.25", True, None, []]),
    ],
)
def test_the_right_type_passes_and_every_other_is_refused(field, good, bad):
    for value in good:
        assert field.run_validation(value) == value
    for value in bad:
        with pytest.raises(serializers.ValidationError):
            field.run_validation(value)


def test_the_rule_and_schedule_serializers_use_them():
    rule, schedule = AlertRuleSerializer().fields, ScheduleSerializer().fields
    assert isinstance(rule["enabled"], StrictBooleanField)
    assert isinstance(rule["min_customers"], StrictIntegerField)
    assert isinstance(rule["threshold"], StrictFloatField)
    assert isinstance(rule["recipients"], StrictCharField)
    assert isinstance(schedule["hour"], StrictIntegerField)
    assert isinstance(schedule["max_member_loss"], StrictFloatField)
