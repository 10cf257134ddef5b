from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from transaction_files.columns import FIELDS
from transaction_files.errors import ImportFileError

from .models import ImportRecord
from .services import import_check_size


def _date_order_choices(workspace) -> list[tuple[str, str]]:
    """The date orders; no choice means the workspace's order, named when it has one."""
    choices = list(ImportRecord.DateOrder.choices)
    if workspace is not None and workspace.date_order:
        label = ImportRecord.DateOrder(workspace.date_order).label
        choices[0] = ("", f"This workspace's: {label}")
    return choices


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
        for name, label in FIELDS.items():
            column = cleaned.get(f"map_{name}")
            if column:
                fields_by_column.setdefault(column, []).append(label)
        for column, labels in fields_by_column.items():
            if len(labels) > 1:
                raise forms.ValidationError(
                    f"The column “{column}” is chosen for {' and '.join(labels)}: "
                    "a column can hold one field only."
                )
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"map_{name}"]
            for name in FIELDS
            if self.cleaned_data.get(f"map_{name}")
        }
