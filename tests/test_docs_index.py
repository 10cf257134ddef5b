"""docs/README.md lists every decision record: a record missing from it is one nobody finds
(thirteen were, before this test)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_decision_record_is_listed_once_and_every_link_resolves():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = re.findall(r"\]\(decisions/([^)]+)\)", index)
    records = sorted(p.name for p in (DOCS / "decisions").glob("*.md"))
    assert sorted(set(linked)) == records
    assert len(linked) == len(set(linked)), "a record listed twice"
