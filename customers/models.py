"""Customers, their transaction lines, and the imports that brought them.

The segmentation engine aggregates TransactionLine per customer with SQL GROUP BY; the
field names below are its contract: customer, invoice, product_code, description, quantity,
unit_price, amount, timestamp, country, is_return, is_non_product, import_record.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone

from transaction_files.columns import platform, platform_date_order, platform_layout
from workspaces.models import Workspace
from workspaces.scoping import ScopedManager, UnscopedManager

CODE_LENGTH = 64


class Customer(models.Model):
    # Customer ids are the shop's own, so unique per workspace only (two shops both have a
    # customer "1001").
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(
        "customer id",
        max_length=CODE_LENGTH,
        help_text="The shop's own customer id, as text (leading zeros kept).",
    )
    country = models.CharField(
        max_length=CODE_LENGTH, blank=True, help_text="Of the latest transaction line."
    )
    # Purchases as a segmentation run counts them: not returns, not postage or fees.
    first_purchase_at = models.DateTimeField(
        null=True, blank=True, help_text="Earliest purchase; empty if there is none."
    )
    last_purchase_at = models.DateTimeField(
        null=True, blank=True, help_text="Latest purchase; empty if there is none."
    )
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="Latest transaction line of any kind."
    )
    # Contact details, when the import mapping has them: personal data, shown and exported
    # only to roles with accounts.view_personal_data.
    # Set by the database too (db_default): the imports insert customers with plain SQL.
    email = models.CharField(
        "e-mail",
        max_length=254,
        blank=True,
        default="",
        db_default="",
        help_text="Of the latest line that has one.",
    )
    name = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text="Of the latest line that has one.",
    )
    # Set when someone with access to personal data erased the e-mail and name (a person's
    # request): later imports do not bring them back.
    contact_erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="customer_id_unique_in_workspace"
            )
        ]
        # Customer id prefix searches (LIKE 'x%'): the unique index's collation order cannot
        # serve them on PostgreSQL; a plain index elsewhere (opclasses are PostgreSQL's).
        indexes = [
            models.Index(
                fields=["workspace", "external_id"],
                name="customer_id_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            # A person asking to be forgotten gives their e-mail, in whatever case
            # (selectors.customers_with_emails); shops without e-mails keep it empty.
            models.Index(
                F("workspace"),
                Upper("email"),
                name="customer_email_ci",
                condition=~Q(email=""),
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class ImportLayout(models.Model):
    """A file layout the workspace has mapped once: the next file whose header has the same
    names (compared normalised) is imported with this mapping without asking."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    # sha256 of transaction_files.guesses.header_signature(columns): a header of a thousand
    # names still makes a short, indexable key.
    signature = models.CharField(max_length=64)
    columns = models.JSONField(default=list, help_text="The header, as first seen.")
    mapping = models.JSONField(default=dict, help_text="{field: column}")
    date_order = models.CharField(max_length=12, choices=Workspace.DateOrder.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "signature"], name="import_layout_unique_in_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"Layout #{self.pk}: {', '.join(self.columns)[:80]}"

    def get_absolute_url(self) -> str:
        return reverse("customers:layout-edit", args=[self.pk])


