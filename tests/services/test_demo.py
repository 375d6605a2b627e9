"""seed-demo: valid for every seed, realistic in proportion at any size, every stage and board column when tiny."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from bench.pages import SEED as BENCH_SEED
from models.candidate import Application, StageChange
from models.common import Stage, utcnow
from models.evaluation import Interview, Scorecard, ScorecardStatus
from models.followup import Contact, PoolEntry
from models.mail import OutboxMessage
from models.user import User
from services.follow_up import followup
from services.platform.demo import TABLES, seed_demo


@pytest.mark.parametrize("seed", [*range(21), BENCH_SEED])
def test_no_seed_value_breaks_a_unique_constraint(session: Session, seed: int) -> None:
    # bench.search's seed once made two talent-pool entries for one person; every seed must go through.
    counts = seed_demo(session=session, candidates=60, seed=seed)
    assert counts["candidate"] == 60
    pooled = session.exec(select(PoolEntry.candidate_id)).all()
    assert len(pooled) == len(set(pooled))


def test_the_seed_the_benchmark_uses_goes_through_at_a_few_thousand(session: Session) -> None:
    assert seed_demo(session=session, candidates=2000, seed=BENCH_SEED)["candidate"] == 2000


def test_a_tiny_demo_shows_every_stage_and_every_board_column(session: Session) -> None:
    seed_demo(session=session, candidates=10)
    assert set(session.exec(select(Application.stage).distinct())) == {s.value for s in Stage}
    admin = session.exec(select(User).where(User.email == "admin@example.com")).one()
    board = followup.follow_up_board(session=session, actor=admin)
    assert {row.state for row in board} == {"awaiting_feedback", "awaiting_reply", "at_risk", "in_touch", "decided"}


def test_every_table_grows_with_the_demo_in_proportion(session: Session) -> None:
    small = seed_demo(session=session, candidates=300, seed=3)
    for model in TABLES:
        assert small[model.__tablename__] > 0, model.__tablename__
    # Far more than the few hundred recent applications the demo used to interview: nearly all of them.
    interviewed = session.exec(select(func.count(func.distinct(Interview.application_id)))).one()
    assert interviewed > 0.8 * small["application"]
    assert small["stagechange"] > 4 * small["application"]


def test_histories_have_real_gaps_and_nothing_happens_in_the_future(session: Session) -> None:
    seed_demo(session=session, candidates=300, seed=5)
    now = utcnow()
    for app in session.exec(select(Application)):
        history = session.exec(
            select(StageChange)
            .where(StageChange.application_id == app.id)
            .order_by(col(StageChange.at), col(StageChange.id))
        ).all()
        assert history[0].to_stage == "interviewing" and history[0].from_stage is None
        assert history[-1].to_stage == app.stage
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_stage == before.to_stage
            assert after.at - before.at > timedelta(minutes=30)
        assert history[-1].at <= now
    assert session.exec(select(func.max(Contact.at))).one() <= now
    assert session.exec(select(func.max(OutboxMessage.sent_at))).one() <= now
    # Scorecards still in draft or missing are the last two days' interviews of open applications only.
    drafts = session.exec(
        select(Interview.ends_at, Application.stage)
        .join(Scorecard, col(Scorecard.interview_id) == Interview.id)
        .join(Application, col(Application.id) == Interview.application_id)
        .where(Scorecard.status == ScorecardStatus.draft)
    ).all()
    assert drafts
    for ends_at, stage in drafts:
        assert stage == Stage.interviewing and ends_at > now - timedelta(hours=49)


def test_no_demo_check_in_falls_after_the_end_of_probation(session: Session) -> None:
    from models.onboard import CheckIn, OnboardingPlan

    seed_demo(session=session, candidates=300, seed=3)
    late = session.exec(
        select(CheckIn.day, OnboardingPlan.probation_end)
        .join(OnboardingPlan, col(OnboardingPlan.id) == CheckIn.plan_id)
        .where(col(CheckIn.due_date) > col(OnboardingPlan.probation_end))
    ).all()
    assert late == []  # a day-90 check-in in a one- or two-month probation made no sense
    assert session.exec(select(func.count()).select_from(CheckIn)).one() > 0
