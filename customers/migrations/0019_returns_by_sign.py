"""Lines stored before returns were told by their sign (docs/decisions/returns-by-sign.md):
those that an invoice's first letter made a return or a fee line are classified again, and
their customers' purchase dates follow."""

from django.db import migrations
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Upper

from transaction_files.normalise import NON_PRODUCT_CODES, NON_PRODUCT_PREFIXES

BATCH = 1000


def _fee_code() -> Q:
    prefixes = Q()
    for prefix in NON_PRODUCT_PREFIXES:
        prefixes |= Q(code__startswith=prefix)
    return Q(code__in=NON_PRODUCT_CODES) | prefixes


def classify_again(apps, schema_editor):
    Line = apps.get_model("customers", "TransactionLine")
    Customer = apps.get_model("customers", "Customer")
    lines = Line.objects.annotate(code=Upper("product_code"))
    not_fees = lines.filter(invoice__istartswith="a", is_non_product=True).exclude(_fee_code())
    not_returns = lines.filter(
        invoice__istartswith="c", is_return=True, quantity__gte=0, amount__gte=0
    )
    refunds = Line.objects.filter(amount__lt=0, is_return=False)
    customers = set()
    for changed in (not_fees, not_returns, refunds):
        customers.update(changed.values_list("customer_id", flat=True).distinct())
    if not customers:
        return
    # the composite primary key: update by the filters themselves, not by a list of keys
    not_fees.update(is_non_product=False)
    not_returns.update(is_return=False)
    refunds.update(is_return=True)
    ids = sorted(customers)
    for start in range(0, len(ids), BATCH):
        purchases = Line.objects.filter(
            customer=OuterRef("pk"), is_return=False, is_non_product=False
        )
        Customer.objects.filter(pk__in=ids[start : start + BATCH]).update(
            first_purchase_at=Subquery(purchases.order_by("timestamp").values("timestamp")[:1]),
            last_purchase_at=Subquery(purchases.order_by("-timestamp").values("timestamp")[:1]),
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0018_customer_email_index")]

    operations = [migrations.RunPython(classify_again, migrations.RunPython.noop)]
