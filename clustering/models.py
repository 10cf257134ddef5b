from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.formats import date_format

from workspaces.models import Workspace
from workspaces.scoping import ScopedManager, ScopedQuerySet, UnscopedManager

from .engine.types import NUMERIC_FEATURES


class WorkerHeartbeat(models.Model):
    """The last time each background worker ran a task for us: proof the queue is alive."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()
    tasks_seen = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class SegmentationRunQuerySet(ScopedQuerySet):
    def without_report_data(self, *keep: str) -> SegmentationRunQuerySet:
        """The runs without their JSON fields (parameters, timings, the report: PCA points,
        RFM grid ...), which weigh up to hundreds of kB a run; `keep` names those the caller
        reads. ``.defer(None)`` brings them all back."""
        return self.defer(*SegmentationRun.report_data_fields(keep=keep))


class SegmentationRun(models.Model):
    """One segmentation of the customers: its parameters, progress and results.

    Results (candidates, segments, assignments, report data, predictor file) are written in
    one transaction when the run succeeds, and never change once it is published.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="segmentation_runs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    name = models.CharField(max_length=200, blank=True)

    class Trigger(models.TextChoices):
        MANAGER = "manager", "Started by a manager"
        SCHEDULE = "schedule", "Started by the schedule"
        COMMAND = "command", "Started from the command line"

    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANAGER)
    params = models.JSONField(help_text="The engine's SegmentationParams, as given.")
    reference_date = models.DateField(null=True, blank=True)
    lookback_days = models.PositiveIntegerField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True, help_text="What went wrong, in words a user can act on.")
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.CharField(
        max_length=64, blank=True, help_text="The task execution that owns the run while it runs."
    )
    worker_hostname = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    # What the run read and with what.
    data_fingerprint = models.CharField(max_length=64, blank=True)
    data_summary = models.JSONField(default=dict, blank=True)
    library_versions = models.JSONField(default=dict, blank=True)

    # Results.
    n_customers = models.PositiveIntegerField(null=True, blank=True)
    excluded = models.JSONField(default=dict, blank=True)
    flagged = models.JSONField(default=dict, blank=True)
    preprocessing = models.JSONField(default=list, blank=True)
    chosen_algorithm = models.CharField(max_length=40, blank=True)
    chosen_k = models.PositiveSmallIntegerField(null=True, blank=True)
    chosen_setting = models.CharField(max_length=120, blank=True)
    justification = models.TextField(blank=True)
    elbow = models.JSONField(default=dict, blank=True)
    stability = models.JSONField(default=dict, blank=True)
    surrogate_agreement = models.FloatField(null=True, blank=True)
    pca = models.JSONField(default=dict, blank=True)
    rfm_comparison = models.JSONField(default=dict, blank=True)
    activity_rhythm = models.JSONField(
        default=dict,
        blank=True,
        help_text="The shop's rhythm: active_days, lapsed_days, repeat_customers, basis.",
    )
    value_ahead = models.JSONField(
        default=dict,
        blank=True,
        help_text="The value stage: horizon_days, discount_rate, margin, purchase_model, "
        "spend_model, total_expected_value, customers, holdout ({} when it did not run).",
    )
    notes = models.JSONField(default=list, blank=True)
    predictor_file = models.CharField(max_length=500, blank=True)
    # When its per-customer rows were removed (manage.py prune_run_members): a run never
    # published keeps its report, segments and profiles, not its members.
    members_removed_at = models.DateTimeField(null=True, blank=True)

    is_published = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="published_runs",
    )
    publication_hold = models.TextField(
        blank=True,
        help_text="Why this run did not publish itself and waits for a manager (scheduled "
        "runs whose guards failed); empty otherwise.",
    )

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager.from_queryset(SegmentationRunQuerySet)()
    unscoped = SegmentationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(is_published=True),
                name="one_published_run_per_workspace",
            ),
            models.CheckConstraint(
                condition=Q(is_published=False) | Q(status="succeeded"),
                name="only_succeeded_runs_are_published",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="progress_is_percent"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["workspace", "-created_at"], name="run_workspace_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name  # every page names a run alike; its number goes beside it

    def get_absolute_url(self) -> str:
        return reverse("clustering:run-detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        """The run's own name, else one a marketer can read ("Run 12" says nothing to them);
        pages and the API both say it."""
        if self.name:
            return self.name
        # a run that failed or was cancelled read nothing "as of" the day it stopped
        finished = self.status == self.Status.SUCCEEDED and self.finished_at
        as_of = self.reference_date or (finished and finished.date())
        return f"Segmentation as of {date_format(as_of, 'j M Y')}" if as_of else "Segmentation"

    @property
    def median_p_alive_of_repeat_buyers(self) -> bool:
        """Its segments' median P(alive) is over their repeat buyers (runs stored before
        value.with_value left one-time buyers out took every member's)."""
        return (self.value_ahead or {}).get("median_p_alive_of") == "repeat_buyers"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @classmethod
    def report_data_fields(cls, *, through: str = "", keep: tuple[str, ...] = ()) -> list[str]:
        """The names of the run's JSON fields but `keep`, for ``defer()``; `through` is the
        relation from another model, e.g. ``"run__"`` on a segment's query."""
        return [
            f"{through}{field.name}"
            for field in cls._meta.concrete_fields
            if isinstance(field, models.JSONField) and field.name not in keep
        ]


class Candidate(models.Model):
    """One fitted (algorithm, k) of a run and its validation scores."""

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="candidates")
    algorithm = models.CharField(max_length=40)
    k = models.PositiveSmallIntegerField(null=True, blank=True)
    setting = models.CharField(max_length=120)
    n_clusters = models.PositiveIntegerField()
    silhouette = models.FloatField(null=True)
    davies_bouldin = models.FloatField(null=True)
    calinski_harabasz = models.FloatField(null=True)
    inertia = models.FloatField(null=True, blank=True)
    bic = models.FloatField(null=True, blank=True)
    noise_share = models.FloatField(default=0)
    min_segment_share = models.FloatField(default=0)
    eligible = models.BooleanField()
    reason = models.CharField(max_length=300, blank=True)
    fit_seconds = models.FloatField()
    fitted_on = models.PositiveIntegerField()
    silhouette_sampled = models.BooleanField(default=False)
    consensus_rank = models.FloatField(null=True, blank=True)
    is_chosen = models.BooleanField(default=False)

    WORKSPACE_PATH = "run__workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["algorithm", "k", "setting"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "algorithm", "setting"], name="one_candidate_per_setting"
            ),
            models.UniqueConstraint(
                fields=["run"], condition=Q(is_chosen=True), name="one_chosen_candidate"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.setting}"


