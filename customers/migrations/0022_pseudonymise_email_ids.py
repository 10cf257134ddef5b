"""Customer ids that are e-mail addresses, imported before such ids were stored as their
pseudonyms (docs/decisions/shopify-export-and-e-mail-ids.md), become their pseudonyms: a
later file naming the same address would otherwise make a second customer of them. An id
whose pseudonym is already another customer's (the shop imported the address since, or in
another case) is left as it is: merging two customers' lines is no migration's work."""

import re

from django.db import migrations

from transaction_files.pseudonyms import EMAIL_SHAPE, PREFIX, pseudonym


def pseudonymise(apps, schema_editor):
    Workspace = apps.get_model("workspaces", "Workspace")
    Customer = apps.get_model("customers", "Customer")
    for workspace in Workspace.objects.all():
        customers = Customer.objects.filter(workspace=workspace)
        plain = list(
            customers.filter(external_id__contains="@").only("pk", "external_id").order_by("pk")
        )
        if not plain:
            continue
        taken = set(
            customers.filter(external_id__startswith=PREFIX).values_list("external_id", flat=True)
        )
        renamed = []
        for customer in plain:
            if not re.fullmatch(EMAIL_SHAPE, customer.external_id):
                continue
            alias = pseudonym(customer.external_id, workspace.pseudonym_key)
            if alias in taken:
                continue
            customer.external_id = alias
            renamed.append(customer)
            taken.add(alias)
        Customer.objects.bulk_update(renamed, ["external_id"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0021_rows_skipped_help"),
        ("workspaces", "0003_pseudonym_key"),
    ]

    operations = [migrations.RunPython(pseudonymise, migrations.RunPython.noop)]
