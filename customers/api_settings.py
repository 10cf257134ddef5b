"""The shop's settings over the API: GET for every member (what its amounts and times are
read in), PATCH for its admins, the same changes and refusals as the settings page."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import capability_permission
from common.api_errors import ApiProblem, error_responses
from common.api_strict import StrictModelSerializer
from workspaces.models import Workspace

from .shop_settings import (
    SHOP_SETTINGS,
    ShopSettingsRefused,
    currency_fixed_because,
    shop_settings_change,
)

CanViewSegments = capability_permission("view_segments")
CanChangeShopSettings = capability_permission("change_shop_settings")


class ShopSettingsSerializer(StrictModelSerializer):
    currency_fixed_because = serializers.SerializerMethodField(
        help_text="Why the currency can no longer change (the shop holds lines, or an "
        "import is under way); null while it can."
    )

    class Meta:
        model = Workspace
        fields = ["slug", *SHOP_SETTINGS, "currency_fixed_because"]
        read_only_fields = ["slug"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_currency_fixed_because(self, workspace: Workspace) -> str | None:
        return currency_fixed_because(workspace)


SETTINGS_EXAMPLE = {
    "slug": "corner-shop",
    "name": "Corner Shop",
    "currency": "EUR",
    "time_zone": "Europe/Berlin",
    "date_order": "dayfirst",
    "code_page": "cp1252",
    "customer_ids_kept": "0",
    "currency_fixed_because": "The shop's lines are stored in EUR; another currency would "
    "relabel their amounts, not convert them.",
}


@extend_schema(tags=["settings"])
class ShopSettingsApi(APIView):
    """GET: the shop's name, currency, time zone and how its files are read.
    PATCH: change some of them (the shop's admins)."""

    def get_permissions(self):
        needed = CanViewSegments if self.request.method in SAFE_METHODS else CanChangeShopSettings
        return [*super().get_permissions(), needed()]

    @extend_schema(
        summary="Get the shop's settings",
        responses={200: ShopSettingsSerializer, **error_responses(401, 403)},
        examples=[OpenApiExample("A shop", value=SETTINGS_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        return Response(ShopSettingsSerializer(request.workspace).data)

    @extend_schema(
        summary="Change the shop's settings",
        description="Send the settings to change; the others stay. Each change is one entry "
        "in the audit log, and the schedule follows a new time zone. The currency is fixed "
        "once the shop holds lines or an import is under way: amounts are stored as written, "
        "and another currency would relabel them, not convert them; such a change is a 409 "
        "(code `currency_fixed`) and nothing sent is saved. Bad values answer 400 naming the "
        "field.",
        request=ShopSettingsSerializer,
        responses={
            200: ShopSettingsSerializer,
            **error_responses(
                400,
                401,
                403,
                409,
                d409="The currency is fixed (code currency_fixed); `fields.currency` says why.",
            ),
        },
        examples=[
            OpenApiExample(
                "A new time zone",
                value={"time_zone": "Europe/Berlin", "date_order": "dayfirst"},
                request_only=True,
            )
        ],
    )
    def patch(self, request):
        workspace = request.workspace
        # A copy: validation must not write onto the workspace the request carries.
        serializer = ShopSettingsSerializer(
            Workspace.objects.get(pk=workspace.pk), data=request.data, partial=True
        )
        serializer.is_valid(raise_exception=True)
        try:
            shop_settings_change(
                workspace=workspace, by=request.user, changes=dict(serializer.validated_data)
            )
        except ShopSettingsRefused as refused:
            raise ApiProblem(
                str(refused), status=409, code=refused.code, fields={refused.field: [str(refused)]}
            ) from refused
        return Response(ShopSettingsSerializer(workspace).data)
