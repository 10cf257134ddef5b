from django.conf import settings
from django.db import models
from knox.models import AbstractAuthToken

from workspaces.scoping import ScopedManager, UnscopedManager

from .roles import ROLE_CHOICES


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
            ("view_audit_log", "Read the workspace's audit log"),
            ("view_personal_data", "See and export customers' contact details (e-mail, name)"),
            ("change_shop_settings", "Change the shop's currency, time zone and file reading"),
        ]

    def __str__(self) -> str:
        return "capability"


class Membership(models.Model):
    """A user's role in one workspace; a user may belong to several, with a role in each."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["workspace__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_role_per_workspace")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} in {self.workspace}"


class ApiToken(AbstractAuthToken):
    """An API token of one user in one workspace, stored as a hash (django-rest-knox);
    deleting it revokes it. Requests made with it see that workspace only."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CRM sync'.")
    read_only = models.BooleanField(
        default=False, help_text="A read-only token may only read, whatever its user's role."
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        swappable = "KNOX_TOKEN_MODEL"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name or 'token'} ({self.token_key}…) for {self.user}"
