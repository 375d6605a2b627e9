"""Speed: feedback after interviews, scorecard turnaround, time in stage, days to offer and hire — on the fixed
history of tests/services/metrics_history.py, every expected figure counted by hand from its table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from services.metrics import speed
from services.metrics.filters import MetricFilter
from services.metrics.speed import FeedbackWeek, Spread, StageTime, Turnaround
from services.platform.errors import NotAllowed
from tests.services.metrics_history import MARCH, History, build_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> History:
    return build_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


APRIL_TO_NOW = MetricFilter(start=date(2026, 4, 1), end=date(2026, 4, 10), basis="event")
EMPTY = MetricFilter(start=date(2025, 6, 1), end=date(2025, 6, 30), basis="event")


# --------------------------------------------------------------------------- feedback after interviews
def test_feedback_times_of_the_interviews_held_in_the_period(session: Session, history: History) -> None:
    result = speed.feedback_times(session=session, actor=history.admin, metric_filter=march(basis="event"))
    # i1 8 h, i5 47 h (the mail about c1's other application counts), i4 96 h (the queued mail does not), i7 240 h;
    # i2's candidate has heard nothing for weeks; i4b was cancelled and i9 ended in April.
    assert result.interviews == 5
    assert result.buckets == {"within_24h": 1, "24_48h": 1, "2_7d": 1, "over_7d": 1, "waiting": 1}
    assert result.waiting_overdue == 1
    assert result.within_promise_share == pytest.approx(1 / 5)
    assert result.hours == Spread(count=4, median=71.5, p90=240.0)


def test_feedback_weekly_trend_runs_from_local_monday_midnight(session: Session, history: History) -> None:
    result = speed.feedback_times(session=session, actor=history.admin, metric_filter=march(basis="event"))
    # i7 ended 00:10 on Sunday 1 March in Shanghai: the week of 23 February. i2 ended 16:30 UTC on Sunday 8 March,
    # which is 00:30 on Monday 9 March in Shanghai: the week of 9 March, not of 2 March.
    assert result.weeks == [
        FeedbackWeek(week=date(2026, 2, 23), interviews=1, within_promise=0, share=0.0),
        FeedbackWeek(week=date(2026, 3, 2), interviews=2, within_promise=1, share=0.5),
        FeedbackWeek(week=date(2026, 3, 9), interviews=1, within_promise=0, share=0.0),
        FeedbackWeek(week=date(2026, 3, 16), interviews=1, within_promise=0, share=0.0),
        FeedbackWeek(week=date(2026, 3, 23), interviews=0, within_promise=0, share=None),
        FeedbackWeek(week=date(2026, 3, 30), interviews=0, within_promise=0, share=None),
    ]


def test_feedback_times_by_application_date_follow_the_applications_created_in_the_period(
    session: Session, history: History
) -> None:
    result = speed.feedback_times(session=session, actor=history.admin, metric_filter=march())
    # i1, i2, i4, i5 (a7 and its i7 began in February).
    assert result.interviews == 4
    assert result.buckets == {"within_24h": 1, "24_48h": 1, "2_7d": 1, "over_7d": 0, "waiting": 1}
    assert result.within_promise_share == pytest.approx(1 / 4)
    assert result.hours == Spread(count=3, median=47.0, p90=96.0)


def test_an_interview_still_inside_the_promise_is_waiting_but_not_judged(session: Session, history: History) -> None:
    result = speed.feedback_times(session=session, actor=history.admin, metric_filter=APRIL_TO_NOW)
    # i9 ended two hours ago: no word yet, and none due yet.
    assert result.interviews == 1
    assert result.buckets["waiting"] == 1
    assert result.waiting_overdue == 0
    assert result.within_promise_share is None
    assert result.hours == Spread(count=0, median=None, p90=None)


# --------------------------------------------------------------------------- scorecard turnaround
def test_scorecard_turnaround_per_interviewer(session: Session, history: History) -> None:
    result = speed.scorecard_turnaround(session=session, actor=history.admin, metric_filter=march(basis="event"))
    p1, p2, p3 = (history.panel[k].id for k in ("p1", "p2", "p3"))
    # p1: i1 10 h, i2 0.5 h, i4 2 h, i7 still owed; p2: i1 26 h, i2 still owed (its card for the cancelled i4b does
    # not count); p3: i5 13 h. Columns: seats, submitted, still open, open past 24 h, median hours, share within 24 h.
    assert result == [
        Turnaround(p1, "p1", 4, 3, 1, 1, 2.0, 0.75),
        Turnaround(p2, "p2", 2, 1, 1, 1, 26.0, 0.0),
        Turnaround(p3, "p3", 1, 1, 0, 0, 13.0, 1.0),
    ]  # fmt: skip


def test_a_seat_owed_for_less_than_a_day_is_open_but_not_late(session: Session, history: History) -> None:
    result = speed.scorecard_turnaround(session=session, actor=history.admin, metric_filter=APRIL_TO_NOW)
    p3 = history.panel["p3"].id
    assert result == [Turnaround(p3, "p3", 1, 0, 1, 0, None, None)]


# --------------------------------------------------------------------------- time in stage
def test_time_in_each_stage_from_the_stage_history(session: Session, history: History) -> None:
    result = speed.stage_durations(session=session, actor=history.admin, metric_filter=march())
    # interviewing: a6 1.73 d, a3 2, a4 2 (before its rejection), a5 4, a1 4.08; a2, a4 (reopened) and a8 still in it.
    # offer: a1 2 d, a3 3 d — an even count: the median is their mean.
    assert result == [
        StageTime("interviewing", Spread(count=5, median=2.0, p90=4.08), still_in=3),
        StageTime("decision_pending", Spread(count=1, median=0.92, p90=0.92), still_in=0),
        StageTime("offer", Spread(count=2, median=2.5, p90=3.0), still_in=0),
        StageTime("hired", Spread(count=1, median=30.0, p90=30.0), still_in=0),
    ]


def test_time_in_stage_by_event_date_counts_the_stays_that_ended_in_the_period(
    session: Session, history: History
) -> None:
    result = speed.stage_durations(session=session, actor=history.admin, metric_filter=march(basis="event"))
    # a1's probation (hired) ended in April; a7, begun in February, is still interviewing at the end of March, a9
    # (April) is not counted.
    assert result[3] == StageTime("hired", Spread(count=0, median=None, p90=None), still_in=0)
    assert result[0] == StageTime("interviewing", Spread(count=5, median=2.0, p90=4.08), still_in=4)


# --------------------------------------------------------------------------- days to offer and to hire
def test_days_to_offer_and_to_hire(session: Session, history: History) -> None:
    result = speed.time_to_offer_and_hire(session=session, actor=history.admin, metric_filter=march())
    assert result.days_to_offer == Spread(count=2, median=5.0, p90=6.0)  # a3 4 days, a1 6 days
    assert result.days_to_hire == Spread(count=1, median=7.0, p90=7.0)  # a1
    by_event = speed.time_to_offer_and_hire(session=session, actor=history.admin, metric_filter=APRIL_TO_NOW)
    assert by_event.days_to_offer == Spread(count=0, median=None, p90=None)


# --------------------------------------------------------------------------- empty, scope
METRICS: list[Callable[..., Any]] = [
    speed.feedback_times,
    speed.scorecard_turnaround,
    speed.stage_durations,
    speed.time_to_offer_and_hire,
]


def test_an_empty_period_has_no_durations(session: Session, history: History) -> None:
    feedback = speed.feedback_times(session=session, actor=history.admin, metric_filter=EMPTY)
    assert feedback.interviews == 0 and feedback.within_promise_share is None
    assert set(feedback.buckets.values()) == {0}
    assert [w.interviews for w in feedback.weeks] == [0] * len(feedback.weeks)
    assert speed.scorecard_turnaround(session=session, actor=history.admin, metric_filter=EMPTY) == []
    stages = speed.stage_durations(session=session, actor=history.admin, metric_filter=EMPTY)
    assert [s.days for s in stages] == [Spread(0, None, None)] * 4
    times = speed.time_to_offer_and_hire(session=session, actor=history.admin, metric_filter=EMPTY)
    assert times.days_to_offer == times.days_to_hire == Spread(0, None, None)


@pytest.mark.parametrize("metric", METRICS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("basis", ["application", "event"])
def test_a_hiring_managers_speed_figures_never_include_other_jobs(
    session: Session, history: History, metric: Callable[..., Any], basis: str
) -> None:
    mine = metric(session=session, actor=history.m, metric_filter=march(basis=basis))
    admins = metric(session=session, actor=history.admin, metric_filter=march(basis=basis, job_ids=[history.job_a.id]))
    assert mine == admins


def test_a_hiring_manager_sees_no_turnaround_of_other_jobs_panels(session: Session, history: History) -> None:
    # p3 sat only on job B's i5 in March.
    names = [t.name for t in speed.scorecard_turnaround(session=session, actor=history.m, metric_filter=march())]
    assert names == ["p1", "p2"]


@pytest.mark.parametrize("metric", METRICS, ids=lambda f: f.__name__)
def test_interviewers_see_no_speed_figures(session: Session, history: History, metric: Callable[..., Any]) -> None:
    with pytest.raises(NotAllowed):
        metric(session=session, actor=history.interviewer, metric_filter=march())


def test_exactly_twenty_four_hours_keeps_the_promise_on_both_databases(
    session: Session, history: History, frozen_clock: Any
) -> None:
    from tests.services.metrics_history import NOW, Builder, at

    b = Builder(session, frozen_clock)
    app, person = b.application(history.job_a, at(1, 10), actor=history.admin)
    interview = b.interview(app, at(1, 12, 10), [history.panel["p1"]])
    b.scorecard(interview, history.panel["p1"], at(1, 13, 10))
    b.contact(person, history.admin, at(1, 13, 10), "reached")
    frozen_clock.set(NOW)
    january = MetricFilter(start=date(2026, 1, 1), end=date(2026, 1, 31), basis="event")
    feedback = speed.feedback_times(session=session, actor=history.admin, metric_filter=january)
    assert feedback.buckets["within_24h"] == 1
    assert feedback.within_promise_share == 1.0
    assert feedback.hours == Spread(count=1, median=24.0, p90=24.0)
    (turnaround,) = speed.scorecard_turnaround(session=session, actor=history.admin, metric_filter=january)
    assert (turnaround.median_hours, turnaround.within_promise_share) == (24.0, 1.0)
