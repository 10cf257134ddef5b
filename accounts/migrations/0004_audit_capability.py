"""The capability to read the workspace's audit log (accounts.view_audit_log), which the
admin role holds (accounts.roles)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_workspaces"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="capability",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": [
                    ("view_segments", "View published segments, profiles and actions"),
                    ("lookup_customers", "Look up customers and their segments"),
                    ("export_segment_members", "Export segment member lists"),
                    ("import_data", "Import customer transactions"),
                    ("manage_runs", "Start and cancel segmentation runs"),
                    ("publish_runs", "Publish a segmentation run"),
                    ("view_run_reports", "Read segmentation run reports and comparisons"),
                    ("view_audit_log", "Read the workspace's audit log"),
                ],
            },
        ),
    ]
