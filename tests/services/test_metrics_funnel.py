"""The funnel (cohort and activity views) and where candidates were lost, on the fixed history of
tests/services/metrics_history.py; every expected figure is counted by hand from its table."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from services.metrics import funnel as metrics_funnel
from services.metrics.filters import MetricFilter
from services.metrics.funnel import STEPS, Funnel, Loss
from services.platform.errors import NotAllowed, ValidationError
from tests.services.metrics_history import MARCH, History, build_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> History:
    return build_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


def counts(result: Funnel) -> list[int]:
    return [s.count for s in result.steps]


def conversions(result: Funnel) -> list[float | None]:
    return [None if s.conversion is None else round(s.conversion, 4) for s in result.steps]


def test_cohort_funnel_follows_the_applications_created_in_the_period_to_their_furthest_step(
    session: Session, history: History
) -> None:
    result = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march())
    assert result.view == "cohort"
    assert [s.step for s in result.steps] == list(STEPS)
    # a1 passed probation; a3 skipped interview and evaluation but got an offer; a4 (reopened) and a5
    # reached a decision; a2 was interviewed; a6 and a8 only applied; a7 began in February (local) and is not here.
    assert counts(result) == [7, 5, 4, 4, 2, 1, 1, 1]


def test_cohort_funnel_counts_open_applications_apart_and_leaves_them_out_of_the_rates(
    session: Session, history: History
) -> None:
    result = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march())
    # a8 is open having only applied, a2 open after its interview, a4 (reopened) open after its decision.
    assert [s.in_progress for s in result.steps] == [1, 1, 0, 1, 0, 0, 0, 0]
    assert conversions(result) == [None, round(5 / 6, 4), 1.0, 1.0, round(2 / 3, 4), 0.5, 1.0, 1.0]
    assert result.overall == pytest.approx(1 / 4)  # one passed of the 7 - 3 applications no longer open


def test_activity_funnel_counts_what_happened_in_the_period_in_the_companys_time_zone(
    session: Session, history: History
) -> None:
    result = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march(basis="event"))
    assert result.view == "activity"
    # a7's interview ended at 00:10 on 1 March in Shanghai (16:10 UTC the day before): it counts; a skipped step
    # (a3's interview) does not happen, but a3's move to offer by hand is its decision; a1's probation passed in
    # April. A flow ratio may exceed 100%: four decisions in March, three evaluations.
    assert counts(result) == [7, 5, 3, 4, 2, 1, 1, 0]
    assert [s.in_progress for s in result.steps] == [0] * 8
    assert conversions(result) == [None, round(5 / 7, 4), 0.6, round(4 / 3, 4), 0.5, 0.5, 1.0, 0.0]
    assert result.overall == 0.0


def test_an_application_created_just_before_local_midnight_belongs_to_that_local_day(
    session: Session, history: History
) -> None:
    # a7 was created at 15:30 UTC on 28 February = 23:30 in Shanghai; a6 at 16:30 UTC = 00:30 on 1 March.
    feb_28 = MetricFilter(start=date(2026, 2, 28), end=date(2026, 2, 28))
    mar_1 = MetricFilter(start=date(2026, 3, 1), end=date(2026, 3, 1))
    assert counts(metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=feb_28))[0] == 1
    assert counts(metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=mar_1))[0] == 1
    # ... and a8, at 15:59 UTC on 31 March = 23:59 local, is the last of March, not the first of April.
    mar_31 = MetricFilter(start=date(2026, 3, 31), end=date(2026, 3, 31))
    apr_1 = MetricFilter(start=date(2026, 4, 1), end=date(2026, 4, 1))
    assert counts(metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=mar_31))[0] == 1
    assert counts(metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=apr_1))[0] == 0


def test_an_empty_period_gives_zero_counts_and_no_rates(session: Session, history: History) -> None:
    empty = MetricFilter(start=date(2025, 6, 1), end=date(2025, 6, 30))
    for basis in ("application", "event"):
        result = metrics_funnel.funnel(
            session=session,
            actor=history.admin,
            metric_filter=MetricFilter(start=empty.start, end=empty.end, basis=basis),
        )
        assert counts(result) == [0] * 8
        assert [s.conversion for s in result.steps] == [None] * 8
        assert result.overall is None
    assert metrics_funnel.losses(session=session, actor=history.admin, metric_filter=empty) == []


def test_a_candidate_with_two_applications_counts_once_per_application(session: Session, history: History) -> None:
    # c1 applied to job A (a1) and job B (a5): two applications, each followed on its own.
    only_b = metrics_funnel.funnel(
        session=session, actor=history.admin, metric_filter=march(job_ids=[history.job_b.id])
    )
    assert counts(only_b) == [1, 1, 1, 1, 0, 0, 0, 0]
    referral = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march(source="referral"))
    assert counts(referral) == [4, 3, 3, 3, 1, 1, 1, 1]  # a1, a4, a5 (c1's), a8


def test_filters_by_department_and_recruiter(session: Session, history: History) -> None:
    sales = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march(department="Sales"))
    assert counts(sales) == [1, 1, 1, 1, 0, 0, 0, 0]
    # The recruiter added c1, c2, c4 and c7: a1, a2, a4, a8, and c1's second application a5.
    mine = metrics_funnel.funnel(
        session=session, actor=history.admin, metric_filter=march(recruiter_id=history.recruiter.id)
    )
    assert counts(mine) == [5, 4, 3, 3, 1, 1, 1, 1]


def test_a_hiring_managers_funnel_never_includes_other_jobs(session: Session, history: History) -> None:
    for basis in ("application", "event"):
        mine = metrics_funnel.funnel(session=session, actor=history.m, metric_filter=march(basis=basis))
        admins = metrics_funnel.funnel(
            session=session, actor=history.admin, metric_filter=march(basis=basis, job_ids=[history.job_a.id])
        )
        assert mine == admins
        assert mine != metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march(basis=basis))
    assert counts(metrics_funnel.funnel(session=session, actor=history.m, metric_filter=march())) == [
        6, 4, 3, 3, 2, 1, 1, 1,
    ]  # fmt: skip
    # Asking for another manager's job gives nothing, not that job's figures.
    other = metrics_funnel.funnel(session=session, actor=history.m, metric_filter=march(job_ids=[history.job_b.id]))
    assert counts(other) == [0] * 8
    assert metrics_funnel.losses(session=session, actor=history.m, metric_filter=march()) == (
        metrics_funnel.losses(session=session, actor=history.admin, metric_filter=march(job_ids=[history.job_a.id]))
    )


def test_interviewers_and_deactivated_accounts_see_no_metrics(session: Session, history: History) -> None:
    with pytest.raises(NotAllowed):
        metrics_funnel.funnel(session=session, actor=history.interviewer, metric_filter=march())
    with pytest.raises(NotAllowed):
        metrics_funnel.losses(session=session, actor=history.panel["p1"], metric_filter=march())
    history.recruiter.is_active = False
    session.add(history.recruiter)
    session.commit()
    with pytest.raises(NotAllowed):
        metrics_funnel.funnel(session=session, actor=history.recruiter, metric_filter=march())


def test_losses_are_counted_by_the_stage_left_and_the_exits_kind_and_reason(session: Session, history: History) -> None:
    result = metrics_funnel.losses(session=session, actor=history.admin, metric_filter=march())
    # a3 declined its offer over pay, a5 was rejected (team fit), a6 withdrew; a4 was rejected but is open again.
    assert result == [
        Loss(stage="interviewing", kind="rejected", reason="team_fit", count=1),
        Loss(stage="interviewing", kind="withdrew", reason="", count=1),
        Loss(stage="offer", kind="declined_offer", reason="compensation", count=1),
    ]


def test_losses_by_event_date_count_the_exits_in_the_period(session: Session, history: History) -> None:
    # a3 declined at 10:00 UTC on 16 March (18:00 local); nobody applied that day.
    day = {"start": date(2026, 3, 16), "end": date(2026, 3, 16)}
    by_event = metrics_funnel.losses(
        session=session, actor=history.admin, metric_filter=MetricFilter(**day, basis="event")
    )
    assert by_event == [Loss(stage="offer", kind="declined_offer", reason="compensation", count=1)]
    assert metrics_funnel.losses(session=session, actor=history.admin, metric_filter=MetricFilter(**day)) == []


def test_a_failed_probation_is_lost_at_hired_with_its_reason(session: Session, history: History) -> None:
    from tests.services.metrics_history import Builder, at

    b = Builder(session, type("C", (), {"set": staticmethod(lambda when: None)}))
    a8 = history.apps["a8"]
    b.move(a8, "hired", at(4, 1))
    b.move(a8, "rejected", at(4, 5), "probation_not_passed")
    result = metrics_funnel.losses(session=session, actor=history.admin, metric_filter=march())
    assert Loss(stage="hired", kind="rejected", reason="probation_not_passed", count=1) in result


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"start": date(2026, 3, 31), "end": date(2026, 3, 1)}, "end"),
        ({"start": date(2026, 3, 1), "end": date(2026, 3, 31), "basis": "weekly"}, "basis"),
        ({"start": date(2026, 3, 1), "end": date(2026, 3, 31), "source": "nowhere"}, "source"),
        ({"start": "2026-03-01", "end": date(2026, 3, 31)}, "start"),
    ],
)
def test_a_bad_filter_is_refused_naming_its_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MetricFilter(**values)
    assert set(caught.value.fields) == {field}


def test_losses_follow_the_department_and_source_filters(session: Session, history: History) -> None:
    for values in ({"department": "Sales"}, {"department": "Sales", "basis": "event"}, {"source": "referral"}):
        result = metrics_funnel.losses(session=session, actor=history.admin, metric_filter=march(**values))
        assert result == [Loss(stage="interviewing", kind="rejected", reason="team_fit", count=1)]  # a5 only


def test_decisions_and_hires_made_by_moving_the_stage_count_without_their_records(
    session: Session, history: History, frozen_clock: Any
) -> None:
    from tests.services.metrics_history import NOW, Builder, at

    b = Builder(session, frozen_clock)
    p1, p2 = history.panel["p1"], history.panel["p2"]
    # j1 rejected by hand after its interview (no decision recorded); j2 moved to offer and hired by hand (no offer).
    j1, _ = b.application(history.job_a, at(1, 10), actor=history.admin)
    b.scorecard(b.interview(j1, at(1, 12), [p1]), p1, at(1, 12, 12))
    b.move(j1, "rejected", at(1, 14), "不合适")
    j2, _ = b.application(history.job_a, at(1, 10, 11), actor=history.admin)
    b.scorecard(b.interview(j2, at(1, 12, 11), [p2]), p2, at(1, 12, 13))
    b.move(j2, "offer", at(1, 15))
    b.move(j2, "hired", at(1, 16))
    frozen_clock.set(NOW)
    january = {"start": date(2026, 1, 1), "end": date(2026, 1, 31)}
    cohort = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=MetricFilter(**january))
    assert counts(cohort) == [2, 2, 2, 2, 1, 1, 0, 0]
    assert [s.in_progress for s in cohort.steps] == [0, 0, 0, 0, 0, 1, 0, 0]  # j2 is hired, not yet started
    activity = metrics_funnel.funnel(
        session=session, actor=history.admin, metric_filter=MetricFilter(**january, basis="event")
    )
    assert counts(activity) == [2, 2, 2, 2, 0, 1, 0, 0]  # no offer was sent
    losses = metrics_funnel.losses(session=session, actor=history.admin, metric_filter=MetricFilter(**january))
    assert losses == [Loss(stage="interviewing", kind="rejected", reason="", count=1)]