class Segment(models.Model):
    """A segment of a run: its profile, business name and recommended action."""

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="segments")
    number = models.PositiveSmallIntegerField(help_text="The engine's segment id within the run.")
    name = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    share_customers = models.FloatField()
    share_revenue = models.FloatField()
    medians = models.JSONField(default=dict)
    means = models.JSONField(default=dict)
    lift = models.JSONField(default=dict)
    distinguishing = models.JSONField(default=list)
    rule = models.TextField(blank=True)
    rule_accuracy = models.FloatField(null=True, blank=True)
    rule_precision = models.FloatField(null=True, blank=True)
    rule_recall = models.FloatField(null=True, blank=True)
    action = models.TextField(blank=True)
    rationale = models.TextField(blank=True)
    top_country = models.CharField(max_length=80, blank=True)
    # The three axes a marketer reads, and why the segment has its name (empty on runs
    # stored before they were measured).
    value = models.CharField(max_length=16, blank=True, help_text="top, high, mid or low.")
    engagement = models.CharField(
        max_length=16, blank=True, help_text="frequent, repeat or one-time."
    )
    activity = models.CharField(
        max_length=16,
        blank=True,
        help_text="active, cooling, lapsed, slipping, inactive or mixed.",
    )
    activity_shares = models.JSONField(
        default=dict, blank=True, help_text="Share of members active, cooling and lapsed."
    )
    activity_evidence = models.CharField(
        max_length=16,
        blank=True,
        help_text="What judged the members' activity: recency (days since the last purchase "
        "against the shop's rhythm) or p_alive (P(alive) for repeat buyers, days for one-time "
        "buyers); empty on older runs.",
    )
    why = models.TextField(blank=True, help_text="The numbers behind the name, in a sentence.")
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text="The name's conditions: a list of {condition, observed, holds}.",
    )
    expected_value = models.FloatField(
        null=True, blank=True, help_text="Members' expected value over the run's horizon."
    )
    share_expected_value = models.FloatField(null=True, blank=True)
    value_per_customer = models.FloatField(null=True, blank=True)
    median_p_alive = models.FloatField(null=True, blank=True)

    WORKSPACE_PATH = "run__workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="segment_number_unique"),
            models.UniqueConstraint(fields=["run", "name"], name="segment_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("clustering:segment-detail", args=[self.run_id, self.number])


class SegmentAssignment(models.Model):
    """Which segment a customer was put in by a run, with the features it was judged on."""

    # No database foreign keys: a big run's million rows queued three deferred checks each,
    # 17.6 s of its commit (docs/decisions/assignments-without-foreign-key-checks.md). The run's
    # and the segment's rows are written in the same transaction; the store holds the customer
    # table's SHARE lock so no customer is deleted between its cleanup and its commit. The run
    # column leads the unique constraint's key; the segment keeps its own narrow index, which
    # the segment page's sorts read (with the wider revenue index alone PostgreSQL scanned the
    # whole table: 615 ms instead of 209 ms at 1M; with a (segment, id) index, 730 ms).
    run = models.ForeignKey(
        SegmentationRun,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_constraint=False,
        db_index=False,
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="segment_assignments",
        db_constraint=False,
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="assignments", db_constraint=False
    )
    confidence = models.FloatField()
    # The segment the customer is next closest to (the predictor's second choice; null when
    # there is none, or on runs stored before it was kept): "borderline: also close to ...".
    runner_up_number = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(max_length=40, blank=True)
    rfm_cell = models.CharField(max_length=3, blank=True)
    recency_days = models.FloatField(null=True)
    frequency = models.FloatField(null=True)
    monetary_total = models.FloatField(null=True)
    tenure_days = models.FloatField(null=True)
    avg_basket_value = models.FloatField(null=True)
    distinct_products = models.FloatField(null=True)
    return_rate = models.FloatField(null=True)
    mean_days_between_purchases = models.FloatField(null=True)
    # value ahead over the run's horizon (null when the value stage did not run)
    p_alive = models.FloatField(null=True, blank=True)
    expected_purchases = models.FloatField(null=True, blank=True)
    expected_value = models.FloatField(null=True, blank=True)
    # days until half of the customers with this history buy again, if still active
    next_purchase_days = models.FloatField(null=True, blank=True)

    WORKSPACE_PATH = "run__workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    #: One column per numeric feature of the engine (a test holds the columns to this list).
    FEATURE_FIELDS = NUMERIC_FEATURES

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="one_assignment_per_customer")
        ]
        # a segment page's default order (most revenue first, ties by customer) read from the
        # index, not sorted from the whole segment (hundreds of thousands of rows in a big shop)
        indexes = [
            models.Index(
                fields=["segment", "-monetary_total", "customer"], name="assignment_segment_revenue"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"

    @staticmethod
    def bought_on_one_day(recency_days: float | None, tenure_days: float | None) -> bool:
        """No repeat purchase as the value model counts them (purchase days, not orders): two
        orders on one day are one purchase, and BG/NBD gives P(alive) 1 whatever the silence."""
        return recency_days is not None and recency_days == tenure_days

    @property
    def no_repeat_purchase(self) -> bool:
        return self.bought_on_one_day(self.recency_days, self.tenure_days)


class Publication(models.Model):
    """Each time a run became its workspace's published segmentation, by whom or what: the
    history that movements, each customer's path and the audit read. Append-only."""

    class Source(models.TextChoices):
        MANAGER = "manager", "a manager"
        SCHEDULE = "schedule", "the schedule, its guards passed"
        COMMAND = "command", "the command line"

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="publications")
    previous = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANAGER)
    note = models.TextField(blank=True, help_text="Why it was published (the guards passed).")

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-published_at"], name="publication_ws_idx")]

    def __str__(self) -> str:
        return f"{self.run} published {self.published_at:%Y-%m-%d %H:%M}"


class PlaybookAction(models.Model):
    """A workspace's own action for a segment name, in place of the engine's playbook
    (clustering.engine.naming.PLAYBOOK) for the runs it saves from then on."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=60, help_text="A segment name of the engine's rules.")
    action = models.TextField(max_length=500)
    rationale = models.TextField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="playbook_one_per_name")
        ]

    def __str__(self) -> str:
        return f"Action for {self.name}"
