"""first/last_purchase_at count purchases only (as a segmentation run does: not returns,
not postage or fees); last_seen_at is the latest line of any kind. Existing customers are
recomputed from their lines."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def recompute(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    TransactionLine = apps.get_model("customers", "TransactionLine")
    lines = TransactionLine.objects.filter(customer=OuterRef("pk"))
    purchases = lines.filter(is_return=False, is_non_product=False)

    def first(queryset, order):
        return Subquery(queryset.order_by(order).values("timestamp")[:1])

    Customer.objects.update(
        first_purchase_at=first(purchases, "timestamp"),
        last_purchase_at=first(purchases, "-timestamp"),
        last_seen_at=first(lines, "-timestamp"),
    )


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_one_line_index")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="last_seen_at",
            field=models.DateTimeField(
                blank=True, help_text="Latest transaction line of any kind.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="country",
            field=models.CharField(
                blank=True, help_text="Of the latest transaction line.", max_length=64
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="first_purchase_at",
            field=models.DateTimeField(
                blank=True, help_text="Earliest purchase; empty if there is none.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="last_purchase_at",
            field=models.DateTimeField(
                blank=True, help_text="Latest purchase; empty if there is none.", null=True
            ),
        ),
        migrations.RunPython(recompute, migrations.RunPython.noop),
    ]
