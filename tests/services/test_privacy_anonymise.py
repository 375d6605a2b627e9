"""Anonymise means no trace (issue 13, part 4): one person is written into every place the app holds text, through
the services people use; after anonymisation no text, varchar or binary column of any table in the database — read
from the database itself, so a table added later is scanned too — nor any file in the data folder holds their
name, email, phone (as typed or its digits) or WeChat ID, in any case. Every metric counts the same before and
after. SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import LargeBinary, MetaData, String, Text, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from models.audit import AuditLog
from models.candidate import Application, Candidate
from models.common import utcnow
from models.evaluation import Scorecard
from models.followup import PoolEntry
from models.mail import MailStatus, OutboxMessage
from models.onboard import CheckIn, Material, OnboardingPlan
from models.privacy import ConsentRecord, PrivacyRequest
from models.user import User
from services.evaluate import evaluation
from services.follow_up import followup
from services.mail import outbox
from services.mail.reminders import run_reminders
from services.metrics import (
    calibration,
    experience,
    funnel,
    offer_metrics,
    quality,
    selection,
    sources,
    speed,
)
from services.metrics.facts import refresh_facts
from services.metrics.filters import MetricFilter
from services.onboard import offers, plans, training, welcome
from services.pipeline import candidates
from services.platform import config
from services.privacy import retention
from services.privacy.anonymise import anonymise_candidate, label_for
from tests.factories import Factory, done

NAME = "Zyxwa Qorbanov 祁欧班"
EMAIL = "zyxwa.qorbanov@example.org"
PHONE = "+86 139-8765-4321"
DIGITS = "13987654321"
WECHAT = "qorbanov_wx77"
VALUES = (NAME, "Qorbanov", "祁欧班", EMAIL, PHONE, DIGITS, WECHAT)
SAID = f"{NAME} ({EMAIL}, {PHONE}, WeChat {WECHAT})"  # what people write about them
TODAY = date(2026, 3, 2)
START = date(2026, 4, 1)


@dataclass
class Person:
    candidate_id: int
    admin: User
    recruiter: User
    manager: User
    panelist: User
    applications: list[int]


def _offer_form(application_id: int, **values: Any) -> dict[str, Any]:
    return {
        "application_id": application_id,
        "job_title": "后端工程师 Backend engineer",
        "salary_amount": "30000",
        "terms": f"14 薪, for {NAME}",
        "start_date": START,
        "location": "上海 Shanghai",
        "probation_months": 3,
        "contract_months": 36,
        "response_deadline": TODAY + timedelta(days=7),
        "notes": f"Notes about {SAID}",
    } | values


def _sent_offer(session: Session, p: Person, application_id: int) -> int:
    offer = offers.create_offer(session=session, actor=p.recruiter, offer_in=_offer_form(application_id))
    session.commit()
    offer = offers.submit_for_approval(session=session, actor=p.recruiter, offer_id=offer.id)
    session.commit()
    if offer.status != "approved":
        offer = offers.decide_approval(
            session=session, actor=p.manager, offer_id=offer.id, decision="approved", comment=f"OK for {NAME}"
        )
        session.commit()
    letter = offers.prepare_offer_letter(session=session, actor=p.recruiter, offer_id=offer.id)
    session.commit()
    offers.send_offer_letter(
        session=session,
        actor=p.recruiter,
        offer_id=offer.id,
        subject=f"Offer for {NAME}",
        text=f"Dear {NAME}, call {PHONE}. " + letter.text,
        mail_version=letter.version,
    )
    session.commit()
    return offer.id


def seed_person(engine: Engine, session: Session, make: Factory, frozen_clock: Any) -> Person:
    """The person, everywhere: profile, two applications, interview and scorecards, decision, contacts, intent with a
    competing offer, an offer accepted (plan, check-in, training, upload) and one declined, survey answer, pool entry,
    mail drafted, queued and sent, reminders, audit rows, a privacy request and consent notes."""
    admin = make.user("admin", name="Admin Ada")
    recruiter = make.user("recruiter", name="Rita Recruiter")
    manager = make.user("hiring_manager", name="Mo Manager")
    panelist = make.user("interviewer", name="Pan Elist")
    job = make.job(actor=admin, hiring_manager_id=manager.id, title="Backend", department="Engineering")
    other_job = make.job(actor=admin, hiring_manager_id=manager.id, title="Platform", department="Engineering")
    person = make.candidate(
        actor=recruiter,
        job=job,
        name=NAME,
        email=EMAIL,
        phone=PHONE,
        wechat_id=WECHAT,
        source="referral",
        tags=f"qorbanov, {WECHAT}",
        notes=f"Met {SAID} at a meetup",
        language="en",
    )
    done(
        session,
        candidates.update_candidate(
            session=session,
            actor=recruiter,
            candidate_id=person.id,
            candidate_in={
                "name": NAME,
                "email": EMAIL,
                "phone": PHONE,
                "wechat_id": WECHAT,
                "source": "referral",
                "language": "en",
                "notes": f"Updated: {SAID} prefers mornings",
                "version": person.version,
            },
        ),
    )
    second = make.application(candidate=session.get(Candidate, person.id), job=other_job, actor=recruiter)
    first = session.exec(
        sm_select(Application).where(Application.candidate_id == person.id, Application.job_id == job.id)
    ).one()
    p = Person(person.id, admin, recruiter, manager, panelist, [first.id, second.id])

    # Evaluate: an interview that ended an hour ago, two scorecards with notes, a decision with words.
    rounds = evaluation.list_rounds(session=session, actor=admin)
    if not rounds:
        evaluation.ensure_default_rounds(session=session)
        rounds = evaluation.list_rounds(session=session, actor=admin)
    ends = utcnow() - timedelta(hours=1)
    interview = evaluation.schedule_interview(
        session=session,
        actor=recruiter,
        interview_in={
            "application_id": first.id,
            "round_id": rounds[0].id,
            "starts_at": ends - timedelta(hours=1),
            "ends_at": ends,
            "mode": "phone",
            "location": f"call {PHONE}",
            "interviewer_ids": [panelist.id, manager.id],
        },
    )
    session.commit()
    soon = utcnow() + timedelta(days=2)  # a second round still to come: the panel is mailed an invitation
    evaluation.schedule_interview(
        session=session,
        actor=recruiter,
        interview_in={
            "application_id": second.id,
            "round_id": rounds[-1].id,
            "starts_at": soon,
            "ends_at": soon + timedelta(hours=1),
            "mode": "video",
            "location": f"https://meet.example.com/{WECHAT}",
            "interviewer_ids": [panelist.id],
        },
    )
    session.commit()
    criteria = evaluation.criteria_for(session=session, round_id=rounds[0].id, job_id=job.id)
    for who in (panelist, manager):
        evaluation.save_scorecard(
            session=session,
            actor=who,
            interview_id=interview.id,
            submit=True,
            scorecard_in={
                "ratings": [{"criterion_id": c.id, "rating": 4, "note": f"{NAME} did well"} for c in criteria],
                "strengths": f"{NAME} is sharp",
                "weaknesses": f"{EMAIL} typo in CV",
                "comments": f"Call {PHONE} or WeChat {WECHAT}",
                "recommendation": "yes",
            },
        )
        session.commit()
    evaluation.record_decision(
        session=session,
        actor=manager,
        application_id=first.id,
        decision_in={"kind": "offer", "reason_code": "meets_bar", "reason_text": f"{NAME} clearly meets the bar"},
    )
    session.commit()

    # Follow up: contacts, intent with a competing offer, a mail drafted and one sent.
    for app_id in p.applications:
        followup.log_contact(
            session=session,
            actor=recruiter,
            contact_in={
                "candidate_id": person.id,
                "application_id": app_id,
                "channel": "wechat",
                "outcome": "reached",
                "summary": f"Talked to {SAID}",
            },
        )
    followup.record_intent(
        session=session,
        actor=recruiter,
        intent_in={
            "application_id": first.id,
            "interest": 4,
            "notes": f"{NAME} wants remote days",
            "offers": [{"company": f"Qorbanov Family Firm ({NAME})", "stage": f"final for {WECHAT}"}],
        },
    )
    session.commit()
    thanks = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=first.id, template="thank_you"
    )
    session.commit()
    outbox.send_draft(
        session=session, actor=recruiter, message_id=thanks.id, subject=f"Thanks {NAME}", text=f"Dear {NAME}"
    )
    followup.prepare_candidate_mail(session=session, actor=recruiter, application_id=first.id, template="next_round")
    session.commit()

    # Onboard: an offer on each application; the first accepted, the second declined with words.
    accepted = _sent_offer(session, p, first.id)
    offers.record_answer(session=session, actor=recruiter, offer_id=accepted, answer="accepted")
    session.commit()
    candidates.move_stage(session=session, actor=recruiter, application_id=second.id, to_stage="offer")
    session.commit()
    declined = _sent_offer(session, p, second.id)
    offers.record_answer(
        session=session,
        actor=recruiter,
        offer_id=declined,
        answer="declined",
        reason="other",
        text=f"{NAME} chose the family firm",
    )
    session.commit()
    plan = session.exec(sm_select(OnboardingPlan).where(OnboardingPlan.application_id == first.id)).one()
    token = re.search(r"welcome=([\w-]+)", welcome.issue_link(session=session, actor=recruiter, plan_id=plan.id))
    assert token is not None
    session.commit()
    welcome.upload_material(
        session=session, token=token.group(1), filename=f"{WECHAT}.pdf", content=f"%PDF-1.4 {SAID}".encode()
    )
    training.add_session(
        session=session,
        actor=recruiter,
        plan_id=plan.id,
        training_in={
            "title": f"Orientation for {NAME}",
            "starts_at": datetime(2026, 4, 2, 2, 0, tzinfo=UTC),
            "ends_at": datetime(2026, 4, 2, 3, 0, tzinfo=UTC),
            "location": "Room 1",
            "attendee_ids": [manager.id],
        },
    )
    session.commit()

    # The survey: invited, answered with words about themselves.
    invite = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=second.id, template="survey_invite"
    )
    session.commit()
    link = re.search(r"survey=([\w-]+)", invite.text)
    assert link is not None
    outbox.send_draft(session=session, actor=recruiter, message_id=invite.id, subject=invite.subject, text=invite.text)
    session.commit()
    followup.answer_survey(
        session=session,
        token=link.group(1),
        answer_in={"nps": 9, "clarity": 4, "respect": 5, "treatment": 4, "comment": f"I am {NAME}, {PHONE}"},
    )
    followup.add_to_pool(
        session=session,
        actor=recruiter,
        entry_in={"candidate_id": person.id, "reason": f"{NAME} for later", "revisit_on": TODAY + timedelta(days=90)},
    )
    session.commit()

    # Privacy: a consent note and a request note (the consent and records helpers' services write the same rows).
    session.add(
        ConsentRecord(candidate_id=person.id, purpose="talent_pool", given=True, method="form", note=f"{NAME} said yes")
    )
    session.add(
        PrivacyRequest(
            candidate_id=person.id,
            kind="erasure",
            law="pipl",
            received_on=TODAY,
            due_on=TODAY + timedelta(days=15),
            note=f"Mail from {EMAIL}",
        )
    )
    session.commit()

    # A colleague's mail about them, not linked to their record, with an invitation and a file naming them.
    outbox.queue_mail(
        session=session,
        to="colleague@example.com",
        subject=f"About {NAME}",
        html=f"<p>{SAID}</p>",
        text=SAID,
        key="colleague-note",
        attachments=[
            outbox.Attachment("meet.ics", f"SUMMARY:Coffee with {NAME}".encode(), "text/calendar"),
            outbox.Attachment("cv.pdf", f"%PDF-1.4 {EMAIL}".encode(), "application/pdf"),
        ],
    )
    session.commit()

    # Some mail went out, and staff were reminded (of scorecards, check-ins …) in mail naming the person.
    for message in session.exec(sm_select(OutboxMessage).where(OutboxMessage.status == MailStatus.queued)).all()[:2]:
        message.status, message.sent_at = MailStatus.sent, utcnow()
        session.add(message)
    session.commit()
    frozen_clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=UTC))
    run_reminders(engine=engine)
    check_in = session.exec(sm_select(CheckIn).where(CheckIn.plan_id == plan.id).order_by(col(CheckIn.day))).first()
    plans.record_check_in(
        session=session,
        actor=manager,
        check_in_id=check_in.id,
        version=check_in.version,
        check_in_in={"rating": 4, "on_track": True, "notes": f"{NAME} settles in", "concerns": f"{WECHAT} spam"},
    )
    session.commit()
    session.expire_all()
    return p


# --------------------------------------------------------------------------- the scan
def _text_columns(engine: Engine) -> list[tuple[str, str, bool]]:
    """Every text-like and binary column of every table the database has (reflected, not listed by hand)."""
    meta = MetaData()
    meta.reflect(bind=engine)
    found = []
    for table in meta.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text | LargeBinary) or "char" in str(column.type).lower():
                found.append((table.name, column.name, isinstance(column.type, LargeBinary)))
    return found


def _needles() -> list[str]:
    return sorted({v.lower() for v in VALUES})


def traces(engine: Engine) -> list[str]:
    """Where any of the person's values is still found: 'table.column#row: value'."""
    meta = MetaData()
    meta.reflect(bind=engine)
    hits = []
    for table_name, column, _binary in _text_columns(engine):
        table = meta.tables[table_name]
        pk = list(table.primary_key.columns)[0]
        with engine.connect() as conn:
            for key, value in conn.execute(select(pk, table.c[column])):
                if value is None:
                    continue
                raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                lowered = raw.decode("utf-8", "ignore").lower()
                for needle in _needles():
                    if needle in lowered:
                        hits.append(f"{table_name}.{column}#{key}: {needle}")
    return hits


