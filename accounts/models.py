from django.db import models
from knox.models import AbstractAuthToken


class Capability(models.Model):
    """Holds the product's permissions; it has no table.

    Roles are groups of these permissions (see accounts/roles.py), so the role matrix does
    not depend on which app's model a permission happens to hang off.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_segments", "View published segments, profiles and actions"),
            ("lookup_customers", "Look up customers and their segments"),
            ("export_segment_members", "Export segment member lists"),
            ("import_data", "Import customer transactions"),
            ("manage_runs", "Start and cancel segmentation runs"),
            ("publish_runs", "Publish a segmentation run"),
            ("view_run_reports", "Read segmentation run reports and comparisons"),
        ]

    def __str__(self) -> str:
        return "capability"


class ApiToken(AbstractAuthToken):
    """A per-user API token, stored as a hash (django-rest-knox); deleting it revokes it."""

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CRM sync'.")
    read_only = models.BooleanField(
        default=False, help_text="A read-only token may only read, whatever its user's role."
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        swappable = "KNOX_TOKEN_MODEL"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name or 'token'} ({self.token_key}…) for {self.user}"
