"""An alert is announced once per endpoint, by a constraint: the dedupe was a read, so two
senders racing could both write it. Of duplicates from before, the first keeps the alert id;
the others keep their body and status, without the id (the constraint would refuse it)."""

from django.db import migrations, models


def one_per_alert(apps, schema_editor):
    Delivery = apps.get_model("webhooks", "Delivery")
    seen = set()
    rows = (
        Delivery.objects.filter(event="alert.raised", alert_id__isnull=False)
        .order_by("pk")
        .values_list("pk", "endpoint_id", "alert_id")
    )
    for pk, endpoint_id, alert_id in rows:
        if (endpoint_id, alert_id) in seen:
            Delivery.objects.filter(pk=pk).update(alert_id=None)
        seen.add((endpoint_id, alert_id))


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0005_delivery_alert_id"),
    ]

    operations = [
        migrations.RunPython(one_per_alert, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("event", "alert.raised")),
                fields=("endpoint", "alert_id"),
                name="webhook_one_delivery_per_alert",
            ),
        ),
    ]
