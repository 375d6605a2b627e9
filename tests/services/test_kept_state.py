"""State kept on the rows it describes (issue 9): `candidate.heard_at` (when word from us last reached the person)
and `interviewpanelist.settled_at` (when that seat stopped owing a scorecard: submitted, or the interview
cancelled or a no-show). The board, My tasks, the interviewer's
list and the reminder rules read these instead of searching contacts, mail and scorecards for every row, so every
path that writes a contact, sends a mail or submits a scorecard must keep them — and migration 0011 must derive
the same values from what an older database holds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from alembic import command
from sqlalchemy import func, text
from sqlmodel import Session, col, select

import services.platform.db
from models.candidate import Application, Candidate
from models.evaluation import Interview, InterviewPanelist, InterviewStatus, Scorecard, ScorecardStatus
from models.followup import Contact
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.evaluate import evaluation
from services.evaluate.evaluation import ScheduleConflict
from services.follow_up import followup
from services.mail import tasks
from services.mail.mailer import send_due
from services.pipeline import candidates
from services.platform.config import get_settings
from services.platform.db import alembic_config, migrate, session_scope
from services.platform.demo import seed_demo
from services.platform.errors import Conflict, InvalidTransition, ValidationError
from tests.factories import action, done
from tests.services.mail_server import configure_mail, running_server
from tests.services.test_evaluation import DAY, T0, card, interview_with_panel, schedule, submit
from tests.services.test_followup import END, HOUR, contact, interviewed, sent_mail


def heard_at(session: Session, candidate_id: int) -> object:
    session.expire_all()
    return session.get(Candidate, candidate_id).heard_at


def seat_settled(session: Session, interview_id: int, user_id: int) -> object:
    session.expire_all()
    return session.exec(
        select(InterviewPanelist.settled_at).where(
            InterviewPanelist.interview_id == interview_id, InterviewPanelist.user_id == user_id
        )
    ).one()


# --------------------------------------------------------------------------- heard_at
def test_a_contact_that_reached_the_candidate_moves_heard_at_and_one_that_did_not_leaves_it(
    session, make, frozen_clock
) -> None:
    s = interviewed(make)
    assert heard_at(session, s.candidate.id) is None
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, outcome="no_answer")
    contact(session, s.recruiter, s, outcome="left_message")
    assert heard_at(session, s.candidate.id) is None
    frozen_clock.set(END + 2 * HOUR)
    contact(session, s.recruiter, s, outcome="reached")
    assert heard_at(session, s.candidate.id) == END + 2 * HOUR
    frozen_clock.set(END + 3 * HOUR)
    contact(session, s.recruiter, s, outcome="replied")
    assert heard_at(session, s.candidate.id) == END + 3 * HOUR
    contact(session, s.recruiter, s, outcome="no_answer")  # a later miss does not undo what reached them
    assert heard_at(session, s.candidate.id) == END + 3 * HOUR


def test_heard_at_does_not_touch_the_candidates_version_so_an_open_edit_form_still_saves(
    session, make, frozen_clock
) -> None:
    s = interviewed(make)
    version = session.get(Candidate, s.candidate.id).version
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, outcome="reached")
    session.expire_all()
    fresh = session.get(Candidate, s.candidate.id)
    assert fresh.version == version
    saved = candidates.update_candidate(
        session=session,
        actor=s.recruiter,
        candidate_id=s.candidate.id,
        candidate_in={
            "name": "改过的名字",
            "email": fresh.email,
            "phone": fresh.phone,
            "source": fresh.source,
            "version": version,
        },
    )
    assert saved.name == "改过的名字" and heard_at(session, s.candidate.id) == END + HOUR


def test_a_mail_marked_sent_by_the_worker_moves_heard_at_and_a_failed_one_does_not(
    engine, session, make, frozen_clock, monkeypatch
) -> None:
    delivered, refused = interviewed(make), interviewed(make, email="nobody@refused.example.com")
    frozen_clock.set(END + HOUR)
    with running_server() as smtp:
        smtp.handler.refused = {"nobody@refused.example.com"}  # a permanent 550: the mail fails
        settings = configure_mail(monkeypatch, smtp.port)
        sent_mail(session, delivered.recruiter, delivered)
        sent_mail(session, refused.recruiter, refused)
        send_due(engine=engine, settings=settings)
    session.expire_all()
    statuses = {
        m.candidate_id: m.status
        for m in session.exec(
            select(OutboxMessage).where(OutboxMessage.candidate_id.in_([delivered.candidate.id, refused.candidate.id]))
        )
    }
    assert statuses == {delivered.candidate.id: MailStatus.sent, refused.candidate.id: MailStatus.failed}
    sent_at = session.exec(
        select(OutboxMessage.sent_at).where(OutboxMessage.candidate_id == delivered.candidate.id)
    ).one()
    assert heard_at(session, delivered.candidate.id) == sent_at == END + HOUR
    assert heard_at(session, refused.candidate.id) is None


def test_a_mail_sent_before_a_later_contact_does_not_move_heard_at_back(
    engine, session, make, frozen_clock, monkeypatch
) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    with running_server() as smtp:
        settings = configure_mail(monkeypatch, smtp.port)
        sent_mail(session, s.recruiter, s)  # queued now, sent below
        frozen_clock.set(END + 3 * HOUR)
        contact(session, s.recruiter, s, outcome="reached")
        frozen_clock.set(END + 2 * HOUR)  # the worker's clock behind the contact's (another server's clock)
        assert send_due(engine=engine, settings=settings).sent >= 1
    assert heard_at(session, s.candidate.id) == END + 3 * HOUR


# --------------------------------------------------------------------------- a seat's settled_at
def test_submitting_marks_the_seat_and_a_draft_or_a_colleagues_card_does_not(session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=2)
    first, second = s.panel
    draft = evaluation.save_scorecard(
        session=session,
        actor=first,
        interview_id=s.interview.id,
        scorecard_in=card(s.criteria, [3] + [None] * (len(s.criteria) - 1), None),
    )
    assert seat_settled(session, s.interview.id, first.id) is None
    submitted = submit(session, first, s, [4] * len(s.criteria), version=draft.version)
    assert seat_settled(session, s.interview.id, first.id) == submitted.submitted_at is not None
    assert seat_settled(session, s.interview.id, second.id) is None


def test_a_double_submit_and_a_revision_after_submit_keep_the_first_submission_time(
    session, make, frozen_clock
) -> None:
    s = interview_with_panel(make, panel=1)
    [who] = s.panel
    first = submit(session, who, s, [4] * len(s.criteria))
    when = seat_settled(session, s.interview.id, who.id)
    submit(session, who, s, [4] * len(s.criteria), version=first.version)  # the second click of a double click
    frozen_clock.set(T0 + HOUR)
    evaluation.save_scorecard(
        session=session,
        actor=who,
        interview_id=s.interview.id,
        version=first.version,
        scorecard_in=card(s.criteria, [2] * len(s.criteria), "no"),
        submit=True,
        change_reason="看错了候选人",
    )
    assert seat_settled(session, s.interview.id, who.id) == when


@pytest.mark.parametrize("status", [InterviewStatus.cancelled, InterviewStatus.no_show])
def test_a_cancelled_interview_or_a_no_show_settles_every_seat_but_keeps_a_submitted_cards_time(
    session, make, frozen_clock, status
) -> None:
    s = interview_with_panel(make, panel=2)
    first, second = s.panel
    submit(session, first, s, [4] * len(s.criteria))
    submitted_at = seat_settled(session, s.interview.id, first.id)
    frozen_clock.set(T0 + HOUR)
    evaluation.set_interview_status(session=session, actor=s.recruiter, interview_id=s.interview.id, status=status)
    assert seat_settled(session, s.interview.id, first.id) == submitted_at
    assert seat_settled(session, s.interview.id, second.id) == T0 + HOUR


def test_a_failed_submission_leaves_the_seat_owed(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    [who] = s.panel
    with pytest.raises(ValidationError):
        submit(session, who, s, [None] * len(s.criteria))  # ratings missing: refused
    session.rollback()
    assert seat_settled(session, s.interview.id, who.id) is None


# --------------------------------------------------------------------------- migration 0011 derives the same
def kept_values(engine) -> tuple[list, list, list, list]:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT id, heard_at FROM candidate ORDER BY id")).all(),
            conn.execute(text("SELECT id, settled_at, ends_at FROM interviewpanelist ORDER BY id")).all(),
            conn.execute(
                text(
                    "SELECT id, last_interview_end, previous_interview_end, previous_end_unheard "
                    "FROM application ORDER BY id"
                )
            ).all(),
            conn.execute(text("SELECT id, last_end_unheard, owner_id FROM application ORDER BY id")).all(),
        )


def test_migrations_0011_to_0015_fill_the_kept_state_as_the_app_keeps_it(blank_database_url) -> None:
    """A demo history (contacts of every outcome, sent and failed mail, drafts and submitted scorecards,
    interviews held, to come, cancelled and missed) kept by the app's own rules; downgraded to 0010 (the columns
    dropped) and upgraded, the migrations must derive the very same values."""
    migrate(blank_database_url)
    engine = services.platform.db.get_engine(blank_database_url)
    with session_scope(engine) as session:
        seed_demo(session=session, candidates=150, seed=5)
    kept = kept_values(engine)
    assert any(at for _, at in kept[0]) and any(at is None for _, at in kept[0])
    assert any(at for _, at, _end in kept[1]) and any(at is None for _, at, _end in kept[1])
    assert any(at for _, at, *_ in kept[2]) and any(at is None for _, at, *_ in kept[2])
    assert any(previous for _, _at, previous, _unheard in kept[2])  # two interviews or more still on
    assert any(unheard for *_, unheard in kept[2])
    assert any(previous and not unheard for _, _at, previous, unheard in kept[2])  # heard since the one before
    assert any(at for _, at, _owner in kept[3])
    assert len([a for _, a, _owner in kept[3] if a]) < len([a for _, a, *_ in kept[2] if a])
    assert all(owner for _, _at, owner in kept[3])  # every demo candidate has an owner, kept on each application
    cfg = alembic_config(blank_database_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert kept_values(engine) == kept


def test_the_demo_keeps_the_state_as_the_app_does(session) -> None:
    """seed-demo writes rows directly: its heard_at and seat marks follow the same definitions."""
    seed_demo(session=session, candidates=120, seed=11)
    for cand in session.exec(select(Candidate)):
        contacts = session.exec(
            select(Contact.at).where(Contact.candidate_id == cand.id, Contact.outcome.in_(["reached", "replied"]))
        ).all()
        mails = session.exec(
            select(OutboxMessage.sent_at).where(
                OutboxMessage.candidate_id == cand.id, OutboxMessage.status == MailStatus.sent
            )
        ).all()
        assert cand.heard_at == max([*contacts, *mails], default=None), cand.id
    owed = {(p.interview_id, p.user_id) for p in session.exec(select(InterviewPanelist)) if p.settled_at is None}
    submitted = {
        (c.interview_id, c.interviewer_id)
        for c in session.exec(select(Scorecard).where(Scorecard.status == ScorecardStatus.submitted))
    }
    seats = {
        (p.interview_id, p.user_id)
        for p, status in session.exec(
            select(InterviewPanelist, Interview.status).join(Interview, Interview.id == InterviewPanelist.interview_id)
        )
        if status == InterviewStatus.scheduled
    }
    assert submitted and seats - submitted
    assert owed == seats - submitted
    ends = dict(session.exec(select(Interview.id, Interview.ends_at)).all())
    assert all(p.ends_at == ends[p.interview_id] for p in session.exec(select(InterviewPanelist)))
    for app in session.exec(select(Application)):
        assert app.last_interview_end == computed_end(session, app.id or 0), app.id
        assert app.previous_interview_end == computed_previous(session, app.id or 0), app.id
        assert app.previous_end_unheard == computed_previous_unheard(session, app.id or 0), app.id
        assert app.last_end_unheard == computed_unheard(session, app.id or 0), app.id
        assert app.owner_id == session.get(Candidate, app.candidate_id).owner_id, app.id


# --------------------------------------------------------------------------- last_interview_end
def last_end(session: Session, application_id: int) -> object:
    session.expire_all()
    return session.get(Application, application_id).last_interview_end


def computed_end(session: Session, application_id: int) -> object:
    """What `application.last_interview_end` must hold: the end of its last interview still on."""
    return session.exec(
        select(func.max(Interview.ends_at)).where(
            Interview.application_id == application_id, Interview.status == InterviewStatus.scheduled
        )
    ).one()


def previous_end(session: Session, application_id: int) -> object:
    session.expire_all()
    return session.get(Application, application_id).previous_interview_end


def computed_previous(session: Session, application_id: int) -> object:
    """What `application.previous_interview_end` must hold: the end of its interview still on that ends last but
    one."""
    return session.exec(
        select(Interview.ends_at)
        .where(Interview.application_id == application_id, Interview.status == InterviewStatus.scheduled)
        .order_by(col(Interview.ends_at).desc())
        .offset(1)
        .limit(1)
    ).first()


def computed_previous_unheard(session: Session, application_id: int) -> object:
    """What `application.previous_end_unheard` must hold: the end before the last, while the candidate has heard
    nothing from us since."""
    end = computed_previous(session, application_id)
    heard = session.get(Candidate, session.get(Application, application_id).candidate_id).heard_at
    return end if end is not None and (heard is None or heard < end) else None


def previous_unheard(session: Session, application_id: int) -> object:
    session.expire_all()
    return session.get(Application, application_id).previous_end_unheard


def unheard(session: Session, application_id: int) -> object:
    session.expire_all()
    return session.get(Application, application_id).last_end_unheard


def computed_unheard(session: Session, application_id: int) -> object:
    """What `application.last_end_unheard` must hold: the last interview's end, while the candidate has heard
    nothing from us since."""
    end = computed_end(session, application_id)
    app = session.get(Application, application_id)
    heard = session.get(Candidate, app.candidate_id).heard_at
    return end if end is not None and (heard is None or heard < end) else None


def panel_data(s, **changes) -> dict:
    return {
        "round_id": s.interview.round_id,
        "starts_at": T0 + DAY,
        "ends_at": T0 + DAY + HOUR,
        "interviewer_ids": [p.id for p in s.panel],
    } | changes


def test_scheduling_moving_cancelling_and_a_no_show_keep_the_last_interview_end(session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=1)  # 06:00–07:00, before T0
    app = s.application.id
    assert (last_end(session, app), previous_end(session, app)) == (T0 - 2 * HOUR, None)
    later = schedule(session, s.recruiter, s)  # tomorrow: the last is one to come
    assert (last_end(session, app), previous_end(session, app)) == (T0 + DAY + HOUR, T0 - 2 * HOUR)
    assert schedule(session, s.recruiter, s).id == later.id  # a double submit schedules it once
    assert (last_end(session, app), previous_end(session, app)) == (T0 + DAY + HOUR, T0 - 2 * HOUR)
    third = schedule(session, s.recruiter, s, starts_at=T0 + 4 * DAY, ends_at=T0 + 4 * DAY + HOUR)
    assert (last_end(session, app), previous_end(session, app)) == (T0 + 4 * DAY + HOUR, T0 + DAY + HOUR)
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=third.id, status=InterviewStatus.cancelled
    )
    moved = evaluation.reschedule_interview(
        session=session,
        actor=s.recruiter,
        interview_id=later.id,
        version=later.version,
        interview_in=panel_data(s, starts_at=T0 - 5 * HOUR, ends_at=T0 - 4 * HOUR),
    )
    # moved before the first: the stored ends follow it, the first one now the last
    assert (last_end(session, app), previous_end(session, app)) == (T0 - 2 * HOUR, T0 - 4 * HOUR)
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=moved.id, status=InterviewStatus.cancelled
    )
    assert (last_end(session, app), previous_end(session, app)) == (T0 - 2 * HOUR, None)  # one on again
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=s.interview.id, status=InterviewStatus.no_show
    )
    assert (last_end(session, app), previous_end(session, app)) == (None, None)


def test_a_refused_schedule_or_a_stale_move_leaves_the_last_interview_end(session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=1)
    app = s.application.id
    with pytest.raises(ScheduleConflict):  # the same panel at the same time
        schedule(
            session, s.recruiter, s, starts_at=s.interview.starts_at + HOUR / 2, ends_at=s.interview.ends_at + HOUR / 2
        )
    session.rollback()
    assert last_end(session, app) == computed_end(session, app) == T0 - 2 * HOUR
    with pytest.raises(Conflict):  # someone moved it meanwhile
        evaluation.reschedule_interview(
            session=session,
            actor=s.recruiter,
            interview_id=s.interview.id,
            version=s.interview.version + 5,
            interview_in=panel_data(s),
        )
    session.rollback()
    assert last_end(session, app) == T0 - 2 * HOUR
    with pytest.raises(InvalidTransition):  # back to scheduled is not a change of status this path makes
        evaluation.set_interview_status(
            session=session, actor=s.recruiter, interview_id=s.interview.id, status=InterviewStatus.scheduled
        )
    session.rollback()
    assert last_end(session, app) == T0 - 2 * HOUR


def test_the_clock_runs_from_the_last_held_interview_while_the_next_is_still_to_come(
    session, make, frozen_clock
) -> None:
    s = interviewed(make)  # held T0–END
    frozen_clock.set(END + HOUR)
    rnd = evaluation.list_rounds(session=session, actor=s.recruiter)[0]
    evaluation.schedule_interview(
        session=session,
        actor=s.recruiter,
        interview_in={
            "application_id": s.application.id,
            "round_id": rnd.id,
            "starts_at": END + 3 * DAY,
            "ends_at": END + 3 * DAY + HOUR,
            "interviewer_ids": [p.id for p in s.panel],
        },
    )
    assert last_end(session, s.application.id) == END + 3 * DAY + HOUR
    [row] = followup.follow_up_board(session=session, actor=s.recruiter, now=END + HOUR)
    assert (row.clock_running, row.interview_ended) == (True, END)
    [row] = followup.follow_up_board(session=session, actor=s.recruiter, now=END + 3 * DAY + 2 * HOUR)
    assert (row.clock_running, row.interview_ended) == (True, END + 3 * DAY + HOUR)


def test_with_two_interviews_booked_ahead_the_clock_runs_from_the_one_held_before_them(
    session, make, frozen_clock
) -> None:
    """The last but one still to come as well: the held interview is looked up among the application's own."""
    s = interviewed(make)  # held T0–END
    frozen_clock.set(END + HOUR)
    rnd = evaluation.list_rounds(session=session, actor=s.recruiter)[0]
    for days in (2, 3):
        evaluation.schedule_interview(
            session=session,
            actor=s.recruiter,
            interview_in={
                "application_id": s.application.id,
                "round_id": rnd.id,
                "starts_at": END + days * DAY,
                "ends_at": END + days * DAY + HOUR,
                "interviewer_ids": [p.id for p in s.panel],
            },
        )
    assert previous_end(session, s.application.id) == END + 2 * DAY + HOUR
    [row] = followup.follow_up_board(session=session, actor=s.recruiter, now=END + HOUR)
    assert (row.clock_running, row.interview_ended) == (True, END)
    [task] = [t for t in tasks.my_tasks(session=session, actor=s.recruiter, now=END + HOUR) if t.kind == "feedback_due"]
    assert task.due_at == END + timedelta(hours=get_settings().feedback_hours)
    [row] = followup.follow_up_board(session=session, actor=s.recruiter, now=END + 2 * DAY + 2 * HOUR)
    assert (row.clock_running, row.interview_ended) == (True, END + 2 * DAY + HOUR)  # the kept one, passed