class ImportRecord(models.Model):
    class Status(models.TextChoices):
        # A workbook is opened on the worker, never in the upload's request: its header and
        # first rows are read there, then it moves on (to needs_mapping, queued or failed).
        READING = "reading", "Reading the file"
        NEEDS_MAPPING = "needs_mapping", "Needs column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        # Its lines were removed by a manager (import_record_undo); the record stays.
        UNDONE = "undone", "Undone"

    DateOrder = Workspace.DateOrder

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # the uploader's address, for the audit entry a worker writes once a workbook is read
    uploaded_from = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # What the user chose: column mapping {field: column}, date order, worksheet.
    mapping = models.JSONField(default=dict, blank=True)
    date_order = models.CharField(max_length=12, choices=DateOrder.choices, blank=True)
    # Chosen for this file (upload, mapping step, command); else the workspace's or a
    # remembered layout's, which the file's own dates may contradict (the import then fails).
    date_order_chosen = models.BooleanField(default=False)
    sheet = models.CharField(max_length=255, blank=True)
    columns = models.JSONField(default=list, blank=True, help_text="Header of the file.")
    # The file's first rows (transaction_files.preview.FileSample.to_json), read once with the
    # header, so the mapping step shows its guesses and preview without opening the file.
    sample = models.JSONField(default=dict, blank=True)
    # Uploaded through the page: an unrecognised header waits in needs_mapping. Otherwise
    # (the API, the command) the import fails saying which columns to name.
    mapping_step = models.BooleanField(default=False)
    # The remembered layout whose mapping it used (none: recognised or mapped by hand).
    layout = models.ForeignKey(
        ImportLayout, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)

    rows_read = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(
        default=0,
        help_text="No customer id, or one that stands for no customer (a guest or walk-in "
        "sale), or an order cancelled, refunded, voided or never finished at checkout.",
    )
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    counts_by_reason = models.JSONField(default=dict, blank=True)
    notices = models.JSONField(default=list, blank=True)
    # What the page shows of a finished import (customers.importing.outcomes.import_summary),
    # computed once when it finishes: period, customers, orders, revenue, rejected examples.
    summary = models.JSONField(default=dict, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Who undid it and when, as uploaded_by and created_at say who made it and when.
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    #: Where a date order nobody chose for the file came from (date_order_default_source)
    WORKSPACE_ORDER = "this workspace's setting"
    LAYOUT_ORDER = "the order remembered with this file's columns"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="import_progress_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="import_workspace_idx")]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("customers:import-detail", args=[self.pk])

    def date_order_default_source(self) -> str | None:
        """Where a date order nobody chose for the file came from (WORKSPACE_ORDER or
        LAYOUT_ORDER, the words of the message a file contradicting it fails with); None
        when it was chosen for this file."""
        if self.date_order_chosen:
            return None
        if self.date_order and self.date_order == platform_date_order(self.columns or []):
            return None  # the form a platform's export always has, not a default
        layout = self.layout
        if layout is not None and layout.date_order and layout.date_order == self.date_order:
            return self.LAYOUT_ORDER
        return self.WORKSPACE_ORDER

    @property
    def recognised_as(self) -> str | None:
        """The platform's export its header is known as (columns.PLATFORM_LAYOUTS), if any."""
        return platform(self.columns or [])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.UNDONE)

    @property
    def can_be_undone(self) -> bool:
        return self.status == self.Status.SUCCEEDED

    @property
    def warnings(self) -> list[str]:
        """What a succeeded import left out, in sentences: it "succeeded with warnings"."""
        if self.status != self.Status.SUCCEEDED:
            return []
        found = []
        if self.rows_rejected:
            found.append(
                f"{self.rows_rejected:,} of {self.rows_read:,} rows were rejected and not "
                "stored: see the rejected rows for why."
            )
        if self.rows_without_customer:
            layout = platform_layout(self.columns or [])
            which = ""
            if layout is not None and layout.no_customer:
                which = f" (in a {self.recognised_as}, {layout.no_customer})"
            found.append(
                f"{self.rows_without_customer:,} of {self.rows_read:,} rows were skipped: they "
                f"have no customer id{which}."
            )
        if self.rows_with_placeholder_id:
            shown = (self.summary or {}).get("placeholder_ids") or []
            ids = ", ".join(
                f"“{p['id']}” ({p['rows']:,} row{'' if p['rows'] == 1 else 's'})" for p in shown
            )
            found.append(
                f"{self.rows_with_placeholder_id:,} of {self.rows_read:,} rows were skipped: "
                f"their customer id stands for no customer{': ' + ids if ids else ''}. Kept, "
                "it would be one customer holding every guest or walk-in sale. If one is a "
                "real customer of this shop, list it under “Customer ids to keep” in the "
                "shop's settings and import the file again."
            )
        largest = self.largest_customer_share
        if largest is not None:
            top = (self.summary or {})["largest_customer"]
            found.append(
                f"Customer “{top['id']}” has {top['rows']:,} of the {top['of_rows']:,} rows "
                f"({largest:.0%}): if that id stands for many buyers (a marketplace, a till's "
                "default customer), their sales were stored as one customer's. Remove that "
                "customer with all their lines, kept out of later imports; or undo this "
                "import and map another column as the customer id."
            )
        return found

    @property
    def largest_customer_share(self) -> float | None:
        """The share of the file's rows of its largest customer, when it is one to warn of:
        at least LARGEST_CUSTOMER_SHARE of the rows in a file of LARGEST_CUSTOMER_AMONG
        customers or more (a real customer seldom holds a fifth of a shop's lines)."""
        top = (self.summary or {}).get("largest_customer")
        customers = (self.summary or {}).get("customers") or 0
        if not top or not top["of_rows"] or customers < LARGEST_CUSTOMER_AMONG:
            return None
        share = top["rows"] / top["of_rows"]
        return share if share >= LARGEST_CUSTOMER_SHARE else None

    @property
    def rows_without_customer(self) -> int:
        """Skipped rows that had no customer id (the others are orders that did not happen,
        as their status said: skipped by design, not a warning, and ids that stand for no
        customer, warned of apart)."""
        return (
            self.rows_skipped
            - self.orders_not_sales
            - self.rows_with_placeholder_id
            - self.rows_of_kept_out_customers
        )

    @property
    def rows_of_kept_out_customers(self) -> int:
        """Skipped rows of customers the shop removed and keeps out (KeptOutCustomer)."""
        return int((self.counts_by_reason or {}).get("skipped_kept_out_customer", 0))

    @property
    def rows_with_placeholder_id(self) -> int:
        """Skipped rows whose customer id stands for no customer ("Guest", "0")."""
        return int((self.counts_by_reason or {}).get("skipped_placeholder_customer_id", 0))

    @property
    def orders_not_sales(self) -> int:
        """Rows skipped as orders cancelled, refunded in full, voided or failed, or
        checkouts never finished."""
        return int((self.counts_by_reason or {}).get("skipped_cancelled_order", 0))

    @property
    def status_label(self) -> str:
        """The status in words: "Succeeded with warnings" when it left rows out."""
        if self.warnings:
            return "Succeeded with warnings"
        return self.get_status_display()

    @property
    def period(self) -> tuple[date, date] | None:
        """First and last date of the lines it stored (the shop's dates), from the summary."""
        first, last = (self.summary or {}).get("first_date"), (self.summary or {}).get("last_date")
        if not first or not last:
            return None
        return date.fromisoformat(first), date.fromisoformat(last)

    def reasons(self) -> list[tuple[str, int]]:
        """counts_by_reason as (what it means, count), in REASON_LABELS order; a key this
        version does not know is shown as it is."""
        counts = self.counts_by_reason or {}
        known = [(label, counts[key]) for key, label in REASON_LABELS.items() if key in counts]
        return known + [(key, n) for key, n in counts.items() if key not in REASON_LABELS]


