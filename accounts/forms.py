from django import forms

from .roles import MARKETING, ROLE_CHOICES


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'CRM nightly sync'."
    )
    read_only = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Read-only tokens can read segments and assign customers, but change nothing.",
    )


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An existing user's username.")
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=MARKETING)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
