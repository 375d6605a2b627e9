"""Candidate experience — NPS and each question's mean, overall, by job and by stage, with groups of fewer than
five answers suppressed — on the survey answers of tests/services/metrics_history_more.py, counted by hand.

March's answers (s1–s9; s10 is April's): nps 10 9 6 8 3 10 7 0 9 — promoters (9–10) s1 s2 s6 s9, detractors (0–6)
s3 s5 s8. Job A: s1–s5 (exactly 5); job B: s6–s9 (exactly 4); stage interviewing: s1 s2 s3 s7 s9 (exactly 5).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from services.metrics import experience as metrics_experience
from services.metrics.experience import Experience, ExperienceGroup
from services.metrics.filters import MetricFilter
from services.platform.errors import NotAllowed
from tests.services.metrics_history import MARCH, History
from tests.services.metrics_history_more import Answer, add_answer, build_more_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> History:
    return build_more_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


def result(session: Session, actor: Any, metric_filter: MetricFilter) -> Experience:
    return metrics_experience.experience(session=session, actor=actor, metric_filter=metric_filter)


def figures(group: ExperienceGroup) -> tuple[Any, ...]:
    return (group.answers, group.shown, group.nps, group.clarity, group.respect, group.treatment)


def hidden(answers: int) -> tuple[Any, ...]:
    return (answers, False, None, None, None, None)


def test_overall_nps_is_promoters_minus_detractors_in_percentage_points(session: Session, history: History) -> None:
    overall = result(session, history.admin, march()).overall
    # (4 - 3) / 9 = 11.1 points; clarity 31 / 9, respect 36 / 9, treatment 33 / 9.
    assert figures(overall) == (9, True, 11.1, 3.44, 4.0, 3.67)
    assert (overall.job_id, overall.job_title, overall.stage) == (None, "", "")


def test_a_job_with_exactly_five_answers_is_shown_and_one_with_exactly_four_is_not(
    session: Session, history: History
) -> None:
    by_job = result(session, history.admin, march()).by_job
    assert [(g.job_id, g.job_title) for g in by_job] == [(history.job_a.id, "Engineer"), (history.job_b.id, "Sales")]
    # Job A: 2 promoters (s1, s2), 2 detractors (s3, s5): 0 points; clarity 18 / 5, respect 21 / 5, treatment 18 / 5.
    assert figures(by_job[0]) == (5, True, 0.0, 3.6, 4.2, 3.6)
    assert figures(by_job[1]) == hidden(4)


def test_by_stage_reached_only_the_stage_with_five_answers_is_shown(session: Session, history: History) -> None:
    by_stage = result(session, history.admin, march()).by_stage
    assert [g.stage for g in by_stage] == ["interviewing", "offer", "rejected", "withdrawn"]
    # s1 s2 s3 s7 s9: promoters s1 s2 s9, detractor s3: (3 - 1) / 5 = 40 points; clarity 19 / 5, respect 22 / 5,
    # treatment 21 / 5.
    assert figures(by_stage[0]) == (5, True, 40.0, 3.8, 4.4, 4.2)
    assert [figures(g) for g in by_stage[1:]] == [hidden(2), hidden(1), hidden(1)]


def test_the_fifth_answer_shows_a_group_and_the_basis_decides_which_answers_count(
    session: Session, history: History
) -> None:
    # A fifth answer about job B — b2, a March application — given on 2 April.
    add_answer(session, "s11", history.apps["b2"], Answer("b2", "rejected", (4, 2), 10, 5, 5, 5))
    by_application = result(session, history.admin, march(job_ids=[history.job_b.id]))
    # s6 s7 s8 s9 s11: promoters s6 s9 s11, detractor s8: 40 points; clarity 18 / 5, respect 20 / 5, treatment
    # 20 / 5.
    assert figures(by_application.overall) == (5, True, 40.0, 3.6, 4.0, 4.0)
    assert figures(by_application.by_job[0]) == (5, True, 40.0, 3.6, 4.0, 4.0)
    # By event date, April's answer is not March's: four answers again, hidden.
    by_event = result(session, history.admin, march(job_ids=[history.job_b.id], basis="event"))
    assert figures(by_event.overall) == hidden(4)
    assert figures(by_event.by_job[0]) == hidden(4)


def test_by_event_date_only_the_answers_given_in_the_period_count(session: Session, history: History) -> None:
    april = MetricFilter(start=date(2026, 4, 1), end=date(2026, 4, 30), basis="event")
    # s10, about a9, on 9 April: one answer, hidden, even overall.
    only = result(session, history.admin, april)
    assert figures(only.overall) == hidden(1)
    assert [(g.job_id, g.answers, g.shown) for g in only.by_job] == [(history.job_a.id, 1, False)]
    assert figures(result(session, history.admin, march(basis="event")).overall) == (9, True, 11.1, 3.44, 4.0, 3.67)


def test_an_empty_period_has_no_answers_and_no_figures(session: Session, history: History) -> None:
    for basis in ("application", "event"):
        empty = result(session, history.admin, MetricFilter(start=date(2025, 1, 1), end=date(2025, 1, 31), basis=basis))
        assert figures(empty.overall) == hidden(0)
        assert (empty.by_job, empty.by_stage, empty.min_answers) == ([], [], 5)


def test_a_hiring_manager_sees_the_answers_of_their_own_jobs_only(session: Session, history: History) -> None:
    for basis in ("application", "event"):
        mine = result(session, history.m, march(basis=basis))
        assert mine == result(session, history.admin, march(basis=basis, job_ids=[history.job_a.id]))
    mine = result(session, history.m, march())
    assert figures(mine.overall) == (5, True, 0.0, 3.6, 4.2, 3.6)
    assert [g.job_id for g in mine.by_job] == [history.job_a.id]
    # Job A's interviewing answers are s1 s2 s3 only: hidden.
    assert [(g.stage, g.answers, g.shown) for g in mine.by_stage] == [
        ("interviewing", 3, False),
        ("offer", 1, False),
        ("withdrawn", 1, False),
    ]
    # Manager N's job B has four answers: even the overall NPS is hidden from them.
    assert figures(result(session, history.n, march()).overall) == hidden(4)
    # Asking for the other job gives nothing.
    assert figures(result(session, history.m, march(job_ids=[history.job_b.id])).overall) == hidden(0)


def test_a_candidate_with_two_applications_answers_about_each(session: Session, history: History) -> None:
    # c1 answered about a1 (job A, s1) and twice about a5 (job B, s6 and s9): the referral source has s1, s3 (a4),
    # s6 and s9 — four answers, hidden.
    referral = result(session, history.admin, march(source="referral"))
    assert figures(referral.overall) == hidden(4)
    assert [(g.job_id, g.answers) for g in referral.by_job] == [(history.job_a.id, 2), (history.job_b.id, 2)]


def test_interviewers_are_refused(session: Session, history: History) -> None:
    with pytest.raises(NotAllowed):
        result(session, history.interviewer, march())
    with pytest.raises(NotAllowed):
        result(session, history.panel["p1"], march())
