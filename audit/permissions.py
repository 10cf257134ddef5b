"""Who reads the audit log: the capability the admin role holds (accounts.roles grants it;
named here because accounts sits above audit in the layers)."""

from rest_framework.permissions import BasePermission

AUDIT_PERMISSION = "accounts.view_audit_log"


class CanViewAuditLog(BasePermission):
    message = "Only the workspace's admins read its audit log."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm(AUDIT_PERMISSION))
