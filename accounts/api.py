from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import ApiProblem, error_responses
from workspaces.models import Workspace

from .authentication import ScopedTokenAuthentication
from .lockout import lockout_response
from .services import api_token_create, api_token_record_revoked
from .throttling import SIGN_IN_THROTTLES
from .workspace_access import workspaces_of


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=100, default="API client")
    read_only = serializers.BooleanField(default=False)
    workspace = serializers.SlugField(
        required=False,
        help_text="The slug of the workspace the token is for. Needed when the user belongs "
        "to more than one, unless the path names it (/w/<slug>/api/v1/auth/token/).",
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField()
    read_only = serializers.BooleanField()
    workspace = serializers.CharField(help_text="The slug of the token's workspace.")


NOT_A_MEMBER = "You are not a member of a workspace {slug!r}."


def token_workspace(user, *, in_path: str | None, in_body: str | None) -> Workspace:
    """The workspace a new token is for: the path's, else the body's, else the user's only
    one. A workspace the user cannot enter gets the same answer whether it exists or not."""
    if in_path and in_body and in_path != in_body:
        raise serializers.ValidationError(
            {"workspace": [f"The path names workspace {in_path!r}; leave this out or match it."]}
        )
    choices = workspaces_of(user)
    slug = in_path or in_body
    if slug:
        for workspace in choices:
            if workspace.slug == slug:
                return workspace
        raise ApiProblem(NOT_A_MEMBER.format(slug=slug), status=401, code="authentication_failed")
    if len(choices) == 1:
        return choices[0]
    if not choices:
        raise ApiProblem(
            "You belong to no workspace yet: ask a site administrator to add you to one.",
            status=401,
            code="authentication_failed",
        )
    slugs = ", ".join(w.slug for w in choices)
    raise serializers.ValidationError(
        {"workspace": [f"You belong to several workspaces: name one of {slugs}."]}
    )


class TokenCreateApi(APIView):
    """Exchange a username and password for a new API token (shown once) in one workspace:
    the path's (/w/<slug>/api/v1/auth/token/), else the `workspace` field's, else the
    user's only one.

    Limited per client address (THROTTLE_AUTH) and per username (THROTTLE_AUTH_USERNAME),
    the same counts as the login page's; django-axes locks a username+address pair out.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = list(SIGN_IN_THROTTLES)
    workspace_free = True  # the workspace is chosen here, once the user is known

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: TokenResponseSerializer,
            **error_responses(
                400,
                401,
                429,
                d400="Invalid fields, or the user belongs to several workspaces and none "
                "was named (`fields.workspace` lists them).",
                d401="Invalid username or password, or not a member of the workspace named.",
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
        workspace = token_workspace(
            user,
            in_path=getattr(django_request, "workspace_slug_in_path", None),
            in_body=data.get("workspace"),
        )
        token, secret = api_token_create(
            user=user, workspace=workspace, name=data["name"], read_only=data["read_only"]
        )
        return Response(
            TokenResponseSerializer(
                {
                    "token": secret,
                    "expiry": token.expiry,
                    "read_only": token.read_only,
                    "workspace": workspace.slug,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class TokenRevokeApi(KnoxLogoutView):
    """Revoke the token this request was made with."""

    # Ours, not knox's: it finds the token across workspaces and enters the token's one.
    authentication_classes = [ScopedTokenAuthentication]

    @extend_schema(request=None, responses={204: None})
    def post(self, request, format=None):
        with transaction.atomic():
            api_token_record_revoked(token=request.auth, actor=request.user)
            return super().post(request, format)


class MeApi(APIView):
    """Who the caller is, in which workspace, and the role and capabilities it acts with
    there."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "workspace": inline_serializer(
                    "MeWorkspace",
                    {
                        "slug": serializers.CharField(),
                        "name": serializers.CharField(),
                        "currency": serializers.CharField(help_text="ISO 4217 code"),
                        "time_zone": serializers.CharField(
                            help_text="IANA name: the shop's days are counted and its "
                            "times shown in it"
                        ),
                    },
                ),
                "role": serializers.CharField(
                    allow_null=True,
                    help_text="The role in this workspace; null for a site administrator "
                    "who is not a member.",
                ),
                "roles": serializers.ListField(
                    child=serializers.CharField(),
                    help_text="Deprecated: `role` as a list, kept for one release.",
                ),
                "capabilities": serializers.ListField(child=serializers.CharField()),
                "read_only_token": serializers.BooleanField(),
            },
        )
    )
    def get(self, request):
        user = request.user
        workspace = request.workspace
        membership = request.membership
        role = membership.role if membership is not None else None
        return Response(
            {
                "username": user.get_username(),
                "workspace": {
                    "slug": workspace.slug,
                    "name": workspace.name,
                    "currency": workspace.currency,
                    "time_zone": workspace.time_zone,
                },
                "role": role,
                "roles": [role] if role else [],
                "capabilities": sorted(
                    p.split(".", 1)[1]
                    for p in user.get_all_permissions()
                    if p.startswith("accounts.")
                ),
                "read_only_token": bool(getattr(request.auth, "read_only", False)),
            }
        )
