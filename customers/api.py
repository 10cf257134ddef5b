"""REST API for imports: upload, list, status with progress, rejected rows."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.permissions import capability_permission
from common.api_errors import ApiProblem, error_responses
from transaction_files import dates
from transaction_files.columns import FIELDS, parse_mapping_text
from transaction_files.errors import ImportFileError, MappingNeeded

from .models import ImportRecord, ImportRejectedRow
from .selectors import import_record_list, import_rejected_rows
from .services import ImportNotRepeatable, import_record_again, import_record_create

CanImport = capability_permission("import_data")
#: The date orders an upload or an import made again may ask for ("": the workspace's).
DATE_ORDER_CHOICES = ["", *dates.ORDERS]


@extend_schema_serializer(deprecate_fields=["percent", "error_message"])
class ImportRecordSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    # The old names of progress and error, with the same values, kept one release.
    percent = serializers.IntegerField(
        source="progress",
        read_only=True,
        help_text="Deprecated: use progress (the same value; removed in the next release).",
    )
    error_message = serializers.CharField(
        source="error",
        read_only=True,
        help_text="Deprecated: use error (the same text; removed in the next release).",
    )

    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What a succeeded import left out, in sentences (rejected or skipped rows): "
        "a succeeded import with warnings. Empty otherwise.",
    )
    columns = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The file's header, once read (empty while the import is `reading`).",
    )
    recognised_as = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text='The platform\'s export the header was known as ("Shopify orders export", '
        '"Etsy sold order items", "Square item sales export"), read by that export\'s '
        "conventions; null for any other file.",
    )
    summary = serializers.JSONField(
        read_only=True,
        help_text="Of a finished import: first_date and last_date of its lines (the shop's "
        "dates), customers, orders (distinct invoices), revenue (purchases, as a decimal "
        "string in the workspace's currency), rejected (problems with up to 5 examples) and "
        "placeholder_ids (customer ids skipped as standing for no customer, such as "
        "'Guest' or '0', each with its rows) and largest_customer (the customer with the "
        "most rows: id, rows, of_rows; warned of from a fifth of the rows).",
    )
    currency = serializers.CharField(
        source="workspace.currency",
        read_only=True,
        help_text="ISO code of the currency of summary.revenue.",
    )

    class Meta:
        model = ImportRecord
        fields = [
            "id",
            "file_name",
            "file_size",
            "sha256",
            "uploaded_by",
            "created_at",
            "started_at",
            "finished_at",
            "status",
            "stage",
            "progress",
            "columns",
            "recognised_as",
            "mapping",
            "date_order",
            "sheet",
            "rows_read",
            "rows_imported",
            "rows_skipped",
            "rows_duplicate",
            "rows_rejected",
            "customers_created",
            "counts_by_reason",
            "notices",
            "warnings",
            "summary",
            "currency",
            "duration_seconds",
            "error",
            "percent",
            "error_message",
        ]
        read_only_fields = fields


class ImportRejectedRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRejectedRow
        fields = ["line_number", "column", "value", "message"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="field=Column pairs, comma-separated (customer_id=Cust,timestamp=Date). "
        f"Fields: {', '.join(FIELDS)}. customer_id and email may name the same column.",
    )
    date_order = serializers.ChoiceField(
        choices=DATE_ORDER_CHOICES, required=False, allow_blank=True
    )
    sheet = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate_mapping(self, value: str) -> dict[str, str]:
        try:
            return parse_mapping_text(value)
        except ImportFileError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class ImportListCreateApi(generics.ListAPIView):
    """GET: the imports, newest first. POST: upload a file; it is imported by the worker.

    A workbook (.xlsx) is opened on the worker only: it is answered in status `reading`, and
    a header the worker cannot map ends the import failed with the message and `columns`.
    """

    serializer_class = ImportRecordSerializer
    permission_classes = [*generics.ListAPIView.permission_classes, CanImport]
    parser_classes = [MultiPartParser]  # a file: multipart only (the rest of the API: JSON)
    throttle_scope = "imports"

    def get_throttles(self):
        # Status polling must not use up the upload allowance.
        return [] if self.request.method in SAFE_METHODS else super().get_throttles()

    def get_queryset(self):
        return import_record_list(workspace=self.request.workspace)

    @extend_schema(
        request=ImportUploadSerializer,
        responses={
            202: ImportRecordSerializer,
            **error_responses(
                400,
                d400="The file or the parameters cannot be used; the reason is in `detail` "
                "and `fields.file` (code invalid_file). When columns must be named, code "
                "mapping_needed adds the file's `columns` and the `missing_fields`. A "
                "workbook's header is read by the worker: it is answered 202 in status "
                "`reading`, and an unreadable or unmapped one ends the import `failed` with "
                "its `error`.",
            ),
        },
    )
    def post(self, request):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        try:
            record = import_record_create(
                workspace=request.workspace,
                file=data["file"],
                file_name=data["file"].name,
                uploaded_by=request.user,
                mapping=data.get("mapping") or None,
                date_order=data.get("date_order", ""),
                sheet=data.get("sheet", ""),
            )
        except MappingNeeded as exc:
            raise ApiProblem(
                str(exc),
                status=400,
                code="mapping_needed",
                fields={"file": [str(exc)]},
                extra={"columns": exc.columns, "missing_fields": exc.missing},
            ) from exc
        except ImportFileError as exc:
            raise ApiProblem(
                str(exc), status=400, code="invalid_file", fields={"file": [str(exc)]}
            ) from exc
        return Response(ImportRecordSerializer(record).data, status=status.HTTP_202_ACCEPTED)


class ImportAgainSerializer(serializers.Serializer):
    date_order = serializers.ChoiceField(
        choices=DATE_ORDER_CHOICES,
        required=False,
        allow_blank=True,
        help_text="How to read day/month dates this time; empty: the workspace's order.",
    )


class ImportAgainApi(generics.GenericAPIView):
    """POST: import a failed import's file again, as a new import with the same columns and
    sheet, in the date order given (the way on when the file's dates left the order open).
    The failed import stays as it was."""

    serializer_class = ImportAgainSerializer
    permission_classes = [*generics.GenericAPIView.permission_classes, CanImport]
    throttle_scope = "imports"

    @extend_schema(
        operation_id="imports_again",
        request=ImportAgainSerializer,
        responses={
            202: ImportRecordSerializer,
            **error_responses(
                400,
                404,
                409,
                d400="The date order is not one of the choices; or the stored file cannot be "
                "read as a new import (code invalid_file).",
                d409="The import did not fail, or its file has been deleted since "
                "(IMPORT_FILES_KEEP_DAYS): upload the file again.",
            ),
        },
    )
    def post(self, request, pk: int):
        asked = ImportAgainSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            record = import_record_again(
                workspace=request.workspace,
                import_record_id=pk,
                date_order=asked.validated_data.get("date_order", ""),
                user=request.user,
            )
        except ImportRecord.DoesNotExist as exc:
            raise Http404 from exc
        except ImportNotRepeatable as exc:
            raise ApiProblem(str(exc), status=409, code="conflict") from exc
        except ImportFileError as exc:
            raise ApiProblem(str(exc), status=400, code="invalid_file") from exc
        return Response(ImportRecordSerializer(record).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(generics.RetrieveAPIView):
    """One import: status, stage and progress while it runs, counts when it is done."""

    serializer_class = ImportRecordSerializer
    permission_classes = [*generics.RetrieveAPIView.permission_classes, CanImport]

    def get_queryset(self):
        return import_record_list(workspace=self.request.workspace)


class ImportRejectedRowsApi(generics.ListAPIView):
    """The rows an import rejected (line as in the file, header = 1), paginated."""

    serializer_class = ImportRejectedRowSerializer
    permission_classes = [*generics.ListAPIView.permission_classes, CanImport]

    def get_queryset(self):
        workspace = self.request.workspace
        record = get_object_or_404(import_record_list(workspace=workspace), pk=self.kwargs["pk"])
        return import_rejected_rows(workspace=workspace, import_record=record)
