"""The activity line beside a segment's name says what judged it: days since the last
purchase, or P(alive). Shares judged by P(alive) must not be read out as "bought in the last
N days", a claim about days the shares do not make (on CDNOW's demo, Champions read "93%
bought in the last 174 days" where 96% had)."""

from __future__ import annotations

from clustering.engine.naming import EVIDENCE_WORDS
from clustering.report.axes import activity_evidence, rhythm_view, segment_axes

RHYTHM = rhythm_view({"active_days": 174.0, "lapsed_days": 348.0, "basis": "4 in 5 ..."})
SHARES = {"active": 0.93, "cooling": 0.03, "lapsed": 0.04}


def segment(**values) -> dict:
    return {"activity": "active", "activity_shares": SHARES, "why": "bought ...", **values}


def test_days_judged_activity_is_said_in_days():
    detail = segment_axes(segment(activity_evidence="recency"), RHYTHM)["activity_detail"]
    assert detail == "93% bought in the last 174 days"


def test_p_alive_judged_activity_says_so_and_claims_no_days():
    detail = segment_axes(segment(activity_evidence="p_alive"), RHYTHM)["activity_detail"]
    assert detail == "93% active by P(alive), one-time buyers by days"
    lapsed = segment(
        activity="inactive",
        activity_shares={"active": 0.05, "cooling": 0.05, "lapsed": 0.9},
        activity_evidence="p_alive",
    )
    assert segment_axes(lapsed, RHYTHM)["activity_detail"] == (
        "95% cooling or lapsed by P(alive), one-time buyers by days"
    )


def test_runs_stored_before_the_field_are_read_from_the_end_of_their_why():
    for evidence, words in EVIDENCE_WORDS.items():
        old = segment(why=f"bought 32 days ago (median), 8 orders; {words}")
        assert activity_evidence(old) == evidence
    p_alive = segment(why=f"bought 32 days ago; {EVIDENCE_WORDS['p_alive']}")
    assert "by P(alive)" in segment_axes(p_alive, RHYTHM)["activity_detail"]
    # a why without the words (the oldest runs) keeps the days
    assert activity_evidence(segment()) == ""
    assert segment_axes(segment(), RHYTHM)["activity_detail"] == "93% bought in the last 174 days"
