from django import forms


class CustomerLookupForm(forms.Form):
    customer_id = forms.CharField(
        label="Customer id",
        max_length=254,  # an e-mail's longest
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text="The shop's own customer id, e.g. 12347.",
    )

    def __init__(self, *args, personal: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if personal:  # those who see personal data may also search by e-mail
            field = self.fields["customer_id"]
            field.label = "Customer id or e-mail"
            field.help_text = "The shop's own customer id, e.g. 12347, or the customer's e-mail."


class CompareForm(forms.Form):
    before = forms.ChoiceField(label="Earlier run")
    after = forms.ChoiceField(label="Later run")

    def __init__(self, *args, runs=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [
            (
                str(r.pk),
                f"#{r.pk} {r.name or 'Run'} · {r.created_at:%d %b %Y %H:%M}"
                + (" (published)" if r.is_published else ""),
            )
            for r in runs
        ]
        self.fields["before"].choices = choices
        self.fields["after"].choices = choices

    def clean(self):
        data = super().clean()
        if data.get("before") and data.get("before") == data.get("after"):
            self.add_error("after", "Pick a different run from the earlier one.")
        return data
