from __future__ import annotations

from django import forms

from clustering.signals import AlertKind

from .addresses import AddressRefused
from .models import SUBSCRIBABLE, Event, Format, every_event
from .services import check_endpoint_url

EVENTS_HELP = (
    "A removal (a customer, or an undone import's customers together) lets the systems that "
    "hold them forget them too. A test event can be sent to it whatever it receives."
)


def events_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Send it",
        choices=SUBSCRIBABLE,
        initial=every_event,
        widget=forms.CheckboxSelectMultiple,
        help_text=EVENTS_HELP,
        error_messages={"required": "Choose at least one event to send it."},
    )


def alert_kinds_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Alerts of these kinds",
        choices=AlertKind.choices,
        initial=list(AlertKind.values),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="When it receives alerts: untick those its readers need not hear of (a "
        "channel of the team that runs the schedule: failed runs only).",
    )


class _Receives(forms.Form):
    """What an endpoint receives: its events and, of alerts, which kinds."""

    events = events_field()
    alert_kinds = alert_kinds_field()

    def clean(self):
        data = super().clean()
        if Event.ALERT not in data.get("events", []):
            data["alert_kinds"] = []  # the boxes stay ticked below an unticked "alerts"
        elif not data.get("alert_kinds"):
            self.add_error(
                "alert_kinds",
                "Choose at least one kind of alert, or untick “Each alert raised”.",
            )
        return data


class EndpointAddressForm(forms.Form):
    """Where an endpoint is and what it is for (registering it, or changing them)."""

    url = forms.URLField(
        label="Address",
        max_length=2000,
        assume_scheme="https",
        help_text="Where to POST the events: an https address of your integration.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/segments"}),
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="What receives it, e.g. 'CRM sync'."
    )
    format = forms.ChoiceField(
        label="Written as",
        choices=Format.choices,
        initial=Format.JSON,
        widget=forms.RadioSelect,
        required=False,  # unchanged when not sent
        help_text="A chat channel's incoming webhook address takes a chat message; a Teams "
        "channel's, made with the Workflows template “Post to a channel when a webhook "
        "request is received”, takes a card.",
    )

    def clean_format(self) -> str | None:
        return self.cleaned_data["format"] or None

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_endpoint_url(url)
        except AddressRefused as error:
            raise forms.ValidationError(str(error)) from error
        return url


class EndpointForm(EndpointAddressForm, _Receives):
    """Registering an endpoint: where, what for, and what it receives."""

    field_order = ["url", "description", "format", "events", "alert_kinds"]


class EndpointEventsForm(_Receives):
    """Changing what an endpoint receives."""
