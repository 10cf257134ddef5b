from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .models import ApiToken


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str, read_only: bool) -> tuple[ApiToken, str]:
    """Create a token; returns it and its secret, which is shown once and stored only hashed."""
    # Expired tokens are not swept on every request (see ScopedTokenAuthentication).
    ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    token, secret = ApiToken.objects.create(user=user)
    token.name = name
    token.read_only = read_only
    token.save(update_fields=["name", "read_only"])
    return token, secret


def api_token_revoke(*, user: AbstractBaseUser, token_key: str) -> bool:
    """Revoke (delete) one of the user's tokens; False if it was not theirs or is gone."""
    deleted, _ = ApiToken.objects.filter(user=user, token_key=token_key).delete()
    return bool(deleted)
