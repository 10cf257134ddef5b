from rest_framework import serializers

from common.api_strict import StrictModelSerializer

from .models import Schedule
from .services import EDITABLE_FIELDS

READ_ONLY_FIELDS = ("time_zone", "describe", "next_firing", "last_outcome", "last_fired_at",
                    "updated_by", "updated_at")  # fmt: skip


class ScheduleSerializer(StrictModelSerializer):
    """The workspace's schedule: the settings a manager changes with PUT (all of them, as
    the page's form), and what beat and the last firing say (read-only)."""

    time_zone = serializers.SerializerMethodField(
        help_text="The workspace's time zone, in which hour and minute are read."
    )
    describe = serializers.SerializerMethodField(help_text="When it fires, in words.")
    next_firing = serializers.SerializerMethodField(
        help_text="The next firing in the workspace's time zone; null when off."
    )
    updated_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    # null until the schedule is first saved (GET answers the unsaved default)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Schedule
        fields = (*EDITABLE_FIELDS, *READ_ONLY_FIELDS)
        read_only_fields = READ_ONLY_FIELDS

    def get_time_zone(self, schedule: Schedule) -> str:
        return schedule.workspace.time_zone

    def get_describe(self, schedule: Schedule) -> str:
        return schedule.describe()

    def get_next_firing(self, schedule: Schedule) -> str | None:
        from .services import next_firing

        at = next_firing(schedule) if schedule.pk else None
        return at.isoformat() if at else None

    def validate(self, attrs):
        # The model's own rules (cron needs an expression, ...), answered as field errors.
        from django.core.exceptions import ValidationError as DjangoValidationError

        candidate = Schedule(**{**{n: getattr(self.instance, n) for n in EDITABLE_FIELDS}, **attrs})
        try:
            candidate.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs
