"""What other apps may react to in a run's life (schedules, alerts, webhooks, audit), and
the alerts raised on it.

Both are sent once the change has committed, so a receiver reads what the sender wrote
and a receiver's failure cannot undo it.
"""

from django.db import models
from django.dispatch import Signal


class AlertKind(models.TextChoices):
    """What an alert is about: the alerts app's rules raise them, webhook endpoints choose
    among them; here, below both, so that each reads the one list."""

    SEGMENT_SIZE_CHANGE = "segment_size_change", "A segment changes size"
    VALUABLE_TO_LAPSED = "valuable_to_lapsed", "Valuable customers move to a lapsed segment"
    EXPECTED_VALUE_DROP = "expected_value_drop", "The customers' expected value ahead falls"
    SCHEDULED_RUN_FAILED = "scheduled_run_failed", "A scheduled run fails"


#: A run ended (succeeded, failed or cancelled): kwargs run (a SegmentationRun).
run_finished = Signal()

#: A run became its workspace's published segmentation: kwargs publication (a Publication,
#: with .run, .previous and .source).
segmentation_published = Signal()

#: Alerts were raised (the alerts app, on a publication or a failed scheduled run): kwargs
#: workspace and alerts, a list of plain dicts (id, kind (an AlertKind), message, details,
#: created_at, run_id, publication_id), so a receiver needs not read the alerts app's models.
alerts_raised = Signal()

#: The workers' reaper looked for lost work (each worker, every RUN_REAPER_INTERVAL_SECONDS;
#: clustering.tasks): apps with queued work of their own send again what no worker took.
reaper_tick = Signal()