def file_traces(folder: Path) -> list[str]:
    hits = []
    if not folder.exists():
        return hits
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix not in (".db", ".db-wal", ".db-shm"):
            lowered = path.read_bytes().decode("utf-8", "ignore").lower()
            hits += [f"{path}: {n}" for n in _needles() if n in lowered]
    return hits


def metrics(session: Session, actor: User) -> list[Any]:
    """Every figure of the Metrics screen, as an admin sees them, for the year."""
    f = MetricFilter(start=date(2026, 1, 1), end=date(2026, 12, 31))
    e = MetricFilter(start=date(2026, 1, 1), end=date(2026, 12, 31), basis="event")
    out: list[Any] = []
    for mf in (f, e):
        kw = {"session": session, "actor": actor, "metric_filter": mf}
        out += [
            funnel.funnel(**kw),
            funnel.losses(**kw),
            speed.feedback_times(**kw),
            speed.scorecard_turnaround(**kw),
            speed.stage_durations(**kw),
            speed.time_to_offer_and_hire(**kw),
            offer_metrics.offer_outcomes(**kw),
            offer_metrics.decline_reasons(**kw),
            sources.sources(**kw),
            experience.experience(**kw),
            calibration.interviewer_calibration(**kw),
            quality.quality_of_hire(**kw),
            quality.quality_by_round(**kw),
            quality.quality_by_interviewer(**kw),
            selection.selection_rates(**kw, group_by="source", from_step="applied", to_step="interviewed"),
        ]
    return out