def test_two_people_scheduling_one_applications_interviews_at_once_keep_the_later_end(engine, session, make) -> None:
    s = interview_with_panel(make, panel=2)
    session.commit()
    start = Barrier(2)
    ends = [T0 + 5 * DAY + HOUR, T0 + 2 * DAY + HOUR]

    def book(n: int) -> None:
        with action(engine) as own:
            actor = own.get(User, s.recruiter.id)
            start.wait()
            evaluation.schedule_interview(
                session=own,
                actor=actor,
                interview_in=panel_data(
                    s,
                    application_id=s.application.id,
                    starts_at=ends[n] - HOUR,
                    ends_at=ends[n],
                    interviewer_ids=[s.panel[n].id],
                ),
            )

    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(book, 0), pool.submit(book, 1)]:
            f.result()
    assert last_end(session, s.application.id) == computed_end(session, s.application.id) == ends[0]


# --------------------------------------------------------------------------- last_end_unheard
def test_word_reaching_the_candidate_clears_the_unheard_end_and_a_new_interview_sets_it_again(
    session, make, frozen_clock
) -> None:
    s = interviewed(make)  # held T0–END
    app = s.application.id
    assert unheard(session, app) == END
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, outcome="no_answer")  # nobody reached: still unheard
    assert unheard(session, app) == END
    contact(session, s.recruiter, s, outcome="reached")
    assert unheard(session, app) is None
    rnd = evaluation.list_rounds(session=session, actor=s.recruiter)[0]
    later = evaluation.schedule_interview(
        session=session,
        actor=s.recruiter,
        interview_in={
            "application_id": app,
            "round_id": rnd.id,
            "starts_at": END + 3 * DAY,
            "ends_at": END + 3 * DAY + HOUR,
            "interviewer_ids": [p.id for p in s.panel],
        },
    )
    assert unheard(session, app) == END + 3 * DAY + HOUR == computed_unheard(session, app)
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=later.id, status=InterviewStatus.cancelled
    )
    assert unheard(session, app) is None  # back to the first, which the candidate has heard about since
    assert computed_unheard(session, app) is None


