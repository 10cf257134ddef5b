"""ImportRecord's percent and error_message become progress and error, the names a
segmentation run uses for the same things. Renamed in place, so every import keeps its
values; the 0-100 check follows the column under its new name."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_line_composite_primary_key"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="importrecord",
            name="import_percent_at_most_100",
        ),
        migrations.RenameField(
            model_name="importrecord",
            old_name="percent",
            new_name="progress",
        ),
        migrations.RenameField(
            model_name="importrecord",
            old_name="error_message",
            new_name="error",
        ),
        migrations.AddConstraint(
            model_name="importrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="import_progress_at_most_100"
            ),
        ),
    ]
