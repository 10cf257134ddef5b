from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from knox import crypto
from knox.settings import CONSTANTS, knox_settings

from audit.log import record
from audit.models import AuditEntry
from workspaces.models import Workspace

from .models import ApiToken, Membership


@transaction.atomic
def api_token_create(
    *, user: AbstractBaseUser, workspace: Workspace, name: str, read_only: bool
) -> tuple[ApiToken, str]:
    """Create a token of `user` in `workspace`; returns it and its secret, which is shown
    once and stored only hashed (as knox's own manager does, with the workspace added)."""
    # Expired tokens are not swept on every request (see ScopedTokenAuthentication).
    ApiToken.objects.in_workspace(workspace).filter(user=user, expiry__lt=timezone.now()).delete()
    secret = knox_settings.TOKEN_PREFIX + crypto.create_token_string()
    ttl = knox_settings.TOKEN_TTL
    token = ApiToken.objects.create(
        user=user,
        workspace=workspace,
        token_key=secret[: CONSTANTS.TOKEN_KEY_LENGTH],
        digest=crypto.hash_token(secret),
        expiry=timezone.now() + ttl if ttl is not None else None,
        name=name,
        read_only=read_only,
    )
    record(
        workspace=workspace,
        action=AuditEntry.Action.TOKEN_CREATED,
        actor=user,
        target=token,
        target_id=token.token_key,
        details={"read_only": read_only},
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, user: AbstractBaseUser, workspace: Workspace, token_key: str) -> bool:
    """Revoke (delete) one of the user's tokens in `workspace`; False if it was not theirs
    there or is gone."""
    token = ApiToken.objects.in_workspace(workspace).filter(user=user, token_key=token_key).first()
    if token is None:
        return False
    api_token_record_revoked(token=token, actor=user)
    token.delete()
    return True


def api_token_record_revoked(*, token: ApiToken, actor: AbstractBaseUser | None) -> None:
    """The audit entry of a token about to be deleted (the page, the API, the admin)."""
    record(
        workspace=token.workspace,
        action=AuditEntry.Action.TOKEN_REVOKED,
        actor=actor,
        target=token,
        target_id=token.token_key,
        details={"user": token.user.get_username()},
    )


class MembershipRefused(ValueError):
    """A change of the workspace's members that the acting user may not make; the message
    says why, for the page."""


def _check_may_change(*, by: AbstractBaseUser, membership: Membership) -> None:
    if membership.user_id == by.pk:
        raise MembershipRefused("You cannot change your own role or membership.")
    if membership.user.is_superuser and not by.is_superuser:
        raise MembershipRefused(
            "Site administrators' memberships are managed by site administrators."
        )


@transaction.atomic
def membership_add(
    *, workspace: Workspace, by: AbstractBaseUser, username: str, role: str
) -> Membership:
    """Give an existing user `role` in `workspace`."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise MembershipRefused(f"There is no active user named {username!r}.")
    existing = Membership.objects.in_workspace(workspace).filter(user=user).first()
    if existing is not None:
        raise MembershipRefused(f"{username} is already a member ({existing.role}).")
    _check_may_change(by=by, membership=Membership(user=user, workspace=workspace, role=role))
    membership = Membership.objects.create(user=user, workspace=workspace, role=role)
    membership_record(membership=membership, action=AuditEntry.Action.MEMBER_ADDED, actor=by)
    return membership


def _membership(workspace: Workspace, membership_id: int) -> Membership:
    return Membership.objects.in_workspace(workspace).select_related("user").get(pk=membership_id)


@transaction.atomic
def membership_change_role(
    *, workspace: Workspace, by: AbstractBaseUser, membership_id: int, role: str
) -> Membership:
    """Change a member's role in `workspace` (Membership.DoesNotExist if not a member
    there)."""
    membership = _membership(workspace, membership_id)
    _check_may_change(by=by, membership=membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    if before != role:
        membership_record(
            membership=membership, action=AuditEntry.Action.ROLE_CHANGED, actor=by, before=before
        )
    return membership


@transaction.atomic
def membership_remove(*, workspace: Workspace, by: AbstractBaseUser, membership_id: int) -> str:
    """Remove a member from `workspace` with their tokens there; returns their username
    (Membership.DoesNotExist if not a member there)."""
    membership = _membership(workspace, membership_id)
    _check_may_change(by=by, membership=membership)
    membership_record(membership=membership, action=AuditEntry.Action.MEMBER_REMOVED, actor=by)
    # A token of a non-member is refused anyway; deleting it leaves nothing to revive.
    ApiToken.objects.in_workspace(workspace).filter(user=membership.user).delete()
    membership.delete()
    return membership.user.get_username()


def membership_record(
    *, membership: Membership, action: str, actor: AbstractBaseUser | None, before: str = ""
) -> None:
    """The audit entry of a membership added, changed or about to be removed (the members
    page and the admin site)."""
    details = {"user": membership.user.get_username(), "role": membership.role}
    if before:
        details["previous_role"] = before
    record(
        workspace=membership.workspace,
        action=action,
        actor=actor,
        target=membership,
        details=details,
    )