def test_a_mail_sent_by_the_worker_clears_the_unheard_end_and_a_failed_one_does_not(
    engine, session, make, frozen_clock, monkeypatch
) -> None:
    delivered, refused = interviewed(make), interviewed(make, email="nobody@refused.example.com")
    frozen_clock.set(END + HOUR)
    with running_server() as smtp:
        smtp.handler.refused = {"nobody@refused.example.com"}
        settings = configure_mail(monkeypatch, smtp.port)
        sent_mail(session, delivered.recruiter, delivered)
        sent_mail(session, refused.recruiter, refused)
        send_due(engine=engine, settings=settings)
    assert unheard(session, delivered.application.id) is None
    assert unheard(session, refused.application.id) == END


def test_the_unheard_end_is_kept_for_every_application_of_the_candidate(session, make, frozen_clock) -> None:
    """Word reaching the person counts for each of their applications whose last interview ended before it."""
    s = interviewed(make)
    other_job = make.job(actor=s.recruiter)
    other = make.application(candidate=s.candidate, job=other_job, actor=s.recruiter)
    rnd = evaluation.list_rounds(session=session, actor=s.recruiter)[0]
    evaluation.schedule_interview(
        session=session,
        actor=s.recruiter,
        interview_in={
            "application_id": other.id,
            "round_id": rnd.id,
            "starts_at": END + DAY,
            "ends_at": END + DAY + HOUR,
            "interviewer_ids": [p.id for p in s.panel],
        },
    )
    frozen_clock.set(END + 2 * HOUR)
    contact(session, s.recruiter, s, outcome="replied")
    assert unheard(session, s.application.id) is None  # ended before the reply
    assert unheard(session, other.id) == END + DAY + HOUR  # ends after it: still owed word once it is held
    for app_id in (s.application.id, other.id):
        assert unheard(session, app_id) == computed_unheard(session, app_id)


