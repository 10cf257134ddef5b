"""OpenAPI description of our token authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ScopedTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ScopedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A per-user API token: `Authorization: Token <token>`. "
            "Create one with POST /api/v1/auth/token/ or on the API tokens page.",
        }
