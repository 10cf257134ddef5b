from __future__ import annotations

from django import forms

from .addresses import AddressRefused
from .services import check_endpoint_url


class EndpointForm(forms.Form):
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

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_endpoint_url(url)
        except AddressRefused as error:
            raise forms.ValidationError(str(error)) from error
        return url
