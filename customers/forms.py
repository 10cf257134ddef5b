from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from transaction_files.columns import FIELDS
from transaction_files.errors import ImportFileError
from transaction_files.placeholders import id_list
from workspaces.models import Workspace, time_zone_choices

from .erasure import BULK_ERASURE_MAX
from .models import CODE_LENGTH, ImportRecord
from .services import import_check_size
from .shop_settings import SHOP_SETTINGS


def _date_order_choices(workspace) -> list[tuple[str, str]]:
    """The date orders; no choice means the workspace's order, named when it has one."""
    choices = list(ImportRecord.DateOrder.choices)
    if workspace is not None and workspace.date_order:
        label = ImportRecord.DateOrder(workspace.date_order).label
        choices[0] = ("", f"This workspace's: {label}")
    return choices


class ImportAgainForm(forms.Form):
    """A failed import's file imported again, in the date order chosen now."""

    date_order = forms.ChoiceField(label="Date order", required=False)

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_order"].choices = _date_order_choices(workspace)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="CSV (comma, semicolon, tab or pipe; may be gzip-compressed) or .xlsx.",
    )
    date_order = forms.ChoiceField(
        label="Date order",
        choices=ImportRecord.DateOrder.choices,
        required=False,
        help_text="Needed only when dates such as 01/02/2011 could be read either way.",
    )
    sheet = forms.CharField(
        label="Worksheet",
        required=False,
        max_length=255,
        help_text="For a workbook with several sheets: the name of the sheet to import.",
    )

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_order"].choices = _date_order_choices(workspace)
        limit = filesizeformat(settings.IMPORT_MAX_UPLOAD_BYTES)
        self.fields["file"].help_text += f" Up to {limit}."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            import_check_size(size=upload.size)
        except ImportFileError as error:
            raise forms.ValidationError(str(error)) from error
        return upload


#: The fields one column may hold together: an e-mail that is also the customer's id.
SHARED_COLUMN = {"customer_id", "email"}


class ImportMappingForm(forms.Form):
    """Which column of the file holds each field; built from the file's header."""

    date_order = forms.ChoiceField(
        label="Date order", choices=ImportRecord.DateOrder.choices, required=False
    )

    def __init__(self, *args, columns: list[str], initial_mapping: dict, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_order"].choices = _date_order_choices(workspace)
        choices = [("", "— not in this file —")] + [(c, c) for c in columns]
        for name, label in FIELDS.items():
            self.fields[f"map_{name}"] = forms.ChoiceField(
                label=label,
                choices=choices,
                required=False,
                initial=initial_mapping.get(name, ""),
            )
        self.order_fields([f"map_{n}" for n in FIELDS] + ["date_order"])

    def clean(self):
        cleaned = super().clean()
        fields_by_column: dict[str, list[str]] = {}
        for name in FIELDS:
            column = cleaned.get(f"map_{name}")
            if column:
                fields_by_column.setdefault(column, []).append(name)
        for column, names in fields_by_column.items():
            # an e-mail that names the customer: the id is its pseudonym, the e-mail kept
            if len(names) > 1 and set(names) != SHARED_COLUMN:
                labels = [FIELDS[n] for n in names]
                raise forms.ValidationError(
                    f"The column “{column}” is chosen for {' and '.join(labels)}: "
                    "a column can hold one field only (an e-mail may also be the customer id)."
                )
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"map_{name}"]
            for name in FIELDS
            if self.cleaned_data.get(f"map_{name}")
        }


def _lines(text: str, field: str, longest: int) -> list[str]:
    """The non-empty lines of a pasted list, each checked for length (its line named)."""
    names = []
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        if len(name) > longest:
            raise forms.ValidationError(
                f"Line {number}: longer than {longest} characters; is it a {field}?"
            )
        names.append(name)
    if len(names) > BULK_ERASURE_MAX:
        raise forms.ValidationError(
            f"{len(names):,} lines: at most {BULK_ERASURE_MAX:,} at once; send the rest after."
        )
    return names


class ContactErasureForm(forms.Form):
    """The customers whose e-mail and name to erase, pasted one per line."""

    customer_ids = forms.CharField(
        label="Customer ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        help_text="One per line, as the shop writes them.",
    )
    emails = forms.CharField(
        label="E-mails",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        help_text="One per line, case aside; every customer holding one is erased.",
    )

    def clean_customer_ids(self) -> list[str]:
        return _lines(self.cleaned_data["customer_ids"], "customer id", CODE_LENGTH)

    def clean_emails(self) -> list[str]:
        return _lines(self.cleaned_data["emails"], "e-mail", 254)

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("customer_ids") or data.get("emails")):
            raise forms.ValidationError("Paste at least one customer id or e-mail.")
        return data


class KeepOutAheadForm(forms.Form):
    """Customer ids no import has stored yet, to keep out of later imports."""

    customer_ids = forms.CharField(
        label="Customer ids to keep out",
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="One per line or separated by commas, as the shop's files write them; an "
        "e-mail address is kept out as its pseudonym.",
    )

    def clean_customer_ids(self) -> list[str]:
        return id_list(self.cleaned_data["customer_ids"])


class ShopSettingsForm(forms.ModelForm):
    """The shop's settings page; the currency is shown, not offered, once it is fixed
    (customers.shop_settings.currency_fixed_because)."""

    time_zone = forms.ChoiceField(label="Time zone", choices=time_zone_choices)

    class Meta:
        model = Workspace
        fields = SHOP_SETTINGS

    def __init__(self, *args, currency_fixed: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].help_text = Workspace._meta.get_field("time_zone").help_text
        if currency_fixed:
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = currency_fixed