#: An import warns of a customer holding this share of its rows or more (ImportRecord.warnings)
LARGEST_CUSTOMER_SHARE = 0.2
#: ... in a file of at least this many customers (in a small file one customer may be a fifth)
LARGEST_CUSTOMER_AMONG = 20

# The keys of ImportRecord.counts_by_reason (the API's too) and what they mean to a user.
REASON_LABELS = {
    "skipped_no_customer_id": "Skipped: no customer id",
    "skipped_placeholder_customer_id": (
        "Skipped: customer id that stands for no customer (a guest or walk-in sale)"
    ),
    "skipped_cancelled_order": (
        "Skipped: order cancelled, refunded in full, voided or failed, or a checkout never finished"
    ),
    "skipped_kept_out_customer": "Skipped: customer the shop keeps out of imports",
    "duplicate_in_file": "Not stored again: the same line of the same order earlier in this file",
    "already_imported": "Not stored again: already imported",
    "imported_returns": "Imported and flagged: returns and cancellations",
    "imported_non_product": "Imported and flagged: postage, fees and other non-product lines",
    "customer_id_from_email": "Imported: customer id an e-mail address, stored as its pseudonym",
    "rejected_bad_date": "Rejected: unreadable date",
    "rejected_implausible_date": "Rejected: date before the earliest year or after the upload",
    "rejected_bad_number": "Rejected: unreadable or out-of-range number",
    "rejected_other_currency": "Rejected: amount in another currency than the workspace's",
    "rejected_missing_value": "Rejected: missing value",
    "rejected_too_long": "Rejected: text too long",
    "rejected_binary_data": "Rejected: binary data (a NUL character)",
    "rejected_wrong_column_count": "Rejected: wrong number of columns",
}