def test_the_previous_end_stays_unheard_until_word_reaches_the_candidate_and_the_clock_follows_it(
    engine, session, make, frozen_clock, monkeypatch
) -> None:
    """Held T0–END, the next one booked ahead: the held one is kept as the previous end, unheard; a call that did
    not reach them leaves it (the clock runs), a mail the worker sends clears it (the clock stops), and a new
    interview booked ahead again keeps the previous end heard."""
    s = interviewed(make)
    app = s.application.id
    frozen_clock.set(END + HOUR)
    rnd = evaluation.list_rounds(session=session, actor=s.recruiter)[0]
    ahead = evaluation.schedule_interview(
        session=session,
        actor=s.recruiter,
        interview_in={
            "application_id": app,
            "round_id": rnd.id,
            "starts_at": END + 3 * DAY,
            "ends_at": END + 3 * DAY + HOUR,
            "interviewer_ids": [p.id for p in s.panel],
        },
    )
    assert (previous_end(session, app), previous_unheard(session, app), unheard(session, app)) == (
        END,
        END,
        END + 3 * DAY + HOUR,
    )
    contact(session, s.recruiter, s, outcome="no_answer")
    assert previous_unheard(session, app) == END
    assert followup.board_counts(session=session, actor=s.recruiter) == (1, 0)
    with running_server() as smtp:
        settings = configure_mail(monkeypatch, smtp.port)
        sent_mail(session, s.recruiter, s)
        send_due(engine=engine, settings=settings)
    assert previous_unheard(session, app) is None == computed_previous_unheard(session, app)
    assert unheard(session, app) == END + 3 * DAY + HOUR  # the one to come: word about it is still owed
    assert followup.board_counts(session=session, actor=s.recruiter) == (0, 1)
    evaluation.schedule_interview(
        session=session,
        actor=s.recruiter,
        interview_in={
            "application_id": app,
            "round_id": rnd.id,
            "starts_at": END + 5 * DAY,
            "ends_at": END + 5 * DAY + HOUR,
            "interviewer_ids": [p.id for p in s.panel],
        },
    )
    assert (previous_end(session, app), previous_unheard(session, app)) == (ahead.ends_at, ahead.ends_at)
    assert previous_unheard(session, app) == computed_previous_unheard(session, app)


