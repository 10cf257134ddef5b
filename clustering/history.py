"""The workspace's publications over time: each customer's segment at every publication, and
the segments' sizes across the published runs. Reads only what the runs stored (a couple of
queries each), newest publication first unless said otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .engine.fit import fit_words
from .models import Publication, Segment, SegmentAssignment, SegmentationRun


@dataclass(frozen=True)
class HistoryEntry:
    """A customer at one publication: their segment in the run published then, or not in it
    (segment_number, segment_name and confidence None)."""

    publication: Publication
    run: SegmentationRun
    published_at: datetime
    is_current: bool  # the workspace's newest publication, its run still the published one
    segment_number: int | None
    segment_name: str | None
    confidence: float | None
    expected_value: float | None  # over the run's horizon; None when not estimated

    @property
    def in_run(self) -> bool:
        return self.segment_number is not None

    @property
    def fit(self) -> str:
        """The fit in words ("typical member"), as the segment pages say it; the bare
        confidence means a different thing for each model kind."""
        return fit_words(self.confidence, self.run.chosen_algorithm)


def publications(*, workspace):
    """The workspace's publications, newest first, each with its run (without the run's
    report JSON, which can weigh hundreds of kB a run)."""
    return (
        Publication.objects.in_workspace(workspace)
        .select_related("run", "published_by")
        .defer(*SegmentationRun.report_data_fields(through="run__"))
        .order_by("-published_at", "-pk")
    )


def customer_history(*, workspace, customer) -> list[HistoryEntry]:
    """The customer's segment at every publication of the workspace, newest first: two
    queries whatever the number of publications."""
    entries = list(publications(workspace=workspace))
    run_ids = {p.run_id for p in entries}
    assigned = {
        a.run_id: a
        for a in SegmentAssignment.objects.in_workspace(workspace)
        .filter(customer=customer, run_id__in=run_ids)
        .select_related("segment")
        .only("run_id", "confidence", "expected_value", "segment__number", "segment__name")
    }
    history = []
    for index, publication in enumerate(entries):
        assignment = assigned.get(publication.run_id)
        history.append(
            HistoryEntry(
                publication=publication,
                run=publication.run,
                published_at=publication.published_at,
                is_current=index == 0 and publication.run.is_published,
                segment_number=assignment.segment.number if assignment else None,
                segment_name=assignment.segment.name if assignment else None,
                confidence=assignment.confidence if assignment else None,
                expected_value=assignment.expected_value if assignment else None,
            )
        )
    return history


def segment_sizes_over_time(*, workspace) -> dict:
    """Each segment name's size at each publication, oldest first, for a chart: labels (the
    publication dates), and one series per segment name (None where that run had no segment
    of that name). Names, not numbers, join the runs: a number means nothing across runs."""
    entries = list(publications(workspace=workspace))[::-1]
    sizes: dict[int, dict[str, int]] = {}
    for run_id, name, size in (
        Segment.objects.in_workspace(workspace)
        .filter(run_id__in={p.run_id for p in entries})
        .order_by("run_id", "number")
        .values_list("run_id", "name", "size")
    ):
        sizes.setdefault(run_id, {})[name] = size
    names: list[str] = []
    for publication in entries:
        names.extend(n for n in sizes.get(publication.run_id, {}) if n not in names)
    return {
        "labels": [_label(p) for p in entries],
        "publications": [p.pk for p in entries],
        "series": [
            {"name": name, "sizes": [sizes.get(p.run_id, {}).get(name) for p in entries]}
            for name in names
        ],
    }


def _label(publication: Publication) -> str:
    """When it was published and as of which day its run measured the customers."""
    label = f"{publication.published_at:%d %b %Y}"
    as_of = publication.run.reference_date
    return f"{label} (as of {as_of:%d %b %Y})" if as_of else label
