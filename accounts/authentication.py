import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from .workspace_access import enter_workspace


class ScopedTokenAuthentication(TokenAuthentication):
    """Knox token authentication, lean enough for the real-time predict endpoint.

    The token itself becomes request.auth, so permissions can read its read_only scope,
    and its workspace becomes the request's (with the user's role there). Per request it
    costs three queries: the token with its user and workspace, the user's membership, and
    the user's permissions (accounts.backends.ModelBackend, at the first permission check).
    """

    def authenticate(self, request):
        self._request = request._request
        return super().authenticate(request)

    def _enter_token_workspace(self, user, auth_token) -> None:
        """The token's workspace becomes the request's; under another workspace's /w/<slug>/
        prefix, or once the user has left the workspace, the answer is 404."""
        request = self._request
        in_path = getattr(request, "workspace_slug_in_path", None)
        if in_path is not None and in_path != auth_token.workspace.slug:
            raise exceptions.NotFound("No such workspace.")
        enter_workspace(request, user, auth_token.workspace)

    def authenticate_credentials(self, token: bytes):
        """knox's lookup without its sweep of all the user's other tokens (one more query on
        every request); expired tokens are swept when a user creates a token instead. A
        token found expired here is refused and deleted, as knox does. Bytes that cannot be
        a token (non-ASCII, control characters) are refused before any query."""
        invalid = _("Invalid token.")
        try:
            token_text = token.decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(invalid) from error
        # Tokens are printable ASCII; a NUL would reach the database (PostgreSQL refuses it).
        if not token_text.isprintable():
            raise exceptions.AuthenticationFailed(invalid)
        now = timezone.now()
        candidates = get_token_model().unscoped.filter(
            token_key=token_text[: CONSTANTS.TOKEN_KEY_LENGTH]
        )
        for auth_token in candidates.select_related("user", "workspace"):
            if auth_token.expiry is not None and auth_token.expiry < now:
                username = auth_token.user.get_username()
                auth_token.delete()
                token_expired.send(sender=type(self), username=username, source="auth_token")
                continue
            try:
                digest = hash_token(token_text)
            except (TypeError, binascii.Error) as error:
                raise exceptions.AuthenticationFailed(invalid) from error
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                user, auth_token = self.validate_user(auth_token)
                self._enter_token_workspace(user, auth_token)
                # One write a minute at most: this runs on every API request.
                last_used = auth_token.last_used_at
                if last_used is None or (now - last_used).total_seconds() > 60:
                    type(auth_token).objects.in_workspace(auth_token.workspace).filter(
                        pk=auth_token.pk
                    ).update(last_used_at=now)
                return user, auth_token
        raise exceptions.AuthenticationFailed(invalid)
