"""Sources — applications, interviewed, offers, hires, conversion and how far each source's applications get — on
the fixed history of tests/services/metrics_history_more.py; every expected figure is counted by hand.

The furthest step of each March application (index in funnel.STEPS: 0 applied, 1 interviewed, 2 evaluated,
3 decision, 4 offer, 5 accepted, 6 started, 7 passed probation):
referral     a1 7, a4 3 (reopened), a5 3 (c1's second application), a8 0
job_board    a2 1, a3 4 (an offer without an interview)
campus       a6 0                                   (a7 began in February, local time)
headhunter   b1 5, b2 4
career_site  b3 4, b4 4
social       b5 3 (moved to offer, the offer a draft) (b6 began in February)
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from services.metrics import funnel as metrics_funnel
from services.metrics import sources as metrics_sources
from services.metrics.filters import MetricFilter
from services.platform.errors import NotAllowed
from tests.services.metrics_history import MARCH, History
from tests.services.metrics_history_more import build_more_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> History:
    return build_more_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


Row = tuple[int, int, int, int, int, float | None, float | None]


def table(session: Session, actor: Any, metric_filter: MetricFilter) -> dict[str, Row]:
    result = metrics_sources.sources(session=session, actor=actor, metric_filter=metric_filter)
    return {
        r.source: (
            r.applications,
            r.candidates,
            r.interviewed,
            r.offers,
            r.hires,
            None if r.conversion is None else round(r.conversion, 4),
            r.mean_furthest_step,
        )
        for r in result
    }


def test_by_application_each_source_follows_its_applications_to_their_furthest_step(
    session: Session, history: History
) -> None:
    result = metrics_sources.sources(session=session, actor=history.admin, metric_filter=march())
    # In the order of models.candidate.SOURCES; a source without any figure has no row.
    assert [r.source for r in result] == ["referral", "career_site", "job_board", "headhunter", "campus", "social"]
    assert table(session, history.admin, march()) == {
        # (applications, candidates, interviewed, offers, hires, conversion, mean furthest step)
        # c1 applied twice (a1, a5): two applications, one candidate. (7 + 3 + 3 + 0) / 4 = 3.25.
        "referral": (4, 3, 3, 1, 1, 0.25, 3.25),
        "career_site": (2, 2, 2, 2, 0, 0.0, 4.0),
        # a3 skipped its interview and counts as interviewed, as in the funnel's cohort view.
        "job_board": (2, 2, 2, 1, 0, 0.0, 2.5),
        "headhunter": (2, 2, 2, 2, 1, 0.5, 4.5),
        "campus": (1, 1, 0, 0, 0, 0.0, 0.0),
        "social": (1, 1, 1, 0, 0, 0.0, 3.0),
    }


def test_the_sources_add_up_to_the_cohort_funnel(session: Session, history: History) -> None:
    rows = metrics_sources.sources(session=session, actor=history.admin, metric_filter=march())
    steps = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march()).steps
    by_step = {s.step: s.count for s in steps}
    assert sum(r.applications for r in rows) == by_step["applied"] == 12
    assert sum(r.interviewed for r in rows) == by_step["interviewed"] == 10
    assert sum(r.offers for r in rows) == by_step["offer"] == 6
    assert sum(r.hires for r in rows) == by_step["accepted"] == 2


def test_by_event_each_column_counts_what_happened_in_the_period(session: Session, history: History) -> None:
    assert table(session, history.admin, march(basis="event")) == {
        # a9's interview is in April; a1, a4 and a5 were interviewed in March, a1's offer sent and accepted.
        "referral": (4, 3, 3, 1, 1, 0.25, 3.25),
        # b4's first revision was sent on 9 March; b3's offer is awaiting.
        "career_site": (2, 2, 0, 2, 0, 0.0, 4.0),
        # a2's interview held; a3's skipped interview happened nowhere, its offer sent 15 March.
        "job_board": (2, 2, 1, 1, 0, 0.0, 2.5),
        "headhunter": (2, 2, 0, 2, 1, 0.5, 4.5),
        # a7 began in February (local) but its interview ended at 00:10 on 1 March in Shanghai.
        "campus": (1, 1, 1, 0, 0, 0.0, 0.0),
        # b6 began in February; its offer was sent and accepted in March: a flow ratio of 1 hire to 1 application.
        "social": (1, 1, 0, 1, 1, 1.0, 3.0),
    }


def test_a_source_with_only_events_and_no_applications_in_the_period_has_a_row(
    session: Session, history: History
) -> None:
    # 1–5 March: a6 (campus, 1 March), b4 (career_site, 5 March) and a4 (referral, 3 March) and a1 (2 March)
    # began; b6's offer (social, a February application) was sent 3 March and accepted 4 March.
    early = MetricFilter(start=date(2026, 3, 1), end=date(2026, 3, 5), basis="event")
    rows = table(session, history.admin, early)
    assert rows["social"] == (0, 0, 0, 1, 1, None, None)
    # a1's interview (5 March 10:00 UTC) and a4's (4 March), a7's (1 March local).
    assert rows["referral"][:5] == (2, 2, 2, 0, 0)
    assert rows["campus"][:3] == (1, 1, 1)


def test_an_empty_period_has_no_rows(session: Session, history: History) -> None:
    for basis in ("application", "event"):
        empty = MetricFilter(start=date(2025, 1, 1), end=date(2025, 1, 31), basis=basis)
        assert metrics_sources.sources(session=session, actor=history.admin, metric_filter=empty) == []


def test_the_source_filter_keeps_one_row(session: Session, history: History) -> None:
    assert table(session, history.admin, march(source="headhunter")) == {"headhunter": (2, 2, 2, 2, 1, 0.5, 4.5)}


def test_a_hiring_manager_sees_the_sources_of_their_own_jobs_only(session: Session, history: History) -> None:
    for basis in ("application", "event"):
        mine = metrics_sources.sources(session=session, actor=history.m, metric_filter=march(basis=basis))
        admin_a = metrics_sources.sources(
            session=session, actor=history.admin, metric_filter=march(basis=basis, job_ids=[history.job_a.id])
        )
        assert mine == admin_a
    # Job A: a5 (job B) leaves referral, b2 (job B) headhunter, b4 career_site.
    assert table(session, history.m, march()) == {
        "referral": (3, 3, 2, 1, 1, round(1 / 3, 4), round(10 / 3, 2)),
        "career_site": (1, 1, 1, 1, 0, 0.0, 4.0),
        "job_board": (2, 2, 2, 1, 0, 0.0, 2.5),
        "headhunter": (1, 1, 1, 1, 1, 1.0, 5.0),
        "campus": (1, 1, 0, 0, 0, 0.0, 0.0),
        "social": (1, 1, 1, 0, 0, 0.0, 3.0),
    }
    # Manager N's job B: a5, b2 and b4; asking for job A gives M nothing of N's.
    assert table(session, history.n, march()) == {
        "referral": (1, 1, 1, 0, 0, 0.0, 3.0),
        "career_site": (1, 1, 1, 1, 0, 0.0, 4.0),
        "headhunter": (1, 1, 1, 1, 0, 0.0, 4.0),
    }
    assert (
        metrics_sources.sources(session=session, actor=history.m, metric_filter=march(job_ids=[history.job_b.id])) == []
    )


def test_interviewers_are_refused(session: Session, history: History) -> None:
    with pytest.raises(NotAllowed):
        metrics_sources.sources(session=session, actor=history.interviewer, metric_filter=march())
    with pytest.raises(NotAllowed):
        metrics_sources.sources(session=session, actor=history.panel["p3"], metric_filter=march())