class KeptOutCustomer(models.Model):
    """A customer id the shop keeps out: imports skip its rows (a test account, a person who
    asked to be forgotten), until a manager lets it back in. Removing a customer lists it;
    so may a manager before any line of it is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(
        "customer id", max_length=CODE_LENGTH, help_text="As stored (an e-mail's pseudonym)."
    )
    removed_at = models.DateTimeField("kept out since", default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="kept out by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Source(models.TextChoices):
        REMOVED = "removed", "Removed with their lines"
        LISTED = "listed", "Listed before any line of theirs was stored"

    source = models.CharField(max_length=8, choices=Source.choices, default=Source.REMOVED)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-removed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="kept_out_id_unique_in_workspace"
            )
        ]

    def __str__(self) -> str:
        return self.external_id


class ImportRejectedRow(models.Model):
    import_record = models.ForeignKey(
        ImportRecord, on_delete=models.CASCADE, related_name="rejected_rows"
    )
    line_number = models.PositiveIntegerField(help_text="As in the file; the header is line 1.")
    column = models.CharField(max_length=255, blank=True)
    value = models.TextField(blank=True)
    message = models.CharField(max_length=255)

    WORKSPACE_PATH = "import_record__workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["import_record", "line_number", "id"]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.message}"


class TransactionLine(models.Model):
    # The primary key (workspace, customer, timestamp, line_hash) is the table's one index,
    # with three jobs: a workspace's lines (a run reads only its own shop's, the leading
    # column), a customer's lines by time (the customer page, the API's filter) and
    # deduplication (lines with the same hash have the same customer and time, so the key
    # is unique exactly when line_hash is). Every index here slows the bulk import, so a
    # surrogate id with its own was dropped (and a line's identity is its content: its hash
    # is its id in the API); docs/performance.md.
    pk = models.CompositePrimaryKey("workspace", "customer", "timestamp", "line_hash")
    # The customer's workspace, repeated so the key can lead with it (no constraint, as for
    # the customer below: the bulk writers take it from the import).
    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # No database-level constraint on the customer: the deferred check slowed the import's
    # commit by seconds. Integrity is kept by the bulk writers:
    # StagingTable.move upserts, in the same transaction, every customer its lines name
    # (ON CONFLICT DO UPDATE locks those rows until commit, so no concurrent delete can
    # remove one) and takes customer ids from a join to that table; BulkLoad holds the
    # customer table's SHARE ROW EXCLUSIVE lock while it numbers them. Deletes go through
    # the ORM, whose CASCADE removes the lines.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="lines",
        db_index=False,
        db_constraint=False,
    )
    invoice = models.CharField(max_length=CODE_LENGTH)
    product_code = models.CharField(max_length=CODE_LENGTH, blank=True)
    description = models.TextField(blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    unit_price = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=4, help_text="Line total.")
    timestamp = models.DateTimeField()
    country = models.CharField(max_length=CODE_LENGTH, blank=True)
    is_return = models.BooleanField(default=False)
    is_non_product = models.BooleanField(default=False)
    # Provenance only: no database-level constraint (a bulk insert would queue one check per
    # line) and no index (each slows the bulk insert); PROTECT still guards deletes through
    # the ORM.
    import_record = models.ForeignKey(
        ImportRecord,
        on_delete=models.PROTECT,
        related_name="lines",
        db_index=False,
        db_constraint=False,
    )
    # MD5 of the normalised line content (customer and time included), stored as a UUID
    # (16 bytes on PostgreSQL): the same line from a re-import or an overlapping file
    # collides in the primary key and is not stored twice.
    line_hash = models.UUIDField()

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    def __str__(self) -> str:
        return f"{self.invoice} {self.product_code} x{self.quantity}"
