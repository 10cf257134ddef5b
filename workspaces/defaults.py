"""The workspace that data from before workspaces moves into (data migrations call this)."""

DEFAULT_SLUG = "main"
DEFAULT_NAME = "Main shop"


def default_workspace(apps):
    """The default workspace in a migration's app registry, created on first use. Its time
    zone is the site's, in which earlier imports read times without an offset."""
    from django.conf import settings

    workspace_model = apps.get_model("workspaces", "Workspace")
    workspace, _ = workspace_model.objects.get_or_create(
        slug=DEFAULT_SLUG, defaults={"name": DEFAULT_NAME, "time_zone": settings.TIME_ZONE}
    )
    return workspace


def check_constraints_now(schema_editor) -> None:
    """After a data migration's updates: PostgreSQL refuses to alter a table while its
    deferred foreign-key checks are still pending."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
