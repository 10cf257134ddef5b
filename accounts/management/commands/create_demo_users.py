from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership
from accounts.roles import ADMIN, MANAGER, MARKETING
from workspaces.models import Workspace

# The demo's two shops (sample_data/): both files write ISO dates.
DEMO_WORKSPACES = [
    {
        "slug": "online-retail",
        "name": "Online Retail",
        "currency": "GBP",
        "time_zone": "Europe/London",
        "date_order": Workspace.DateOrder.ISO,
    },
    {
        "slug": "cdnow",
        "name": "CDNOW",
        "currency": "USD",
        "time_zone": "America/New_York",
        "date_order": Workspace.DateOrder.ISO,
    },
]

# Demo logins only: `make demo` prints them. Never run this against production data.
# (username, password, {workspace slug: role})
DEMO_USERS = [
    ("marketing", "marketing-demo-pass", {"online-retail": MARKETING, "cdnow": MARKETING}),
    ("manager", "manager-demo-pass", {"online-retail": MANAGER, "cdnow": MANAGER}),
    ("admin", "admin-demo-pass", {"online-retail": ADMIN, "cdnow": ADMIN}),
    # One person, a different role in each shop.
    ("analyst", "analyst-demo-pass", {"online-retail": MANAGER, "cdnow": MARKETING}),
]


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo workspaces and one demo user per role in them, plus one "
        "with a different role in each, and print their logins."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        workspaces = {}
        for spec in DEMO_WORKSPACES:
            fields = {k: v for k, v in spec.items() if k != "slug"}
            workspaces[spec["slug"]], _ = Workspace.objects.update_or_create(
                slug=spec["slug"], defaults=fields
            )
        user_model = get_user_model()
        for username, password, roles in DEMO_USERS:
            user, _ = user_model.objects.get_or_create(username=username)
            user.set_password(password)
            # Roles are memberships; Django's admin is the site administrators' alone.
            user.is_staff = False
            user.is_superuser = False
            user.is_active = True
            user.save()
            for slug, role in roles.items():
                workspace = workspaces[slug]
                Membership.objects.in_workspace(workspace).update_or_create(
                    user=user, workspace=workspace, defaults={"role": role}
                )
        self.stdout.write("Demo logins (username / password: role in each workspace):")
        for username, password, roles in DEMO_USERS:
            where = ", ".join(f"{role} in {workspaces[slug].name}" for slug, role in roles.items())
            self.stdout.write(f"  {username} / {password}: {where}")
