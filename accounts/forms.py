from django import forms


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'CRM nightly sync'."
    )
    read_only = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Read-only tokens can read segments and assign customers, but change nothing.",
    )
