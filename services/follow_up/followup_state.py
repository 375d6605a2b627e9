"""Where a candidate stands on the follow-up board: the risks that flag them, the feedback deadline, the board
column (state) and the order within the board.

Plain values in, plain values out: no database and no settings read here (the caller passes the time zone and
the limits), so every edge case is a unit test (tests/services/test_followup_state.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo

from models.common import Stage
from models.followup import WAITING_OUTCOMES

# The board's columns, in the order they are worked through.
STATES = ("awaiting_feedback", "at_risk", "awaiting_reply", "in_touch", "decided")
LOW_INTEREST = 2  # an interest of this or less (on 1-5) is a risk


def risks(
    *,
    interest: int | None,
    offer_deadlines: Iterable[date],
    next_contact: datetime | None,
    last_contact: datetime | None,
    now: datetime,
    tz: tzinfo,
    offer_risk_days: int,
) -> list[str]:
    """The at-risk reasons (message keys): low interest; a competing offer's deadline from today (company time)
    up to `offer_risk_days` ahead; a promised next contact that has passed with no contact since."""
    today = now.astimezone(tz).date()
    found = []
    if interest is not None and interest <= LOW_INTEREST:
        found.append("risk.low_interest")
    # Every deadline, not only the nearest: once the nearest has passed, a later one may be the one coming up.
    if any(today <= d <= today + timedelta(days=offer_risk_days) for d in offer_deadlines):
        found.append("risk.offer_deadline")
    if next_contact is not None and next_contact < now and (last_contact is None or last_contact <= next_contact):
        found.append("risk.silent")
    return found


def feedback_deadline(interview_ended: datetime | None, clock_running: bool, feedback_hours: int) -> datetime | None:
    """When word is due: `feedback_hours` after the interview ended, while the clock runs; else None."""
    if not clock_running or interview_ended is None:
        return None
    return interview_ended + timedelta(hours=feedback_hours)


def board_state(*, stage: str, clock_running: bool, risks: list[str], last_outcome: str | None) -> str:
    """The board column: a running feedback clock comes before anything else, then risks, then a contact
    waiting for the candidate's answer; an offer with nothing to worry about is decided."""
    if stage == Stage.offer and not clock_running and not risks:
        return "decided"
    if clock_running:
        return "awaiting_feedback"
    if risks:
        return "at_risk"
    if last_outcome in WAITING_OUTCOMES:
        return "awaiting_reply"
    return "in_touch"


def board_order(state: str, deadline: datetime | None, now: datetime) -> tuple[int, datetime]:
    """The sort key of a board row: by column, then the nearest feedback deadline first (none: last)."""
    return STATES.index(state), deadline or now + timedelta(days=3650)
