"""The site's navigation: one entry per page, shown only to users allowed to use it."""

from dataclasses import dataclass

from .roles import AUDIT_PERMISSION, MEMBERS_PERMISSION, SHOP_SETTINGS_PERMISSION


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None = None  # None: every signed-in user
    staff_only: bool = False


NAVIGATION: list[NavItem] = [
    NavItem("Dashboard", "home"),
    NavItem("Customer lookup", "customer-lookup", "accounts.lookup_customers"),
    NavItem("Runs", "clustering:run-list", "accounts.manage_runs"),
    NavItem("Schedule", "schedules:schedule", "accounts.manage_runs"),
    NavItem("Playbook", "clustering:playbook", "accounts.manage_runs"),
    NavItem("Compare runs", "run-compare", "accounts.view_run_reports"),
    NavItem("Movements", "movements", "accounts.view_segments"),
    NavItem("Alerts", "alerts:index", "accounts.view_segments"),
    NavItem("Webhooks", "webhooks:endpoint-list", "accounts.manage_runs"),
    NavItem("Imports", "customers:import-list", "accounts.import_data"),
    NavItem("Members", "members", MEMBERS_PERMISSION),
    NavItem("Shop settings", "shop-settings", SHOP_SETTINGS_PERMISSION),
    NavItem("Audit log", "audit:log", AUDIT_PERMISSION),
    NavItem("API tokens", "api-tokens"),
    NavItem("API docs", "api-docs"),
    NavItem("Admin", "admin:index", staff_only=True),
]


def items_for(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return [
        item
        for item in NAVIGATION
        if (not item.staff_only or user.is_staff)
        and (item.permission is None or user.has_perm(item.permission))
    ]
