from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from knox import crypto
from knox.settings import CONSTANTS, knox_settings

from workspaces.models import Workspace

from .models import ApiToken


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
    return token, secret


def api_token_revoke(*, user: AbstractBaseUser, workspace: Workspace, token_key: str) -> bool:
    """Revoke (delete) one of the user's tokens in `workspace`; False if it was not theirs
    there or is gone."""
    deleted, _ = (
        ApiToken.objects.in_workspace(workspace).filter(user=user, token_key=token_key).delete()
    )
    return bool(deleted)
