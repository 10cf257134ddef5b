"""What the alerts app does when a run's life changes (connected in AlertsConfig.ready()).

Both signals come after the change committed, from whichever process made it (a page, the
API, the worker for scheduled runs); the rules are evaluated there and then, so an alert is
on the dashboard as soon as the publication is (docs/decisions/alerts-on-publication.md).
"""

from __future__ import annotations

import logging

from .services import alerts_for_failed_run, alerts_for_publication

logger = logging.getLogger(__name__)


# The signals are sent with send(): a receiver that raised would keep the receivers after
# it (webhooks ...) from hearing. A failed evaluation is logged; the publication stands.
def on_segmentation_published(sender, publication, **kwargs) -> None:
    try:
        alerts_for_publication(workspace=publication.workspace, publication=publication)
    except Exception:
        logger.exception("Alerts for publication %s were not evaluated", publication.pk)


def on_run_finished(sender, run, **kwargs) -> None:
    try:
        alerts_for_failed_run(workspace=run.workspace, run=run)
    except Exception:
        logger.exception("Alerts for run %s were not evaluated", run.pk)
