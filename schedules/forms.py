from django import forms

from .models import Schedule
from .services import EDITABLE_FIELDS


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = EDITABLE_FIELDS
        labels = {
            "enabled": "Refresh on a schedule",
            "hour": "Hour (0-23)",
            "minute": "Minute (0-59)",
            "day_of_week": "Day of the week",
            "day_of_month": "Day of the month",
            "min_stability": "Stability required to publish by itself",
            "same_segment_count": "Same number of segments as the published run",
            "max_member_loss": "Largest share of a segment's members that may move (0.3 is 30%)",
        }
        widgets = {"max_member_loss": forms.NumberInput(attrs={"step": "0.01", "min": 0, "max": 1})}