# --------------------------------------------------------------------------- a seat's kept interview end
def seat_ends(session: Session, interview_id: int) -> dict[int, object]:
    session.expire_all()
    return dict(
        session.exec(
            select(InterviewPanelist.user_id, InterviewPanelist.ends_at).where(
                InterviewPanelist.interview_id == interview_id
            )
        ).all()
    )


def test_every_seat_keeps_its_interviews_end_when_it_is_scheduled_and_moved(session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=2)
    later = schedule(session, s.recruiter, s)  # tomorrow, the same panel
    assert set(seat_ends(session, later.id).values()) == {later.ends_at}
    newcomer = make.user("interviewer")
    first_version = later.version
    moved = done(
        session,
        evaluation.reschedule_interview(
            session=session,
            actor=s.recruiter,
            interview_id=later.id,
            version=first_version,
            interview_in=panel_data(
                s, starts_at=T0 + 2 * DAY, ends_at=T0 + 2 * DAY + HOUR, interviewer_ids=[s.panel[0].id, newcomer.id]
            ),
        ),
    )
    assert seat_ends(session, moved.id) == {s.panel[0].id: T0 + 2 * DAY + HOUR, newcomer.id: T0 + 2 * DAY + HOUR}
    with pytest.raises(Conflict):  # a stale move changes no seat
        evaluation.reschedule_interview(
            session=session, actor=s.recruiter, interview_id=moved.id, version=first_version, interview_in=panel_data(s)
        )
    session.rollback()
    assert set(seat_ends(session, moved.id).values()) == {T0 + 2 * DAY + HOUR}