@pytest.fixture
def seeded(engine: Engine, session: Session, make: Factory, frozen_clock: Any) -> Person:
    person = seed_person(engine, session, make, frozen_clock)
    # The metrics' facts built, as the worker or a first look at Metrics would: their copies must go too.
    refresh_facts(session)
    session.commit()
    return person


def test_the_seeded_person_is_found_everywhere_before_anonymisation(engine: Engine, seeded: Person) -> None:
    tables = {hit.split(".")[0] for hit in traces(engine)}
    assert {
        "candidate",
        "contact",
        "intent",
        "scorecard",
        "scorecardrating",
        "decision",
        "stagechange",
        "surveyresponse",
        "poolentry",
        "offer",
        "offerapproval",
        "material",
        "checkin",
        "trainingsession",
        "outboxmessage",
        "auditlog",
        "consentrecord",
        "privacyrequest",
        "interview",
        "outboxattachment",
    } <= tables


def test_anonymising_leaves_no_trace_in_any_column_of_any_table_or_the_data_folder(
    engine: Engine, session: Session, seeded: Person
) -> None:
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason=f"{NAME} asked", actor=seeded.admin)
    session.commit()
    assert traces(engine) == []
    assert file_traces(config.DATA_DIR) == []
    person = session.get(Candidate, seeded.candidate_id)
    assert person.name == label_for(seeded.candidate_id) and person.anonymised_at is not None


