"""REST API for the customers a shop keeps out of its imports: list them, ask after one,
list ids no import has stored yet, let one back in. Managers only (the import_data
capability), as on the page; a stored customer is kept out by removing them
(DELETE /api/v1/customers/<id>/)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import capability_permission
from common.api_errors import error_responses
from common.api_strict import StrictCharField

from .kept_out import (
    KEEP_OUT_AT_ONCE,
    KeepOutRefused,
    customer_let_back_in,
    customers_keep_out_ahead,
    kept_out_entry,
)
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

    source = serializers.ChoiceField(
        choices=KeptOutCustomer.Source.choices,
        read_only=True,
        help_text="removed: removed with their lines; listed: kept out before any line of "
        "theirs was stored.",
    )

    class Meta:
        model = KeptOutCustomer
        fields = ["customer_id", "removed_at", "removed_by", "source"]
        extra_kwargs = {"removed_at": {"help_text": "Kept out since."}}


class KeepOutAheadSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(
        child=StrictCharField(max_length=254),
        min_length=1,
        max_length=KEEP_OUT_AT_ONCE,
        help_text="As the shop's files write them; an e-mail address is kept out as its pseudonym.",
    )


class KeptOutAheadSerializer(serializers.Serializer):
    kept_out = serializers.ListField(
        child=serializers.CharField(), help_text="Newly kept out, as stored."
    )
    already_kept_out = serializers.ListField(
        child=serializers.CharField(), help_text="Kept out before, as stored."
    )


@extend_schema(tags=["customers"])
class KeptOutCustomerListApi(generics.ListAPIView):
    """GET: the customer ids the shop's imports skip, latest first. POST: keep out ids no
    import has stored yet."""

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
                            "source": "removed",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Keep out customers not stored yet",
        description="Later imports skip the rows of these ids (a test account about to be "
        "used, a person who asked not to be recorded). All are kept out or none: an id of a "
        "stored customer (remove the customer instead), a placeholder such as “Guest” "
        "(imports skip it anyway) or one too long answers 400, each named in "
        "`fields.customer_ids`. Audited.",
        request=KeepOutAheadSerializer,
        responses={201: KeptOutAheadSerializer, **error_responses(400, 401, 403)},
        examples=[
            OpenApiExample(
                "Two ids", value={"customer_ids": ["TEST-1", "TEST-2"]}, request_only=True
            ),
            OpenApiExample(
                "Kept out",
                value={"kept_out": ["TEST-2"], "already_kept_out": ["TEST-1"]},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        given = KeepOutAheadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            done = customers_keep_out_ahead(
                workspace=request.workspace,
                ids=given.validated_data["customer_ids"],
                user=request.user,
                request=request,
            )
        except KeepOutRefused as refused:
            raise serializers.ValidationError({"customer_ids": refused.problems}) from refused
        body = {"kept_out": done.listed, "already_kept_out": done.already}
        return Response(KeptOutAheadSerializer(body).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["customers"])
class KeptOutCustomerDetailApi(generics.GenericAPIView):
    """GET: whether an id (or an e-mail address, by its pseudonym) is kept out, since when
    and how. DELETE: let it back in."""

    serializer_class = KeptOutCustomerSerializer
    permission_classes = [*generics.GenericAPIView.permission_classes, CanImport]

    @extend_schema(
        summary="Is a customer kept out of imports?",
        description="The entry of a customer id kept out, or of an e-mail address kept out "
        "as its pseudonym; 404 when it is not kept out.",
        responses={200: KeptOutCustomerSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, customer_id: str) -> Response:
        kept = kept_out_entry(workspace=request.workspace, searched=customer_id)
        if kept is None:
            raise Http404
        return Response(KeptOutCustomerSerializer(kept).data)

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
