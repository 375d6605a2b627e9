"""Quality of hire on the fixed history of tests/services/metrics_history_panel.py, every expected figure counted
by hand from its tables. The hires' interview scores: k1 (5 + 3 + 4 + 4) / 4 = 4.0, k2 (5 + 4) / 2 = 4.5 (its
Onsite card of 1 was on an interview cancelled afterwards), k6 4.0, k7 (2 + 2) / 2 = 2.0, k8 3.0, k9 3.0; a1
(the history's hire) has no rated card. Check-ins: k1 4.5, k2 2, k6 4, k7 2.5, k8 3; k9 and a1 none done."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from models.evaluation import InterviewStatus
from services.metrics import quality
from services.metrics.filters import MetricFilter
from services.metrics.quality import OutcomeGroup, OutcomeScores, QualityOfHire, ScoreBand
from services.platform.errors import NotAllowed
from tests.services.metrics_history import MARCH
from tests.services.metrics_history_panel import PanelHistory, build_panel_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> PanelHistory:
    return build_panel_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


APRIL = MetricFilter(start=date(2026, 4, 1), end=date(2026, 4, 10), basis="event")


def test_interview_scores_against_probation_outcomes_and_check_ins(session: Session, history: PanelHistory) -> None:
    result = quality.quality_of_hire(session=session, actor=history.base.admin, metric_filter=march())
    assert result.has_data and result.hires == 7
    assert result.outcomes == [
        # a1, k1, k6, k9: (4 + 4 + 3) / 3; check-ins k1 4.5 and k6 4.
        OutcomeGroup("passed", hires=4, scored=3, mean_score=3.67, checked_in=2, mean_check_in=4.25),
        # k2 4.5 and k7 2.0; check-ins 2 and 2.5.
        OutcomeGroup("not_passed", hires=2, scored=2, mean_score=3.25, checked_in=2, mean_check_in=2.25),
        OutcomeGroup("extended", hires=1, scored=1, mean_score=3.0, checked_in=1, mean_check_in=3.0),
    ]
    assert result.score_gap == 0.42  # 11/3 - 3.25


def test_a_high_score_band_passes_more_often_than_a_low_one(session: Session, history: PanelHistory) -> None:
    result = quality.quality_of_hire(session=session, actor=history.base.recruiter, metric_filter=march())
    assert result.bands == [
        ScoreBand("low", hires=1, passed=0, not_passed=1, extended=0, pass_rate=0.0, mean_check_in=2.5),  # k7
        # k9 passed, k8 extended: the extension is no answer yet.
        ScoreBand("mid", hires=2, passed=1, not_passed=0, extended=1, pass_rate=1.0, mean_check_in=3.0),
        # k1 and k6 passed, k2 did not: check-ins (4.5 + 2 + 4) / 3.
        ScoreBand("high", hires=3, passed=2, not_passed=1, extended=0, pass_rate=2 / 3, mean_check_in=3.5),
    ]


def test_outcomes_by_event_date_count_those_recorded_in_the_period(session: Session, history: PanelHistory) -> None:
    by_event = quality.quality_of_hire(session=session, actor=history.base.admin, metric_filter=APRIL)
    assert by_event == quality.quality_of_hire(session=session, actor=history.base.admin, metric_filter=march())
    # Every outcome was recorded in April: March, by event, has none.
    march_events = quality.quality_of_hire(
        session=session, actor=history.base.admin, metric_filter=march(basis="event")
    )
    assert march_events == QualityOfHire(hires=0, outcomes=[], bands=[], score_gap=None)
    assert not march_events.has_data


def test_no_outcomes_yet_is_no_data(session: Session, history: PanelHistory) -> None:
    empty = MetricFilter(start=date(2025, 6, 1), end=date(2025, 6, 30))
    admin = history.base.admin
    assert not quality.quality_of_hire(session=session, actor=admin, metric_filter=empty).has_data
    assert quality.quality_by_round(session=session, actor=admin, metric_filter=empty) == []
    assert quality.quality_by_interviewer(session=session, actor=admin, metric_filter=empty) == []


def test_an_interview_cancelled_after_scoring_leaves_its_cards_out(session: Session, history: PanelHistory) -> None:
    interview = history.interviews["k6-technical"]
    interview.status = InterviewStatus.cancelled
    session.add(interview)
    session.commit()
    result = quality.quality_of_hire(session=session, actor=history.base.admin, metric_filter=march())
    # k6 is still a hire that passed, now without a score: passed (4 + 3) / 2.
    assert result.outcomes[0] == OutcomeGroup(
        "passed", hires=4, scored=2, mean_score=3.5, checked_in=2, mean_check_in=4.25
    )
    assert [(b.band, b.hires, b.passed) for b in result.bands] == [("low", 1, 0), ("mid", 2, 1), ("high", 2, 1)]


def test_scores_per_round(session: Session, history: PanelHistory) -> None:
    rows = quality.quality_by_round(session=session, actor=history.base.admin, metric_filter=march())
    assert [(r.name_en, r.scores) for r in rows] == [
        # k1 4, k6 4, k9 3 | k2 4.5, k7 2 | k8 3
        ("Technical", OutcomeScores(3, 3.67, 2, 3.25, 1, 3.0)),
        # k1 4 (q2) | k7 2 (q1); k2's Onsite was cancelled
        ("Onsite", OutcomeScores(1, 4.0, 1, 2.0, 0, None)),
    ]
    assert [r.scores.gap for r in rows] == [0.42, 2.0]


def test_scores_per_interviewer(session: Session, history: PanelHistory) -> None:
    rows = quality.quality_by_interviewer(session=session, actor=history.base.recruiter, metric_filter=march())
    assert [(r.name, r.scores) for r in rows] == [
        ("q1", OutcomeScores(1, 5.0, 2, 3.5, 0, None)),  # k1 5 | k2 5, k7 2
        ("q2", OutcomeScores(3, 3.5, 2, 3.0, 0, None)),  # k1 (3 + 4) / 2, k6 4, k9 3 | k2 4, k7 2
        ("q3", OutcomeScores(2, 4.0, 0, None, 1, 3.0)),  # k1 4, k6 4 | — | k8 3
    ]
    assert [r.scores.gap for r in rows] == [1.5, 0.5, None]


def test_a_hiring_manager_sees_the_hires_of_their_own_jobs_only(session: Session, history: PanelHistory) -> None:
    mine = quality.quality_of_hire(session=session, actor=history.base.m, metric_filter=march())
    # Job A's only hire, a1, passed without a rated card.
    assert mine.hires == 1
    assert mine.outcomes[0] == OutcomeGroup(
        "passed", hires=1, scored=0, mean_score=None, checked_in=0, mean_check_in=None
    )
    assert all(b.hires == 0 for b in mine.bands) and mine.score_gap is None
    assert quality.quality_by_round(session=session, actor=history.base.m, metric_filter=march()) == []
    # n manages jobs B and C: exactly what an admin sees of those jobs.
    jobs = (history.base.job_b.id or 0, history.job_c.id or 0)
    admin_view = quality.quality_of_hire(session=session, actor=history.base.admin, metric_filter=march(job_ids=jobs))
    assert quality.quality_of_hire(session=session, actor=history.base.n, metric_filter=march()) == admin_view
    assert admin_view.hires == 6


@pytest.mark.parametrize("who", ["m", "n"])
def test_hiring_managers_are_refused_figures_per_interviewer(session: Session, history: PanelHistory, who: str) -> None:
    with pytest.raises(NotAllowed):
        quality.quality_by_interviewer(session=session, actor=getattr(history.base, who), metric_filter=march())


@pytest.mark.parametrize("metric", [quality.quality_of_hire, quality.quality_by_round, quality.quality_by_interviewer])
def test_interviewers_see_no_quality_figures(session: Session, history: PanelHistory, metric: Any) -> None:
    with pytest.raises(NotAllowed):
        metric(session=session, actor=history.base.interviewer, metric_filter=march())
