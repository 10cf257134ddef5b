"""The published run in a marketer's words: its name, who published it and when, and the
period its purchases cover. Reads nothing: it works on a run read by
reports.selectors.published_run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from accounts.roles import ROLE_CHOICES
from clustering.models import SegmentationRun


@dataclass
class Publication:
    """Who published the workspace's current run, when, and under what name."""

    name: str  # the name the manager gave, else one made from the run's dates
    published_at: datetime | None
    publisher: str  # full name, else user name; "" when unknown
    role: str  # the publisher's role in the workspace, in words; "" when none


ROLE_LABELS = dict(ROLE_CHOICES)


def publication(run: SegmentationRun) -> Publication:
    """The published run named in words (a run read by ``published_run``, which brings its
    publisher and the publisher's role in the workspace)."""
    user = run.published_by
    publisher = role = ""
    if user is not None:
        publisher = user.get_full_name() or user.get_username()
        member_role = getattr(run, "publisher_role", None)
        if member_role:
            role = ROLE_LABELS.get(member_role, member_role).lower()
        elif user.is_superuser:
            role = "site administrator"
    return Publication(run.display_name, run.published_at, publisher, role)


def purchase_period(run: SegmentationRun) -> tuple[date, date] | None:
    """The first and last purchase the run read, as dates (stored as ISO text)."""
    summary = run.data_summary or {}
    try:
        first = date.fromisoformat(str(summary["first_purchase"])[:10])
        last = date.fromisoformat(str(summary["last_purchase"])[:10])
    except (KeyError, ValueError):
        return None
    return first, last
