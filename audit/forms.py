from __future__ import annotations

from django import forms

from .models import AuditEntry


class AuditFilterForm(forms.Form):
    """The page's and the API's filters (query parameters); every one optional."""

    action = forms.ChoiceField(
        choices=[("", "Any action"), *AuditEntry.Action.choices], required=False
    )
    actor = forms.CharField(
        required=False,
        max_length=150,
        help_text='A username, "the schedule" or "the system".',
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> dict:
        """The selector's keyword arguments (call after is_valid())."""
        cleaned = self.cleaned_data
        return {
            "action": cleaned.get("action") or "",
            "actor": (cleaned.get("actor") or "").strip(),
            "date_from": cleaned.get("date_from"),
            "date_to": cleaned.get("date_to"),
        }