def test_the_owed_scorecards_of_a_window_follow_an_interview_moved_into_or_out_of_it(
    session, make, frozen_clock
) -> None:
    """My tasks' scorecards owed more than 48 hours read the seats by their kept end: moving the interview moves
    the seat in or out of the window."""
    from services.mail.tasks import my_tasks

    s = interview_with_panel(make, panel=1)  # ended at T0 - 2h
    [who] = s.panel
    frozen_clock.set(T0 + 3 * DAY)
    owed = [t for t in my_tasks(session=session, actor=s.recruiter) if t.kind == "scorecard_overdue"]
    assert [t.query for t in owed] == [{"application": str(s.application.id)}]
    mine = [t for t in my_tasks(session=session, actor=who) if t.kind == "scorecard_pending"]
    assert [t.query for t in mine] == [{"interview": str(s.interview.id)}]
    evaluation.reschedule_interview(
        session=session,
        actor=s.recruiter,
        interview_id=s.interview.id,
        version=s.interview.version,
        interview_in=panel_data(s, starts_at=T0 + 2 * DAY, ends_at=T0 + 2 * DAY + HOUR),
    )
    assert not [t for t in my_tasks(session=session, actor=s.recruiter) if t.kind == "scorecard_overdue"]
    assert [t.due_at for t in my_tasks(session=session, actor=who) if t.kind == "scorecard_pending"] == [
        T0 + 2 * DAY + 2 * HOUR
    ]


