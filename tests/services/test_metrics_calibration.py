"""Interviewer calibration on the fixed history of tests/services/metrics_history_panel.py, every expected figure
counted by hand from its tables (and those of metrics_history.py for p1, p2, p3, whose cards carry no ratings)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from services.metrics import calibration
from services.metrics.calibration import Calibration
from services.metrics.filters import MetricFilter
from services.platform.errors import NotAllowed
from tests.services.metrics_history import MARCH
from tests.services.metrics_history_panel import PanelHistory, build_panel_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> PanelHistory:
    return build_panel_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


def by_name(rows: list[Calibration]) -> dict[str, Calibration]:
    return {r.name: r for r in rows}


def test_a_lenient_interviewer_is_measured_against_the_others_on_the_same_interviews(
    session: Session, history: PanelHistory
) -> None:
    q1 = by_name(calibration.interviewer_calibration(session=session, actor=history.base.admin, metric_filter=march()))[
        "q1"
    ]
    # Technical k1 5, k2 5, k3 4, k4 4, k5 3 and Onsite k7 2 (k2's Onsite 1 was cancelled afterwards: not counted).
    assert (q1.scorecards, q1.rated, q1.mean_rating) == (6, 6, 3.83)  # 23 / 6
    assert q1.yes_rate == pytest.approx(4 / 6)
    # Shared: k1 (others 3 and 4: 3.5), k2 (4), k3 (3 and 2: 2.5), k4 (3), k5 (2); k7's Onsite was theirs alone.
    assert (q1.shared_interviews, q1.shared_mean, q1.panel_mean, q1.leniency) == (5, 4.2, 3.0, 1.2)
    # Their yes on k1-k4, no on k5: 4/5; the others' yes-rates 0.5, 1, 0, 1, 0.
    assert (q1.shared_yes_interviews, q1.shared_yes_rate, q1.panel_yes_rate) == (5, 0.8, 0.5)
    # Agree: k1 (strong yes, offer), k2 (yes, offer), k5 (no, reject); not k3, k4 (yes, reject), k7 (no, offer).
    assert (q1.decided, q1.agreement) == (6, 0.5)
    assert q1.flagged


def test_every_interviewer_with_submitted_cards_in_the_period(session: Session, history: PanelHistory) -> None:
    rows = calibration.interviewer_calibration(session=session, actor=history.base.recruiter, metric_filter=march())
    assert [r.name for r in rows] == ["p1", "p2", "p3", "q1", "q2", "q3"]
    found = by_name(rows)
    q2, q3 = found["q2"], found["q3"]
    # q2: k1 3 and Onsite 4, k2 4, k3 3, k4 3, k5 2, k6 4, k7 2, k9 3.
    assert (q2.scorecards, q2.mean_rating) == (9, 3.11)
    assert q2.yes_rate == pytest.approx(5 / 9)
    # Shared: k1 (4.5), k2 (5), k3 (3), k4 (4), k5 (3), k6 (4): 19/6 against 23.5/6 — exactly 0.75 below, flagged.
    assert (q2.shared_interviews, q2.shared_mean, q2.panel_mean, q2.leniency) == (6, 3.17, 3.92, -0.75)
    assert (q2.shared_yes_rate, q2.panel_yes_rate) == (0.5, 0.75)
    assert q2.decided == 9
    assert q2.agreement == pytest.approx(6 / 9)
    assert q2.flagged
    # q3: k1 4 (rated [5, 2] on criteria weighing 2 and 1), k3 2, k6 4, k8 3; half a point under three panels.
    assert (q3.scorecards, q3.mean_rating, q3.yes_rate) == (4, 3.25, 0.75)
    assert (q3.shared_interviews, q3.shared_mean, q3.panel_mean, q3.leniency) == (3, 3.33, 3.83, -0.5)
    assert q3.shared_yes_rate == pytest.approx(2 / 3)
    assert q3.panel_yes_rate == pytest.approx(2 / 3)
    assert (q3.decided, q3.agreement, q3.flagged) == (4, 1.0, False)


def test_cards_without_ratings_count_for_the_yes_rate_and_agreement_only(
    session: Session, history: PanelHistory
) -> None:
    found = by_name(
        calibration.interviewer_calibration(session=session, actor=history.base.admin, metric_filter=march())
    )
    p1, p2, p3 = found["p1"], found["p2"], found["p3"]
    # p1: yes on i1 (a1: offer), i2 (a2: no decision) and i4 (a4: rejected, then reopened without a new decision).
    assert (p1.scorecards, p1.rated, p1.mean_rating, p1.shared_interviews, p1.leniency) == (3, 0, None, 0, None)
    assert (p1.yes_rate, p1.shared_yes_interviews, p1.panel_yes_rate) == (1.0, 1, 1.0)
    assert (p1.decided, p1.agreement, p1.flagged) == (2, 0.5, False)
    # p2: i1 only — their card on i4b, cancelled after it was submitted, counts nowhere.
    assert (p2.scorecards, p2.yes_rate, p2.decided, p2.agreement) == (1, 1.0, 1, 1.0)
    # p3: no on i5, rejected; alone on its panel.
    assert (p3.scorecards, p3.yes_rate, p3.shared_yes_interviews, p3.panel_yes_rate) == (1, 0.0, 0, None)
    assert (p3.decided, p3.agreement) == (1, 1.0)


def test_an_interview_cancelled_after_scoring_counts_for_nobody(session: Session, history: PanelHistory) -> None:
    from models.evaluation import InterviewStatus

    interview = history.interviews["k4-technical"]
    interview.status = InterviewStatus.cancelled
    session.add(interview)
    session.commit()
    found = by_name(
        calibration.interviewer_calibration(session=session, actor=history.base.admin, metric_filter=march())
    )
    q1 = found["q1"]
    # k4 (q1 4 yes, q2 3 yes, rejected) gone: five cards, four shared interviews.
    assert (q1.scorecards, q1.mean_rating, q1.shared_interviews, q1.leniency) == (5, 3.8, 4, 1.25)
    assert not q1.flagged  # far, but over fewer than five shared interviews
    assert (found["q2"].scorecards, found["q2"].shared_interviews) == (8, 5)


def test_a_jobs_own_criteria_replace_the_rounds_in_the_score(session: Session, history: PanelHistory) -> None:
    from models.evaluation import Criterion

    # Job C gets its own Technical set (as the debrief reads it): the round's Code and Design no longer count there.
    technical = history.rounds["technical"].id or 0
    session.add(Criterion(round_id=technical, job_id=history.job_c.id, name_zh="作品", name_en="Portfolio"))
    session.commit()
    found = by_name(
        calibration.interviewer_calibration(session=session, actor=history.base.admin, metric_filter=march())
    )
    # Only the Onsite cards keep a score: q1's 2 on k7, q2's 4 on k1; q3 rated Technical only.
    assert [(found[q].scorecards, found[q].rated, found[q].mean_rating) for q in ("q1", "q2", "q3")] == [
        (6, 1, 2.0),
        (9, 1, 4.0),
        (4, 0, None),
    ]
    assert found["q1"].shared_interviews == 0 and not found["q1"].flagged


def test_filters_narrow_the_cards_to_the_jobs_asked_for(session: Session, history: PanelHistory) -> None:
    rows = calibration.interviewer_calibration(
        session=session, actor=history.base.admin, metric_filter=march(department="Engineering")
    )
    assert [(r.name, r.scorecards) for r in rows] == [("p1", 3), ("p2", 1)]
    rows = calibration.interviewer_calibration(
        session=session, actor=history.base.admin, metric_filter=march(job_ids=(history.job_c.id,), basis="event")
    )
    assert [(r.name, r.scorecards) for r in rows] == [("q1", 6), ("q2", 9), ("q3", 4)]


def test_an_empty_period_has_no_interviewers(session: Session, history: PanelHistory) -> None:
    empty = MetricFilter(start=date(2025, 6, 1), end=date(2025, 6, 30))
    assert calibration.interviewer_calibration(session=session, actor=history.base.admin, metric_filter=empty) == []
    april = MetricFilter(start=date(2026, 4, 1), end=date(2026, 4, 10), basis="event")
    # i9 ended in April, but nobody has submitted a card for it.
    assert calibration.interviewer_calibration(session=session, actor=history.base.admin, metric_filter=april) == []


@pytest.mark.parametrize("who", ["m", "n", "interviewer"])
def test_only_admins_and_recruiters_see_figures_per_person(session: Session, history: PanelHistory, who: str) -> None:
    # n manages job C, where every rated card is: still no figures per person for them.
    with pytest.raises(NotAllowed):
        calibration.interviewer_calibration(session=session, actor=getattr(history.base, who), metric_filter=march())


def test_a_panelist_is_refused_even_their_own_row(session: Session, history: PanelHistory) -> None:
    with pytest.raises(NotAllowed):
        calibration.interviewer_calibration(session=session, actor=history.q["q1"], metric_filter=march())
