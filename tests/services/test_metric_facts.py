"""The applications' metric facts (services.metrics.facts): listed by the database's triggers on every kind of
write, folded in by the worker and by the next read, equal to a full rebuild, and never stale by the clock."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlmodel import Session

import manage
import services.platform.config
import services.platform.db
from models.candidate import Application, Candidate, StageChange
from models.evaluation import Criterion, Decision, Interview, Scorecard, ScorecardRating
from models.metrics import ApplicationFact, InterviewFact, MetricDirty, ScorecardFact, StayFact
from models.onboard import OnboardingPlan
from services.mail.worker import Worker
from services.metrics import facts
from services.metrics import funnel as metrics_funnel
from services.metrics.filters import MetricFilter
from tests.services.metrics_history import MARCH, NOW, Builder, History, at, build_history
from tests.services.metrics_history_panel import build_panel_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> History:
    return build_history(session, frozen_clock)


def march() -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1])


def listed(session: Session) -> set[int]:
    return set(session.execute(select(MetricDirty.application_id)).scalars().all())


def fact_rows(session: Session) -> list[tuple[Any, ...]]:
    table = ApplicationFact.__table__  # type: ignore[attr-defined]
    return [tuple(r) for r in session.execute(select(table).order_by(table.c.application_id)).all()]


def all_facts(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for model in (ApplicationFact, InterviewFact, ScorecardFact, StayFact):
        table = model.__table__  # type: ignore[attr-defined]
        key = next(iter(table.primary_key.columns))
        found[table.name] = [tuple(r) for r in session.execute(select(table).order_by(key)).all()]
    return found


def fold(session: Session) -> int:
    count = facts.refresh_facts(session)
    session.commit()
    return count


def counts(session: Session, history: History) -> list[int]:
    result = metrics_funnel.funnel(session=session, actor=history.admin, metric_filter=march())
    return [s.count for s in result.steps]


def test_every_kind_of_write_behind_the_facts_lists_its_application(
    session: Session, history: History, frozen_clock: Any
) -> None:
    fold(session)
    assert listed(session) == set()
    b = Builder(session, frozen_clock)
    a2, p1 = history.apps["a2"], history.panel["p1"]
    interview = b.interview(a2, at(3, 20), [p1])  # an interview and its panel
    assert listed(session) == {a2.id}
    fold(session)
    b.scorecard(interview, p1, at(3, 21))
    assert listed(session) == {a2.id}
    fold(session)
    b.decision(a2, "offer", "meets_bar", at(3, 22), history.m)
    b.move(a2, "offer", at(3, 22))
    assert listed(session) == {a2.id}
    fold(session)
    offer = b.offer(a2, history.recruiter, sent=at(3, 23), status="accepted", answered=at(3, 24))
    b.plan(a2, offer, start=date(2026, 3, 25), status="active", outcome_at=None)
    assert listed(session) == {a2.id}
    fold(session)
    session.execute(update(Interview).where(Interview.id == interview.id).values(status="cancelled"))
    session.commit()
    assert listed(session) == {a2.id}
    fold(session)
    session.execute(update(OnboardingPlan).where(OnboardingPlan.application_id == a2.id).values(status="cancelled"))
    session.execute(delete(Decision).where(Decision.application_id == a2.id))
    session.commit()
    assert listed(session) == {a2.id}


def test_word_to_a_candidate_and_a_criterions_change_list_the_applications_they_concern(
    session: Session, history: History, frozen_clock: Any
) -> None:
    fold(session)
    b = Builder(session, frozen_clock)
    a1 = history.apps["a1"]
    person = session.get(Candidate, a1.candidate_id)
    b.contact(person, history.recruiter, at(3, 29), "replied")
    assert listed(session) == {a.id for a in history.apps.values() if a.candidate_id == a1.candidate_id}
    fold(session)
    b.mails.extend(range(100))  # past the history's mails' keys
    b.mail(person, at(3, 30), sent=True)
    assert a1.id in listed(session)


def test_the_scores_follow_a_change_of_rating_or_criterion(
    session: Session, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_panel_history(session, frozen_clock)
    monkeypatch.setattr(facts, "CHUNK", 2)  # folded two applications at a time
    fold(session)
    before = all_facts(session)["scorecardfact"]
    first = session.execute(select(Criterion).order_by(Criterion.id)).scalars().first()
    assert first is not None
    session.execute(update(Criterion).where(Criterion.id == first.id).values(weight=3.0))
    session.commit()
    of_round = session.execute(select(Interview.application_id).where(Interview.round_id == first.round_id))
    assert listed(session) == set(of_round.scalars().all())
    fold(session)
    session.execute(update(ScorecardRating).where(ScorecardRating.criterion_id == first.id).values(rating=1))
    session.commit()
    fold(session)
    incremental = all_facts(session)
    assert incremental["scorecardfact"] != before
    facts.refresh_facts(session, full=True)
    session.commit()
    assert all_facts(session) == incremental


def test_a_change_of_a_column_the_facts_do_not_read_lists_nothing(session: Session, history: History) -> None:
    fold(session)
    session.execute(update(Interview).values(location="Room 2"))
    session.execute(update(Application).values(stage_changed_at=NOW))  # the stage is read from the application
    session.commit()
    assert listed(session) == set()


def test_a_new_application_is_listed_and_a_deleted_one_loses_its_facts(
    session: Session, history: History, frozen_clock: Any
) -> None:
    fold(session)
    b = Builder(session, frozen_clock)
    app, _ = b.application(history.job_a, at(3, 10), actor=history.recruiter, source="referral")
    assert app.id in listed(session)
    fold(session)
    assert app.id in {r[0] for r in fact_rows(session)}
    session.execute(delete(StageChange).where(StageChange.application_id == app.id))  # its history, then itself
    session.execute(delete(Application).where(Application.id == app.id))
    session.commit()
    fold(session)
    assert app.id not in {r[0] for r in fact_rows(session)}


def test_a_write_after_a_read_is_seen_by_the_next_read(session: Session, history: History, frozen_clock: Any) -> None:
    before = counts(session, history)
    assert listed(session) == set()  # the read folded the list in
    b = Builder(session, frozen_clock)
    a6 = history.apps["a6"]  # only applied
    frozen_clock.set(NOW)
    b.offer(a6, history.recruiter, sent=at(3, 25), status="sent", answered=None)  # type: ignore[arg-type]
    after = counts(session, history)
    assert after[4] == before[4] + 1  # one offer more, read at once without the worker


def test_the_worker_folds_the_list_in_on_each_pass(session: Session, history: History) -> None:
    assert listed(session)
    result = Worker(session.get_bind()).run_once(rules=False)  # type: ignore[arg-type]
    session.commit()
    assert result.facts > 0
    assert listed(session) == set()
    assert len(fact_rows(session)) == session.execute(select(func.count()).select_from(Application)).scalar()


def test_an_incremental_fold_equals_a_full_rebuild(
    session: Session, history: History, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facts, "CHUNK", 2)  # folded two applications at a time
    fold(session)
    b = Builder(session, frozen_clock)
    a1, a2, a5 = history.apps["a1"], history.apps["a2"], history.apps["a5"]
    p1, p3 = history.panel["p1"], history.panel["p3"]
    later = b.interview(a2, at(3, 26), [p1, p3])
    b.scorecard(later, p1, at(3, 27))  # p3's card still owed
    session.execute(delete(Scorecard).where(Scorecard.application_id == a1.id))
    b.move(a5, "interviewing", at(3, 28))
    session.commit()
    b.contact(session.get(Candidate, a2.candidate_id), history.recruiter, at(3, 29), "reached")
    session.commit()
    fold(session)
    incremental = all_facts(session)
    facts.refresh_facts(session, full=True)
    session.commit()
    assert all_facts(session) == incremental
    assert (
        len(incremental["applicationfact"]) == session.execute(select(func.count()).select_from(Application)).scalar()
    )
    assert incremental["interviewfact"] and incremental["scorecardfact"] and incremental["stayfact"]


def test_the_facts_do_not_go_stale_by_the_clock(session: Session, history: History, frozen_clock: Any) -> None:
    b = Builder(session, frozen_clock)
    a6 = history.apps["a6"]  # only applied
    frozen_clock.set(NOW)
    ends = NOW + timedelta(days=1)
    b.interview(a6, ends, [history.panel["p1"]])
    frozen_clock.set(NOW)
    before = counts(session, history)
    frozen_clock.set(ends + timedelta(hours=1))  # no write: only the interview has ended meanwhile
    assert listed(session) == set()
    assert counts(session, history)[1] == before[1] + 1


def test_a_full_rebuild_goes_a_chunk_at_a_time_and_drops_the_facts_of_applications_gone(
    session: Session, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facts, "CHUNK", 3)
    fold(session)
    session.add(ApplicationFact(application_id=999_999))
    session.commit()
    count = facts.rebuild_facts(session.get_bind())  # type: ignore[arg-type]
    apps = session.execute(select(func.count()).select_from(Application)).scalar()
    assert count == len(fact_rows(session)) == apps
    assert 999_999 not in {r[0] for r in fact_rows(session)}
    assert listed(session) == set()


@pytest.fixture
def database_url(blank_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """manage.py pointed at a blank database through FOLLOWUP_DATABASE_URL."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", blank_database_url)
    services.platform.config.get_settings.cache_clear()
    return blank_database_url


def test_on_a_migrated_database_the_triggers_list_the_writes_and_the_command_builds_every_facts(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manage.main(["seed-demo", "--candidates", "30"]) == 0
    with Session(services.platform.db.get_engine(database_url)) as session:
        assert listed(session)  # the migration's triggers saw the seed's writes
    assert manage.main(["rebuild-metric-facts"]) == 0
    assert "metric facts of" in capsys.readouterr().out
    with Session(services.platform.db.get_engine(database_url)) as session:
        assert listed(session) == set()
        apps = session.execute(select(func.count()).select_from(Application)).scalar()
        assert len(fact_rows(session)) == apps
        built = all_facts(session)
        facts.refresh_facts(session, full=True)
        session.commit()
        assert all_facts(session) == built