def test_the_interviewers_list_names_the_whole_panel_and_counts_the_cards_whatever_the_names_hold(
    session, make, frozen_clock
) -> None:
    """The list reads each interview's panel, cards and the reader's own card per interview: names with commas,
    markup and separators come back whole, and an interview's state follows its cards."""
    odd = [make.user("interviewer", name="王, 小明"), make.user("interviewer", name="<b>Ann</b>\x1fB, Jr.")]
    s = interview_with_panel(make, panel=odd)  # ended before T0
    frozen_clock.set(T0)
    [row] = evaluation.my_interviews(session=session, actor=odd[0]).awaiting
    assert row.panel == sorted(["王, 小明", "<b>Ann</b>\x1fB, Jr."])
    assert (row.state, row.my_status) == ("awaiting_scorecards", None)
    draft = evaluation.save_scorecard(
        session=session,
        actor=odd[0],
        interview_id=s.interview.id,
        version=None,
        scorecard_in=card(s.criteria, [4] * len(s.criteria)),
        submit=False,
    )
    [row] = evaluation.my_interviews(session=session, actor=odd[0]).awaiting
    assert row.my_status == "draft"
    submit(session, odd[0], s, [4] * len(s.criteria), version=draft.version)
    assert evaluation.my_interviews(session=session, actor=odd[0]).awaiting == []
    [row] = evaluation.my_interviews(session=session, actor=odd[1]).awaiting
    assert row.state == "awaiting_scorecards"  # one of two cards in
    submit(session, odd[1], s, [3] * len(s.criteria))
    [row] = evaluation.list_interviews(session=session, actor=s.recruiter, start=T0 - DAY, end=T0 + DAY)
    assert row.state == "completed"


