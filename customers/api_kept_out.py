"""REST API for the customers a shop keeps out of its imports: list them, let one back in.
Managers only (the import_data capability), as on the page; a customer is kept out by
removing them (DELETE /api/v1/customers/<id>/)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import capability_permission
from common.api_errors import error_responses

from .kept_out import customer_let_back_in
from .models import KeptOutCustomer

CanImport = capability_permission("import_data")


class KeptOutCustomerSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(
        source="external_id",
        read_only=True,
        help_text="As stored: a customer id that was an e-mail address is its pseudonym.",
    )
    removed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = KeptOutCustomer
        fields = ["customer_id", "removed_at", "removed_by"]


@extend_schema(tags=["customers"])
class KeptOutCustomerListApi(generics.ListAPIView):
    """The customer ids the shop's imports skip, latest removal first."""

    serializer_class = KeptOutCustomerSerializer
    permission_classes = [*generics.ListAPIView.permission_classes, CanImport]

    def get_queryset(self):
        return KeptOutCustomer.objects.in_workspace(self.request.workspace).select_related(
            "removed_by"
        )

    @extend_schema(
        summary="List the customers kept out of imports",
        examples=[
            OpenApiExample(
                "Kept out",
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "customer_id": "17850",
                            "removed_at": "2026-12-02T10:30:00Z",
                            "removed_by": "manager",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["customers"])
class KeptOutCustomerDetailApi(generics.GenericAPIView):
    serializer_class = KeptOutCustomerSerializer
    permission_classes = [*generics.GenericAPIView.permission_classes, CanImport]

    @extend_schema(
        summary="Let a customer back into imports",
        description="Later imports store the customer's lines again; their earlier lines "
        "come back only with a file imported again. Audited.",
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, customer_id: str) -> Response:
        kept = get_object_or_404(
            KeptOutCustomer.objects.in_workspace(request.workspace), external_id=customer_id
        )
        try:
            customer_let_back_in(
                workspace=request.workspace, pk=kept.pk, user=request.user, request=request
            )
        except KeptOutCustomer.DoesNotExist as exc:  # let back in meanwhile by another request
            raise Http404 from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
