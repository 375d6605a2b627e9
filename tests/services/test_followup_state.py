"""The follow-up board's risks, deadline, columns and order from plain values: no database, no settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.follow_up import followup_state as fs

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 on 10 March in Shanghai
TODAY = date(2026, 3, 10)
HOUR = timedelta(hours=1)


def risks(**given: object) -> list[str]:
    values: dict[str, object] = {
        "interest": None,
        "offer_deadlines": [],
        "next_contact": None,
        "last_contact": None,
        "now": NOW,
        "tz": SHANGHAI,
        "offer_risk_days": 3,
    }
    return fs.risks(**(values | given))  # type: ignore[arg-type]


def test_nothing_known_is_no_risk() -> None:
    assert risks() == []


@pytest.mark.parametrize(("interest", "flagged"), [(1, True), (2, True), (3, False), (5, False)])
def test_an_interest_of_two_or_less_is_a_risk(interest: int, flagged: bool) -> None:
    assert (risks(interest=interest) == ["risk.low_interest"]) is flagged


@pytest.mark.parametrize(("days", "flagged"), [(-1, False), (0, True), (3, True), (4, False)])
def test_an_offer_deadline_from_today_to_three_days_ahead_is_a_risk(days: int, flagged: bool) -> None:
    assert (risks(offer_deadlines=[TODAY + timedelta(days=days)]) == ["risk.offer_deadline"]) is flagged


def test_a_later_offer_counts_once_the_nearest_has_passed() -> None:
    assert risks(offer_deadlines=[TODAY - timedelta(days=2), TODAY + timedelta(days=1)]) == ["risk.offer_deadline"]


def test_today_is_the_company_s_day_not_utc_s() -> None:
    late_utc = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # already 11 March in Shanghai
    assert (
        fs.risks(
            interest=None,
            offer_deadlines=[TODAY],
            next_contact=None,
            last_contact=None,
            now=late_utc,
            tz=SHANGHAI,
            offer_risk_days=3,
        )
        == []
    )


def test_a_promised_contact_that_passed_without_contact_is_a_risk() -> None:
    assert risks(next_contact=NOW - HOUR) == ["risk.silent"]
    assert risks(next_contact=NOW - HOUR, last_contact=NOW - 5 * HOUR) == ["risk.silent"]


def test_a_contact_after_the_promised_time_or_a_promise_still_ahead_is_no_risk() -> None:
    assert risks(next_contact=NOW - 2 * HOUR, last_contact=NOW - HOUR) == []
    assert risks(next_contact=NOW + HOUR) == []


def test_every_risk_is_listed_in_a_fixed_order() -> None:
    assert risks(interest=1, offer_deadlines=[TODAY], next_contact=NOW - HOUR) == [
        "risk.low_interest",
        "risk.offer_deadline",
        "risk.silent",
    ]


def test_feedback_is_due_hours_after_the_interview_while_the_clock_runs() -> None:
    assert fs.feedback_deadline(NOW, True, 24) == NOW + 24 * HOUR
    assert fs.feedback_deadline(NOW, False, 24) is None
    assert fs.feedback_deadline(None, True, 24) is None


def state(
    stage: str = "interviewing",
    clock_running: bool = False,
    risks: list[str] | None = None,
    last_outcome: str | None = None,
) -> str:
    return fs.board_state(stage=stage, clock_running=clock_running, risks=risks or [], last_outcome=last_outcome)


def test_a_running_clock_comes_before_risks_and_waiting() -> None:
    assert state(clock_running=True, risks=["risk.silent"], last_outcome="no_answer") == "awaiting_feedback"
    assert state(stage="offer", clock_running=True) == "awaiting_feedback"


def test_risks_come_before_waiting_for_a_reply_even_on_an_offer() -> None:
    assert state(risks=["risk.low_interest"], last_outcome="left_message") == "at_risk"
    assert state(stage="offer", risks=["risk.offer_deadline"]) == "at_risk"


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("no_answer", "awaiting_reply"),
        ("left_message", "awaiting_reply"),
        ("reached", "in_touch"),
        ("replied", "in_touch"),
        (None, "in_touch"),
    ],
)
def test_an_unanswered_contact_waits_for_a_reply(outcome: str | None, expected: str) -> None:
    assert state(last_outcome=outcome) == expected


def test_a_quiet_offer_is_decided_whatever_the_last_contact() -> None:
    assert state(stage="offer", last_outcome="no_answer") == "decided"


def test_the_board_is_ordered_by_column_then_nearest_deadline_and_none_last() -> None:
    rows = [
        ("in_touch", None),
        ("awaiting_feedback", None),
        ("awaiting_feedback", NOW + 2 * HOUR),
        ("at_risk", None),
        ("awaiting_feedback", NOW - HOUR),
        ("decided", None),
        ("awaiting_reply", None),
    ]
    assert sorted(rows, key=lambda r: fs.board_order(r[0], r[1], NOW)) == [
        ("awaiting_feedback", NOW - HOUR),
        ("awaiting_feedback", NOW + 2 * HOUR),
        ("awaiting_feedback", None),
        ("at_risk", None),
        ("awaiting_reply", None),
        ("in_touch", None),
        ("decided", None),
    ]
