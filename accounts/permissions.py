from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiToken


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