def test_every_metric_counts_the_same_before_and_after(engine: Engine, session: Session, seeded: Person) -> None:
    before = metrics(session, seeded.admin)
    assert before[0].steps[0].count == 2 and before[6].accepted == 1 and before[6].declined == 1  # not empty figures
    assert [(loss.kind, loss.reason) for loss in before[1]] == [("declined_offer", "other")]
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason="retention", actor=None)
    session.commit()
    session.expire_all()
    assert metrics(session, seeded.admin) == before


def test_what_the_metrics_need_stays(engine: Engine, session: Session, seeded: Person) -> None:
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason="retention", actor=None)
    session.commit()
    person = session.get(Candidate, seeded.candidate_id)
    assert person.source == "referral"
    stages = session.exec(sm_select(Application.stage).where(Application.candidate_id == person.id)).all()
    assert sorted(stages) == ["hired", "withdrawn"]
    cards = session.exec(sm_select(Scorecard).where(col(Scorecard.application_id).in_(seeded.applications))).all()
    assert [c.recommendation for c in cards] == ["yes", "yes"]
    assert session.exec(sm_select(Material)).all() == []
    assert session.exec(sm_select(PoolEntry.status)).all() == ["removed"]


def test_the_open_erasure_request_is_answered_and_an_audit_row_says_who(
    engine: Engine, session: Session, seeded: Person
) -> None:
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason=f"{NAME} asked", actor=seeded.admin)
    session.commit()
    request = session.exec(sm_select(PrivacyRequest)).one()
    assert request.answered_at is not None and request.answered_by_id == seeded.admin.id
    assert request.answer == f"{label_for(seeded.candidate_id)} asked"
    last = session.exec(sm_select(AuditLog).order_by(col(AuditLog.id).desc())).first()
    assert (last.action, last.user_id, last.entity_id) == ("anonymise", seeded.admin.id, seeded.candidate_id)


