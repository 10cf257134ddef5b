from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiToken


class InWorkspace(BasePermission):
    """Every API view reads one workspace: the token's, or /w/<slug>/ for a browser
    session (accounts.workspace_access). A view marked `workspace_free` (the schema, the
    token endpoint) needs none."""

    def has_permission(self, request, view) -> bool:
        if getattr(view, "workspace_free", False):
            return True
        if getattr(request, "workspace", None) is None:
            raise NotFound(
                "No workspace: use an API token, or /w/<workspace>/api/v1/ when signed in."
            )
        return True


class ReadOnlyTokenPermission(BasePermission):
    """A token marked read-only may only use safe methods, whatever its user may do."""

    message = "This API token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only:
            return request.method in SAFE_METHODS
        return True


class HasCapability(BasePermission):
    """Requires one of the product's permissions; subclass with `capability` set."""

    capability = ""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm(f"accounts.{self.capability}"))


def capability_permission(capability: str) -> type[BasePermission]:
    """A DRF permission class for one capability, e.g. capability_permission('manage_runs')."""
    return type(f"Can_{capability}", (HasCapability,), {"capability": capability})
