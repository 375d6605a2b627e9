"""Selection rates by group and the four-fifths rule, on the fixed history of tests/services/metrics_history_panel.py
(job C's applicants) and metrics_history.py (jobs A and B), every expected figure counted by hand from their
tables. March, by application date: job A a1-a4 interviewed (a3 skipped to an offer), a6 withdrew unseen, a8 still
open unseen; job B a5 interviewed; job C k1-k9, s5-s8, s10 and s11 interviewed, s1-s4 and s12-s15 rejected
unseen, s9 still open unseen."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from services.metrics import selection
from services.metrics.filters import MetricFilter
from services.metrics.selection import GroupRate, SelectionRates
from services.platform.errors import NotAllowed, ValidationError
from tests.services.metrics_history import MARCH
from tests.services.metrics_history_panel import PanelHistory, build_panel_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> PanelHistory:
    return build_panel_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


def test_each_source_against_the_highest_with_small_groups_suppressed(session: Session, history: PanelHistory) -> None:
    result = selection.selection_rates(
        session=session, actor=history.base.admin, metric_filter=march(department="Design"), group_by="source"
    )
    assert result == SelectionRates(
        group_by="source",
        from_step="applied",
        to_step="interviewed",
        groups=[
            # s10, s11 of six: 2 × 8 / (6 × 6) = 0.44 of career_site's rate — flagged.
            GroupRate("campus", 6, 0, 2, 1 / 3, 16 / 36, flagged=True, suppressed=False),
            GroupRate("career_site", 8, 0, 6, 0.75, 1.0, flagged=False, suppressed=False),
            # Exactly five: shown. 3/5 against 6/8 is exactly four fifths — not flagged.
            GroupRate("headhunter", 5, 0, 3, 0.6, 0.8, flagged=False, suppressed=False),
            # Exactly four, all interviewed: suppressed, and not the highest despite its 100%.
            GroupRate("job_board", 4, 0, None, None, None, flagged=False, suppressed=True),
            # s9, still waiting: left out of the rate, counted apart.
            GroupRate("referral", 0, 1, None, None, None, flagged=False, suppressed=True),
        ],
        highest_group="career_site",
        highest_rate=0.75,
    )


def test_groups_by_department_and_by_the_jobs_location(session: Session, history: PanelHistory) -> None:
    admin = history.base.admin
    by_department = selection.selection_rates(
        session=session, actor=admin, metric_filter=march(), group_by="department"
    ).groups
    assert by_department == [
        # 23 considered (k1-k9, s1-s8, s10-s15), 15 interviewed; s9 waits. 15 × 5 / (23 × 4) = 0.815.
        GroupRate("Design", 23, 1, 15, 15 / 23, 75 / 92, flagged=False, suppressed=False),
        # a1-a4 of a1-a4 and a6; a8 waits.
        GroupRate("Engineering", 5, 1, 4, 0.8, 1.0, flagged=False, suppressed=False),
        GroupRate("Sales", 1, 0, None, None, None, flagged=False, suppressed=True),
    ]
    by_location = selection.selection_rates(session=session, actor=admin, metric_filter=march(), group_by="location")
    assert by_location.highest_group == "Shanghai"  # jobs A and B: 5 of 6
    assert [(g.group, g.considered, g.passed, g.flagged) for g in by_location.groups] == [
        ("Beijing", 23, 15, True),  # 15 × 6 / (23 × 5) = 0.78
        ("Shanghai", 6, 5, False),
    ]
    assert by_location.groups[0].impact_ratio == pytest.approx(90 / 115)


def test_from_interview_to_offer(session: Session, history: PanelHistory) -> None:
    result = selection.selection_rates(
        session=session,
        actor=history.base.admin,
        metric_filter=march(job_ids=(history.job_c.id or 0,)),
        group_by="source",
        from_step="interviewed",
        to_step="offer",
    )
    # career_site: offers to k1, k2, k6 of k1-k6. Headhunter's three (all offered), job board's four and campus's
    # two are too few; s9 (referral) has not reached the interview: no row.
    assert [(g.group, g.considered, g.passed, g.rate, g.suppressed) for g in result.groups] == [
        ("campus", 2, None, None, True),
        ("career_site", 6, 3, 0.5, False),
        ("headhunter", 3, None, None, True),
        ("job_board", 4, None, None, True),
    ]
    assert (result.highest_group, result.highest_rate) == ("career_site", 0.5)


def test_only_small_groups_leave_no_highest_and_no_ratios(session: Session, history: PanelHistory) -> None:
    result = selection.selection_rates(session=session, actor=history.base.m, metric_filter=march())
    # m sees job A only: referral a1, a4 (a8 waits), job board a2, a3, campus a6.
    assert [(g.group, g.considered, g.in_progress, g.suppressed) for g in result.groups] == [
        ("campus", 1, 0, True),
        ("job_board", 2, 0, True),
        ("referral", 2, 1, True),
    ]
    assert (result.highest_group, result.highest_rate) == (None, None)


def test_a_hiring_managers_groups_never_include_other_jobs(session: Session, history: PanelHistory) -> None:
    jobs = (history.base.job_b.id or 0, history.job_c.id or 0)
    admin_view = selection.selection_rates(session=session, actor=history.base.admin, metric_filter=march(job_ids=jobs))
    assert selection.selection_rates(session=session, actor=history.base.n, metric_filter=march()) == admin_view
    # Job B's a5 (c1, a referral) joins s9 in the referral group.
    assert admin_view.groups[-1] == GroupRate("referral", 1, 1, None, None, None, flagged=False, suppressed=True)


def test_an_empty_period_has_no_groups(session: Session, history: PanelHistory) -> None:
    empty = MetricFilter(start=date(2025, 6, 1), end=date(2025, 6, 30))
    result = selection.selection_rates(session=session, actor=history.base.admin, metric_filter=empty)
    assert (result.groups, result.highest_group, result.highest_rate) == ([], None, None)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"group_by": "gender"}, "group_by"),
        ({"group_by": "name"}, "group_by"),
        ({"from_step": "decision"}, "from_step"),
        ({"from_step": "offer", "to_step": "interviewed"}, "to_step"),
        ({"from_step": "interviewed", "to_step": "interviewed"}, "to_step"),
        ({"to_step": "accepted"}, "to_step"),
    ],
)
def test_a_bad_group_or_step_is_refused_naming_it(
    session: Session, history: PanelHistory, values: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        selection.selection_rates(session=session, actor=history.base.admin, metric_filter=march(), **values)
    assert set(refused.value.fields) == {field}


def test_interviewers_see_no_selection_rates(session: Session, history: PanelHistory) -> None:
    with pytest.raises(NotAllowed):
        selection.selection_rates(session=session, actor=history.base.interviewer, metric_filter=march())