# --------------------------------------------------------------------------- application.owner_id
def owners(session: Session, candidate_id: int) -> set[object]:
    session.expire_all()
    return set(session.exec(select(Application.owner_id).where(Application.candidate_id == candidate_id)).all())


def test_every_application_keeps_its_candidates_owner_through_a_handover(session, make, frozen_clock) -> None:
    """The board and My tasks read one recruiter's applications by the owner kept on them: a new application takes
    the candidate's owner, a handover moves every application's, and a save refused as stale moves none."""
    from tests.services.test_candidates import form

    first, second = make.user("recruiter"), make.user("recruiter")
    admin = make.user("admin")
    frozen_clock.set(T0 - DAY)
    s = interviewed(make, recruiter=first, starts=T0 - DAY)  # the clock runs from T0 - DAY + 1 h
    other_job = make.job(actor=first)
    candidates.add_application(session=session, actor=first, candidate_id=s.candidate.id, job_id=other_job.id)
    assert owners(session, s.candidate.id) == {first.id}
    frozen_clock.set(T0)

    def on_board(user: User) -> set[int]:
        return {r.application_id for r in followup.follow_up_board(session=session, actor=user)}

    def feedback_tasks(user: User) -> list[str]:
        from services.mail import tasks

        return [
            t.query.get("application", "")
            for t in tasks.my_tasks(session=session, actor=user)
            if t.kind == "feedback_due"
        ]

    assert s.application.id in on_board(first) and not on_board(second)
    assert feedback_tasks(first) == [str(s.application.id)] and feedback_tasks(second) == []
    session.expire_all()
    cand = session.get(Candidate, s.candidate.id)
    stale = form(cand, owner_id=second.id)
    candidates.update_candidate(
        session=session, actor=admin, candidate_id=cand.id, candidate_in=form(cand, owner_id=second.id)
    )
    assert owners(session, cand.id) == {second.id}
    assert not on_board(first) and s.application.id in on_board(second)
    assert feedback_tasks(first) == [] and feedback_tasks(second) == [str(s.application.id)]
    # The same form saved again (a second tab, a double submit): refused as stale, and nothing moves.
    with pytest.raises(Conflict):
        candidates.update_candidate(
            session=session, actor=admin, candidate_id=cand.id, candidate_in=stale | {"owner_id": first.id}
        )
    assert owners(session, cand.id) == {second.id}
    # An admin's board filtered by owner follows it too.
    assert {r.application_id for r in followup.follow_up_board(session=session, actor=admin, owner_id=second.id)} >= {
        s.application.id
    }
    assert not followup.follow_up_board(session=session, actor=admin, owner_id=first.id)
