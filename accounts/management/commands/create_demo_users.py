from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.roles import ADMIN, MANAGER, MARKETING

# Demo logins only: `make demo` prints them. Never run this against production data.
DEMO_USERS = [
    (MARKETING, "marketing", "marketing-demo-pass"),
    (MANAGER, "manager", "manager-demo-pass"),
    (ADMIN, "admin", "admin-demo-pass"),
]


class Command(BaseCommand):
    help = "Create (or reset) one demo user per role and print their logins."

    @transaction.atomic
    def handle(self, *args, **options):
        user_model = get_user_model()
        for role, username, password in DEMO_USERS:
            user, _ = user_model.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = role == ADMIN
            user.is_superuser = False
            user.is_active = True
            user.save()
            user.groups.set([Group.objects.get(name=role)])
        self.stdout.write("Demo logins (role: username / password):")
        for role, username, password in DEMO_USERS:
            self.stdout.write(f"  {role:<10} {username} / {password}")