def test_anonymising_twice_changes_nothing(engine: Engine, session: Session, seeded: Person) -> None:
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason="retention", actor=None)
    session.commit()
    audit_rows = len(session.exec(sm_select(AuditLog.id)).all())
    version = session.get(Candidate, seeded.candidate_id).version
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason="again", actor=None)
    session.commit()
    assert len(session.exec(sm_select(AuditLog.id)).all()) == audit_rows
    assert session.get(Candidate, seeded.candidate_id).version == version


def test_an_anonymised_person_is_not_found_by_search(engine: Engine, session: Session, seeded: Person) -> None:
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason="retention", actor=None)
    session.commit()
    for query in ("qorbanov", EMAIL, DIGITS, WECHAT, label_for(seeded.candidate_id)):
        found = candidates.search_candidates(session=session, actor=seeded.admin, q=query)
        assert seeded.candidate_id not in [row["id"] for row in found.rows]


def test_the_sqlite_files_keep_nothing_once_the_retention_job_has_run(
    engine: Engine, session: Session, seeded: Person
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the database files are SQLite's")
    anonymise_candidate(session=session, candidate_id=seeded.candidate_id, reason="retention", actor=None)
    session.commit()
    retention.run_retention(engine=engine, now=datetime(2030, 1, 1, tzinfo=UTC))  # anonymises, then checkpoints
    folder = Path(engine.url.database or "").parent
    found = [
        (path.name, n)
        for path in folder.iterdir()
        if path.is_file()
        for n in _needles()
        if n.encode() in path.read_bytes().lower()
    ]
    assert found == []


def test_the_metrics_copy_of_a_moves_words_goes_with_the_person(
    engine: Engine, session: Session, make: Factory
) -> None:
    """The facts the Metrics screen reads keep the last move's reason: words typed there (a withdrawal's) must not
    outlive the person, even before the worker folds the change in."""
    admin = make.user("admin", name="Admin Ada")
    job = make.job(actor=admin, title="Backend", department="Engineering")
    person = make.candidate(actor=admin, job=job, name=NAME, email=EMAIL, phone=PHONE, wechat_id=WECHAT)
    app_id = session.exec(sm_select(Application.id).where(Application.candidate_id == person.id)).one()
    candidates.move_stage(
        session=session, actor=admin, application_id=app_id, to_stage="withdrawn", reason=f"{NAME} moved to Chengdu"
    )
    session.commit()
    refresh_facts(session)
    session.commit()
    assert any(hit.startswith("applicationfact.") for hit in traces(engine))
    anonymise_candidate(session=session, candidate_id=person.id, reason="asked", actor=admin)
    session.commit()
    assert traces(engine) == []
