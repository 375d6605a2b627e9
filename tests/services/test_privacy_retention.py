"""Retention (issue 13, part 3) across time with a frozen clock: who falls due and when (not hired, hired, talent-pool
consent, a hold), the daily job anonymising those past their date — once a day, one person per transaction, so a
run cut short leaves each person fully anonymised or untouched and the next run finishes — the due list on admins'
My tasks, erase now, and who may do what. SQLite and PostgreSQL; the clock starts at 2026-03-02 09:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.audit import AuditLog
from models.candidate import Application, Candidate
from models.onboard import AppSetting, Offer, OfferStatus
from models.privacy import AccessRecord, ConsentRecord, PrivacyRequest
from services.mail import tasks
from services.mail.worker import JOBS
from services.pipeline import candidates
from services.platform.config import get_settings
from services.platform.errors import InvalidTransition, NotAllowed, ValidationError
from services.privacy import anonymise, retention
from tests.factories import Factory, done, onboarding_plan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


class World:
    def __init__(self, session: Session, make: Factory) -> None:
        self.session = session
        self.make = make
        self.admin = make.user("admin")
        self.recruiter = make.user("recruiter")
        self.job = make.job(actor=self.admin)

    def person(self, *, stage: str | None = "rejected", name: str = "") -> Candidate:
        """A candidate applying to the job, their application moved to `stage` now (None: left open)."""
        person = self.make.candidate(actor=self.recruiter, job=self.job, **({"name": name} if name else {}))
        if stage is not None:
            app = self.session.exec(select(Application).where(Application.candidate_id == person.id)).one()
            done(
                self.session,
                candidates.move_stage(
                    session=self.session, actor=self.recruiter, application_id=app.id, to_stage=stage, reason="x"
                ),
            )
        return person

    def fresh(self, person: Candidate) -> Candidate:
        self.session.expire_all()
        row = self.session.get(Candidate, person.id)
        assert row is not None
        return row

    def keep(self, person: Candidate) -> tuple[datetime | None, str]:
        info = retention.candidate_retention(session=self.session, actor=self.admin, candidate_id=person.id)
        return info.keep_until, info.rule

    def run(self, engine: Engine, at: datetime) -> int:
        return JOBS["retention"](engine=engine, settings=get_settings(), now=at)


@pytest.fixture
def w(session: Session, make: Factory) -> World:
    return World(session, make)


def _start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=get_settings().tz).astimezone(UTC)


# --------------------------------------------------------------------------- each person's date
def test_a_person_not_hired_is_kept_twelve_months_after_their_last_application_closed(w: World) -> None:
    person = w.person(stage="rejected")
    assert w.keep(person) == (datetime(2027, 3, 2, 9, 0, tzinfo=UTC), "not_hired")


def test_a_person_with_an_application_still_open_has_no_date(w: World) -> None:
    person = w.person(stage=None)
    assert w.keep(person) == (None, "open")


def test_a_hire_is_kept_six_months_after_the_end_of_probation(w: World, session: Session) -> None:
    plan = onboarding_plan(session, job=w.job, actor=w.admin, start_date=date(2026, 4, 1), probation_months=3)
    person_id = session.get(Application, plan.application_id).candidate_id
    keep, rule = w.keep(session.get(Candidate, person_id))
    assert rule == "hired"
    assert keep == retention.add_months(_start(plan.probation_end), 6)


def test_talent_pool_consent_keeps_the_data_until_its_end_date_and_its_withdrawal_ends_that(
    w: World, session: Session, frozen_clock: Any
) -> None:
    person = w.person(stage="withdrawn")
    session.add(
        ConsentRecord(candidate_id=person.id, purpose="talent_pool", given=True, method="form", until=date(2028, 9, 30))
    )
    session.commit()
    assert w.keep(person) == (_start(date(2028, 10, 1)), "pool")
    frozen_clock.set(T0 + timedelta(days=10))
    session.add(ConsentRecord(candidate_id=person.id, purpose="talent_pool", given=False, method="link"))
    session.commit()
    assert w.keep(person) == (datetime(2027, 3, 2, 9, 0, tzinfo=UTC), "not_hired")


def test_a_hold_pushes_the_date_back_and_is_audited_with_its_reason(w: World, session: Session) -> None:
    person = w.person()
    done(
        session,
        retention.set_hold(
            session=session, actor=w.admin, candidate_id=person.id, until=date(2027, 6, 1), reason="诉讼 litigation"
        ),
    )
    keep, rule = w.keep(person)
    assert rule == "hold" and retention.last_day(keep) == date(2027, 6, 1)
    assert w.fresh(person).keep_until == keep
    row = session.exec(select(AuditLog).where(AuditLog.action == "retention_hold")).one()
    assert (row.user_id, row.entity_id, "litigation" in row.changes) == (w.admin.id, person.id, True)
    done(session, retention.clear_hold(session=session, actor=w.admin, candidate_id=person.id))
    assert w.keep(person)[1] == "not_hired"


def test_rules_an_admin_sets_change_everyones_date(w: World, session: Session, engine: Engine) -> None:
    person = w.person()
    done(
        session,
        retention.save_rules(session=session, actor=w.admin, not_hired_months="3", hired_months=6, pool_months=24),
    )
    assert w.keep(person)[0] == datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    with Session(engine) as other:
        retention.recompute_keep_until(other)
        other.commit()
    assert w.fresh(person).keep_until == datetime(2026, 6, 2, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- the daily job
def test_the_daily_job_anonymises_those_past_their_date_and_no_one_else(w: World, engine: Engine) -> None:
    due = w.person(name="到期 Due Person")
    held = w.person(name="保留 Held Person")
    still_open = w.person(stage=None, name="进行中 Open Person")
    retention.set_hold(session=w.session, actor=w.admin, candidate_id=held.id, until=date(2027, 12, 1), reason="audit")
    w.session.commit()
    assert w.run(engine, datetime(2027, 3, 1, 9, 0, tzinfo=UTC)) == 0
    assert w.fresh(due).anonymised_at is None
    assert w.run(engine, datetime(2027, 3, 3, 9, 0, tzinfo=UTC)) == 1
    assert w.fresh(due).name == anonymise.label_for(due.id)
    assert w.fresh(held).anonymised_at is None and w.fresh(still_open).anonymised_at is None
    assert w.fresh(held).keep_until is not None and w.fresh(still_open).keep_until is None
    assert w.run(engine, datetime(2027, 12, 3, 9, 0, tzinfo=UTC)) == 1
    assert w.fresh(held).anonymised_at is not None


def test_the_job_runs_once_a_day_and_leaves_the_already_anonymised_alone(
    w: World, engine: Engine, frozen_clock: Any
) -> None:
    first = w.person()
    at = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
    assert w.run(engine, at) == 1
    anonymised_at = w.fresh(first).anonymised_at
    frozen_clock.set(at)
    second = w.person()  # stored as due, but today's run is done
    w.session.execute(
        Candidate.__table__.update()
        .where(Candidate.__table__.c.id == second.id)
        .values(keep_until=at - timedelta(days=1))
    )
    w.session.commit()
    assert w.run(engine, at + timedelta(hours=2)) == 0
    assert w.run(engine, at + timedelta(days=1)) == 0  # its date is computed afresh: not due for a year
    assert w.fresh(first).anonymised_at == anonymised_at
    info = retention.candidate_retention(session=w.session, actor=w.admin, candidate_id=first.id)
    assert (info.keep_until, info.rule) == (None, "anonymised")


def test_a_run_that_fails_on_the_third_person_leaves_that_one_untouched_and_the_next_run_finishes(
    w: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [w.person(name=f"Person {i}") for i in range(5)]
    real = retention.anonymise_candidate
    third = people[2].id

    def failing(**kw: Any) -> None:
        real(**kw)  # everything written for this person so far …
        if kw["candidate_id"] == third:
            raise RuntimeError("disk full")  # … is rolled back with them

    monkeypatch.setattr(retention, "anonymise_candidate", failing)
    at = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
    assert w.run(engine, at) == 4
    assert w.fresh(people[2]).name == "Person 2" and w.fresh(people[2]).anonymised_at is None
    assert (
        w.session.exec(select(AuditLog).where(AuditLog.action == "anonymise", AuditLog.entity_id == third)).all() == []
    )
    assert w.session.get(AppSetting, retention.LAST_RUN) is None  # not finished: the next pass runs again
    monkeypatch.setattr(retention, "anonymise_candidate", real)
    assert w.run(engine, at + timedelta(minutes=1)) == 1
    assert all(w.fresh(p).anonymised_at is not None for p in people)


def test_a_run_killed_halfway_leaves_each_person_done_or_untouched(
    w: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [w.person(name=f"Person {i}") for i in range(4)]
    real = retention.anonymise_candidate
    calls: list[int] = []

    def killed(**kw: Any) -> None:
        calls.append(kw["candidate_id"])
        real(**kw)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker stopped mid-person: not caught, the transaction is not committed

    monkeypatch.setattr(retention, "anonymise_candidate", killed)
    at = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
    with pytest.raises(KeyboardInterrupt):
        w.run(engine, at)
    states = [w.fresh(p).anonymised_at is not None for p in people]
    assert states == [True, False, False, False]
    assert [w.fresh(p).name for p in people[1:]] == ["Person 1", "Person 2", "Person 3"]
    monkeypatch.setattr(retention, "anonymise_candidate", real)
    assert w.run(engine, at) == 3
    assert all(w.fresh(p).anonymised_at is not None for p in people)


def test_the_retention_job_is_registered_with_the_worker() -> None:
    assert JOBS["retention"] is retention.daily_retention


# --------------------------------------------------------------------------- the due list
def test_admins_see_who_falls_due_within_30_days_on_my_tasks_and_recruiters_do_not(
    w: World, session: Session, frozen_clock: Any
) -> None:
    soon = w.person(name="快到期 Soon")
    frozen_clock.set(T0 + timedelta(days=60))
    later = w.person(name="晚些 Later")
    retention.recompute_keep_until(session)
    session.commit()
    now = datetime(2027, 2, 15, 9, 0, tzinfo=UTC)
    due = retention.due_soon(session=session, actor=w.admin, now=now)
    assert [(r.candidate_id, r.rule) for r in due] == [(soon.id, "not_hired")]
    mine = [t for t in tasks.my_tasks(session=session, actor=w.admin, now=now) if t.kind == "retention_due"]
    assert [(t.params["name"], t.query) for t in mine] == [("快到期 Soon", {"id": str(soon.id)})]
    assert later.id not in [int(t.query["id"]) for t in mine]
    theirs = tasks.my_tasks(session=session, actor=w.recruiter, now=now)
    assert [t for t in theirs if t.kind == "retention_due"] == []


# --------------------------------------------------------------------------- erase now
def test_erase_now_anonymises_answers_the_erasure_request_and_hides_the_person(w: World, session: Session) -> None:
    person = w.person(stage=None, name="Erin Erase")
    session.add(
        PrivacyRequest(
            candidate_id=person.id, kind="erasure", law="gdpr", received_on=date(2026, 3, 1), due_on=date(2026, 4, 1)
        )
    )
    session.commit()
    assert candidates.search_candidates(session=session, actor=w.admin, q="erin").total == 1
    done(session, retention.erase_now(session=session, actor=w.admin, candidate_id=person.id, reason="asked by mail"))
    assert w.fresh(person).anonymised_at is not None
    request = session.exec(select(PrivacyRequest)).one()
    assert (request.answer, request.answered_by_id) == ("asked by mail", w.admin.id)
    assert candidates.search_candidates(session=session, actor=w.admin, q="erin").total == 0
    erased = session.exec(select(AccessRecord).where(AccessRecord.action == "erase")).one()
    assert (erased.candidate_id, erased.user_id) == (person.id, w.admin.id)
    with pytest.raises(InvalidTransition):
        retention.erase_now(session=session, actor=w.admin, candidate_id=person.id, reason="twice")


def test_erasing_someone_with_an_open_offer_asks_for_confirmation_first(w: World, session: Session) -> None:
    plan = onboarding_plan(session, job=w.job, actor=w.admin)
    person_id = session.get(Application, plan.application_id).candidate_id
    with pytest.raises(InvalidTransition) as err:
        retention.erase_now(session=session, actor=w.admin, candidate_id=person_id, reason="asked")
    assert err.value.key == "err.erase_needs_confirmation"
    session.rollback()
    info = retention.candidate_retention(session=session, actor=w.admin, candidate_id=person_id)
    assert (info.open_offer, info.running_plan) == (False, True)
    done(
        session,
        retention.erase_now(session=session, actor=w.admin, candidate_id=person_id, reason="asked", confirmed=True),
    )
    assert session.get(Candidate, person_id).anonymised_at is not None


def test_a_live_offer_counts_as_something_lost(w: World, session: Session) -> None:
    person = w.person(stage="offer")
    app = session.exec(select(Application).where(Application.candidate_id == person.id)).one()
    session.add(
        Offer(
            application_id=app.id,
            job_title="Engineer",
            start_date=date(2026, 5, 1),
            response_deadline=date(2026, 3, 20),
            created_by_id=w.admin.id,
            status=OfferStatus.sent,
        )
    )
    session.commit()
    assert retention.candidate_retention(session=session, actor=w.admin, candidate_id=person.id).open_offer


# --------------------------------------------------------------------------- who may, and bad input
@pytest.mark.parametrize("role", ["recruiter", "hiring_manager", "interviewer"])
def test_only_admins_erase_hold_or_set_rules(w: World, session: Session, role: str) -> None:
    person = w.person()
    other = w.make.user(role)
    for call in (
        lambda: retention.erase_now(session=session, actor=other, candidate_id=person.id, reason="x"),
        lambda: retention.set_hold(
            session=session, actor=other, candidate_id=person.id, until=date(2027, 1, 1), reason="x"
        ),
        lambda: retention.save_rules(session=session, actor=other, not_hired_months=1, hired_months=1, pool_months=1),
        lambda: retention.candidate_retention(session=session, actor=other, candidate_id=person.id),
        lambda: retention.due_soon(session=session, actor=other),
    ):
        with pytest.raises(NotAllowed):
            call()
    assert w.fresh(person).anonymised_at is None


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 1001])
def test_erasing_or_holding_without_a_usable_reason_is_refused(w: World, session: Session, reason: Any) -> None:
    person = w.person()
    with pytest.raises(ValidationError) as err:
        retention.erase_now(session=session, actor=w.admin, candidate_id=person.id, reason=reason)
    assert "reason" in err.value.fields
    with pytest.raises(ValidationError) as err:
        retention.set_hold(
            session=session, actor=w.admin, candidate_id=person.id, until=date(2027, 1, 1), reason=reason
        )
    assert "reason" in err.value.fields
    assert w.fresh(person).anonymised_at is None and w.fresh(person).hold_until is None


@pytest.mark.parametrize("until", [date(2026, 3, 2), date(2026, 3, 1), date(2020, 1, 1), None, "2027-01-01"])
def test_a_hold_must_end_after_today(w: World, session: Session, until: Any) -> None:
    person = w.person()
    with pytest.raises(ValidationError) as err:
        retention.set_hold(session=session, actor=w.admin, candidate_id=person.id, until=until, reason="because")
    assert "until" in err.value.fields


@pytest.mark.parametrize("months", [0, "0", "abc", 10000, "121", "-1", "1.5", "", None, "=1+2", "<script>"])
def test_rule_months_must_be_whole_numbers_from_1_to_120(w: World, session: Session, months: Any) -> None:
    with pytest.raises(ValidationError) as err:
        retention.save_rules(session=session, actor=w.admin, not_hired_months=months, hired_months=6, pool_months=24)
    assert err.value.fields["not_hired_months"][0] == "err.retention_months"
    session.rollback()
    assert retention.retention_rules(session=session, actor=w.admin).not_hired_months == 12


def test_hostile_text_in_a_reason_is_kept_as_typed(w: World, session: Session) -> None:
    person = w.person()
    hostile = "=1+2 <script>alert(1)</script> ![x](/session/end)"
    done(
        session,
        retention.set_hold(
            session=session, actor=w.admin, candidate_id=person.id, until=date(2027, 1, 1), reason=hostile
        ),
    )
    assert w.fresh(person).hold_reason == hostile


def test_months_at_the_edges_are_accepted(w: World, session: Session) -> None:
    rules = retention.save_rules(
        session=session, actor=w.admin, not_hired_months="1", hired_months=" 120 ", pool_months=24
    )
    assert (rules.not_hired_months, rules.hired_months, rules.pool_months) == (1, 120, 24)


def test_add_months_keeps_the_day_or_the_months_last_day() -> None:
    assert retention.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert retention.add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)


def test_a_backlog_is_worked_off_a_batch_per_pass_and_the_day_is_done_once_nobody_is_left(
    w: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [w.person(name=f"Person {i}") for i in range(3)]
    monkeypatch.setattr(retention, "MAX_PER_PASS", 2)
    at = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
    assert w.run(engine, at) == 2
    assert w.session.get(AppSetting, retention.LAST_RUN) is None
    assert w.run(engine, at + timedelta(seconds=5)) == 1
    w.session.expire_all()
    assert w.session.get(AppSetting, retention.LAST_RUN).value == "2027-03-03"
    assert all(w.fresh(p).anonymised_at is not None for p in people)
    assert w.run(engine, at + timedelta(seconds=10)) == 0


def test_the_same_hold_saved_twice_changes_and_audits_nothing_more(w: World, session: Session) -> None:
    person = w.person()
    for _ in range(2):  # a double click on "save", or the same form from a second tab
        done(
            session,
            retention.set_hold(
                session=session, actor=w.admin, candidate_id=person.id, until=date(2027, 6, 1), reason="litigation"
            ),
        )
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "retention_hold")).all()) == 1
    done(  # a changed reason is a change: audited
        session,
        retention.set_hold(
            session=session, actor=w.admin, candidate_id=person.id, until=date(2027, 6, 1), reason="litigation, appeal"
        ),
    )
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "retention_hold")).all()) == 2
    assert w.fresh(person).hold_reason == "litigation, appeal"
