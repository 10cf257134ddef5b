from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import ApiProblem, error_responses

from .lockout import lockout_response
from .roles import ROLE_PERMISSIONS
from .services import api_token_create
from .throttling import SIGN_IN_THROTTLES


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=100, default="API client")
    read_only = serializers.BooleanField(default=False)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField()
    read_only = serializers.BooleanField()


class TokenCreateApi(APIView):
    """Exchange a username and password for a new API token (shown once).

    Limited per client address (THROTTLE_AUTH) and per username (THROTTLE_AUTH_USERNAME),
    the same counts as the login page's; django-axes locks a username+address pair out.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = list(SIGN_IN_THROTTLES)

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: TokenResponseSerializer,
            **error_responses(
                400,
                401,
                429,
                d401="Invalid username or password.",
                d429="Too many sign-in attempts from this address or for this username "
                "(code throttled), or the username is locked out after failed attempts "
                "(code locked_out); retry after the Retry-After header's seconds.",
            ),
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Through authenticate() so django-axes counts failures and locks out guessers.
        django_request = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if getattr(django_request, "axes_locked_out", False):
            return lockout_response(django_request)
        if user is None or not user.is_active:
            raise ApiProblem(
                "Invalid username or password.", status=401, code="authentication_failed"
            )
        token, secret = api_token_create(user=user, name=data["name"], read_only=data["read_only"])
        return Response(
            TokenResponseSerializer(
                {"token": secret, "expiry": token.expiry, "read_only": token.read_only}
            ).data,
            status=status.HTTP_201_CREATED,
        )


class TokenRevokeApi(KnoxLogoutView):
    """Revoke the token this request was made with."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request, format=None):
        return super().post(request, format)


class MeApi(APIView):
    """Who the caller is, and the roles and capabilities it acts with."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "roles": serializers.ListField(child=serializers.CharField()),
                "capabilities": serializers.ListField(child=serializers.CharField()),
                "read_only_token": serializers.BooleanField(),
            },
        )
    )
    def get(self, request):
        user = request.user
        return Response(
            {
                "username": user.get_username(),
                "roles": sorted(g.name for g in user.groups.all() if g.name in ROLE_PERMISSIONS),
                "capabilities": sorted(
                    p.split(".", 1)[1]
                    for p in user.get_all_permissions()
                    if p.startswith("accounts.")
                ),
                "read_only_token": bool(getattr(request.auth, "read_only", False)),
            }
        )
