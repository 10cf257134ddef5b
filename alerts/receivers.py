"""What the alerts app does when a run's life changes (connected in AlertsConfig.ready()).

Both signals come after the change committed, from whichever process made it (a page, the
API, the worker for scheduled runs). A publication's check is queued for a worker, so
publishing waits for neither the movements nor a mail server; a failed scheduled run, known
in the worker, is alerted there and then (docs/decisions/alerts-on-publication.md). The
reaper's tick sends again the checks and e-mails no worker took.
"""

from __future__ import annotations

import logging

from .mailing import mails_redispatch_overdue
from .services import (
    alerts_for_failed_run,
    publication_check_queue,
    publication_checks_redispatch_overdue,
)

logger = logging.getLogger(__name__)


# The signals are sent with send(): a receiver that raised would keep the receivers after
# it (webhooks ...) from hearing. A failed evaluation is logged; the publication stands.
def on_segmentation_published(sender, publication, **kwargs) -> None:
    try:
        publication_check_queue(workspace=publication.workspace, publication=publication)
    except Exception:  # the broker is down: the reaper sends the check once it is back
        logger.exception("Alerts for publication %s were not queued", publication.pk)


def on_run_finished(sender, run, **kwargs) -> None:
    try:
        alerts_for_failed_run(workspace=run.workspace, run=run)
    except Exception:
        logger.exception("Alerts for run %s were not evaluated", run.pk)


def redispatch_overdue(sender, **kwargs) -> None:
    publication_checks_redispatch_overdue()
    mails_redispatch_overdue()
