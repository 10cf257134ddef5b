"""Alert deliveries name their alert in a column of their own: the dedupe read it from the
body, which a chat endpoint's does not hold. Earlier JSON deliveries get it from their body;
chat ones cannot (their alert is not recorded) and stay empty."""

from django.db import migrations, models


def alert_ids_from_bodies(apps, schema_editor):
    Delivery = apps.get_model("webhooks", "Delivery")
    for delivery in Delivery.objects.filter(event="alert.raised").only("pk", "payload"):
        alert = (delivery.payload or {}).get("alert") or {}
        if isinstance(alert.get("id"), int):
            Delivery.objects.filter(pk=delivery.pk).update(alert_id=alert["id"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0004_customer_removed_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="alert_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(alert_ids_from_bodies, migrations.RunPython.noop),
    ]
