"""Offers: drafting and revising (one live offer per application, versioned), approval by the job's hiring manager and
the approvers named per department, the letter through the outbox with its private link, the candidate's answer
(by link or recorded by hand) and what it does to the application, expiry, and the status machine — every allowed
and every refused move.

The clock is frozen at T0 (2026-03-02 09:00 UTC, 17:00 in Shanghai: the offer date is 2026-03-02).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from threading import Barrier
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate, StageChange
from models.common import Stage
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.onboard import ApproverRule, AppSetting, Offer, OfferApproval, OfferStatus, OnboardingPlan
from models.user import User
from services.mail.mailer import send_due
from services.mail.outbox import send_draft
from services.mail.worker import JOBS
from services.onboard import offers, plans
from services.pipeline.candidates import move_stage
from services.platform.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationError
from tests.factories import Factory, action, done
from tests.services.mail_server import configure_mail, running_server

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None]]:
    """The calls to plans.start_onboarding: (offer id, actor id or None)."""
    calls: list[tuple[int, int | None]] = []

    def fake(*, session: Session, offer: Offer, actor: User | None) -> None:
        calls.append((offer.id or 0, actor.id if actor else None))

    monkeypatch.setattr(plans, "start_onboarding", fake)
    return calls


# --------------------------------------------------------------------------- helpers (test_offer_reminders uses them)
@dataclass
class World:
    admin: User
    recruiter: User
    manager: User
    other_manager: User
    interviewer: User
    job: Job
    candidate: Candidate
    application: Application


def world(session: Session, make: Factory, *, language: str = "zh", department: str = "Engineering") -> World:
    admin = make.admin()
    recruiter = make.user("recruiter")
    manager = make.user("hiring_manager")
    other_manager = make.user("hiring_manager")
    interviewer = make.user("interviewer")
    job = make.job(actor=admin, hiring_manager_id=manager.id, department=department, location="上海 Shanghai")
    person = make.candidate(actor=recruiter, job=job, language=language)
    app = session.exec(select(Application).where(Application.candidate_id == person.id)).one()
    done(session, move_stage(session=session, actor=recruiter, application_id=app.id, to_stage="offer"))
    return World(admin, recruiter, manager, other_manager, interviewer, job, person, app)


def form(**values: Any) -> dict[str, Any]:
    return {
        "job_title": "后端工程师 Backend engineer",
        "level": "P6",
        "salary_amount": "30000",
        "salary_currency": "CNY",
        "salary_period": "month",
        "terms": "14 薪",
        "start_date": TODAY + 30 * DAY,
        "location": "上海 Shanghai",
        "probation_months": 3,
        "contract_months": 36,
        "response_deadline": TODAY + 7 * DAY,
        "notes": "",
    } | values


def drafted(session: Session, w: World, **values: Any) -> Offer:
    return done(
        session,
        offers.create_offer(
            session=session, actor=w.recruiter, offer_in=form(**values) | {"application_id": w.application.id}
        ),
    )


def submitted(session: Session, w: World, **values: Any) -> Offer:
    offer = drafted(session, w, **values)
    return done(session, offers.submit_for_approval(session=session, actor=w.recruiter, offer_id=offer.id))


def approved(session: Session, w: World, **values: Any) -> Offer:
    offer = submitted(session, w, **values)
    return done(
        session, offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved")
    )


def token_of(mail: OutboxMessage) -> str:
    found = re.search(r"\?offer=([A-Za-z0-9_\-]+)", mail.text)
    assert found, mail.text
    return found.group(1)


def sent(session: Session, w: World, **values: Any) -> tuple[Offer, str]:
    offer = approved(session, w, **values)
    letter = done(session, offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id))
    token = token_of(letter)
    offer = done(
        session,
        offers.send_offer_letter(
            session=session, actor=w.recruiter, offer_id=offer.id, subject=letter.subject, text=letter.text
        ),
    )
    return offer, token


def stage_of(session: Session, app: Application) -> str:
    session.expire_all()
    return str(session.get(Application, app.id).stage)


def count(session: Session, model: type) -> int:
    return len(session.exec(select(model)).all())


# --------------------------------------------------------------------------- drafting
def test_a_recruiter_drafts_one_offer_per_application_at_the_offer_stage(session, make) -> None:
    w = world(session, make)
    offer = drafted(session, w)
    assert (offer.status, offer.revision, offer.created_by_id, offer.salary_amount) == (
        "draft",
        1,
        w.recruiter.id,
        Decimal("30000"),
    )
    with pytest.raises(Conflict) as exc:
        offers.create_offer(session=session, actor=w.recruiter, offer_in=form() | {"application_id": w.application.id})
    assert exc.value.key == "err.offer_exists"
    session.rollback()
    assert count(session, Offer) == 1


def test_an_application_not_at_the_offer_stage_gets_no_offer(session, make) -> None:
    w = world(session, make)
    done(
        session,
        move_stage(session=session, actor=w.recruiter, application_id=w.application.id, to_stage="decision_pending"),
    )
    with pytest.raises(InvalidTransition) as exc:
        drafted(session, w)
    assert exc.value.key == "err.offer_needs_offer_stage"


@pytest.mark.parametrize("who", ["manager", "other_manager", "interviewer"])
def test_only_recruiters_and_admins_draft_offers(session, make, who) -> None:
    w = world(session, make)
    with pytest.raises(NotAllowed):
        offers.create_offer(
            session=session, actor=getattr(w, who), offer_in=form() | {"application_id": w.application.id}
        )
    admin_offer = offers.create_offer(
        session=session, actor=w.admin, offer_in=form() | {"application_id": w.application.id}
    )
    assert admin_offer.status == "draft"


@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        ({"start_date": TODAY - DAY}, "start_date", "err.start_before_offer"),
        ({"response_deadline": TODAY - DAY}, "response_deadline", "err.deadline_past"),
        ({"response_deadline": TODAY + 40 * DAY}, "response_deadline", "err.deadline_after_start"),
        ({"probation_months": 3, "contract_months": 12}, "probation_months", "err.probation_over_cap"),
        ({"probation_months": 2, "contract_months": 11}, "probation_months", "err.probation_over_cap"),
        ({"probation_months": 1, "contract_months": 2}, "probation_months", "err.probation_over_cap"),
        ({"probation_months": 7, "contract_months": None}, "probation_months", "err.out_of_range"),
        ({"salary_amount": "三万"}, "salary_amount", "err.not_a_number"),
        ({"salary_amount": "30k"}, "salary_amount", "err.not_a_number"),
        ({"salary_amount": "", "terms": ""}, "salary_amount", "err.offer_pay_required"),
        ({"salary_amount": "-5"}, "salary_amount", "err.out_of_range"),
        ({"job_title": "  "}, "job_title", "err.required"),
        ({"start_date": "not a date"}, "start_date", "err.date_invalid"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_changes_nothing(session, make, values, field, key) -> None:
    w = world(session, make)
    with pytest.raises(ValidationError) as exc:
        drafted(session, w, **values)
    assert exc.value.fields[field][0] == key
    session.rollback()
    assert count(session, Offer) == 0


def test_probation_within_the_legal_cap_and_free_terms_alone_are_accepted(session, make) -> None:
    w = world(session, make)
    offer = drafted(session, w, probation_months=6, contract_months=36, salary_amount=None, terms="面议 / to agree")
    assert (offer.probation_months, offer.salary_amount, offer.terms) == (6, None, "面议 / to agree")


def test_hostile_text_is_kept_as_typed_and_escaped_in_the_letter(session, make) -> None:
    w = world(session, make)
    hostile = '<img src=x onerror=alert(1)> =HYPERLINK("http://evil")'
    offer = approved(session, w, job_title=hostile[:120], notes=hostile)
    letter = offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id)
    assert offer.job_title == hostile[:120]
    assert "<img" not in letter.html and "&lt;img" in letter.html
    assert hostile[:40] in letter.text


# --------------------------------------------------------------------------- two editors, revisions
def test_the_second_of_two_editors_is_told_and_nothing_of_theirs_is_saved(session, make) -> None:
    w = world(session, make)
    offer = drafted(session, w)
    first = done(
        session,
        offers.update_offer(
            session=session, actor=w.recruiter, offer_id=offer.id, version=1, offer_in=form(level="P7")
        ),
    )
    assert (first.id, first.version, first.level) == (offer.id, 2, "P7")
    with pytest.raises(Conflict) as exc:
        offers.update_offer(session=session, actor=w.admin, offer_id=offer.id, version=1, offer_in=form(level="P5"))
    assert exc.value.key == "err.offer_changed" and exc.value.current.level == "P7"
    session.rollback()
    session.expire_all()
    assert session.get(Offer, offer.id).level == "P7"


@pytest.mark.parametrize("stage", ["pending_approval", "approved", "sent"])
def test_revising_an_offer_that_left_draft_makes_a_new_revision_to_approve_again(session, make, stage) -> None:
    w = world(session, make)
    token = None
    if stage == "pending_approval":
        old = submitted(session, w)
    elif stage == "approved":
        old = approved(session, w)
    else:
        old, token = sent(session, w)
    new = done(
        session,
        offers.update_offer(
            session=session,
            actor=w.recruiter,
            offer_id=old.id,
            version=old.version,
            offer_in=form(salary_amount="32000"),
        ),
    )
    session.expire_all()
    assert (new.revision, new.status, new.salary_amount) == (2, "draft", Decimal("32000"))
    assert session.get(Offer, old.id).status == "withdrawn"
    if token is not None:
        with pytest.raises(offers.OfferLinkInvalid) as exc:
            offers.open_offer_link(session=session, token=token)
        assert exc.value.key == "offer_answer.link_withdrawn"
    # Approved again before it can go out.
    with pytest.raises(InvalidTransition):
        offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=new.id)


def test_after_a_decline_a_new_revision_may_be_drafted(session, make, started) -> None:
    w = world(session, make)
    offer, _ = sent(session, w)
    done(
        session,
        offers.record_answer(
            session=session, actor=w.recruiter, offer_id=offer.id, answer="declined", reason="compensation"
        ),
    )
    # The application left with the decline; reopened and back at the offer stage, a second offer is revision 2.
    for stage in ("interviewing", "offer"):
        done(session, move_stage(session=session, actor=w.recruiter, application_id=w.application.id, to_stage=stage))
    assert drafted(session, w).revision == 2


# --------------------------------------------------------------------------- approval
def test_approvers_are_the_hiring_manager_and_the_active_people_named_for_the_department(session, make) -> None:
    w = world(session, make)
    everywhere = make.user("recruiter")
    engineering = make.user("hiring_manager")
    sales = make.user("hiring_manager")
    gone = make.user("hiring_manager", is_active=False)
    for person, department in ((everywhere, ""), (engineering, "Engineering"), (sales, "Sales")):
        offers.add_approver_rule(session=session, actor=w.admin, department=department, user_id=person.id)
    session.add(ApproverRule(department="Engineering", user_id=gone.id))
    session.commit()
    offer = submitted(session, w)
    asked = session.exec(select(OfferApproval.approver_id).where(OfferApproval.offer_id == offer.id)).all()
    assert offer.status == "pending_approval"
    assert sorted(asked) == sorted([w.manager.id, everywhere.id, engineering.id])


def test_everyone_must_approve_and_one_rejection_sends_it_back_to_draft_with_the_comment(session, make) -> None:
    w = world(session, make)
    second = make.user("hiring_manager")
    offers.add_approver_rule(session=session, actor=w.admin, department="", user_id=second.id)
    offer = submitted(session, w)
    offer = done(
        session,
        offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved", comment="好"),
    )
    assert offer.status == "pending_approval"
    with pytest.raises(ValidationError) as exc:
        offers.decide_approval(session=session, actor=second, offer_id=offer.id, decision="rejected", comment=" ")
    assert exc.value.fields["comment"][0] == "err.reject_comment_required"
    session.rollback()
    offer = done(
        session,
        offers.decide_approval(
            session=session, actor=second, offer_id=offer.id, decision="rejected", comment="薪资过高 / too high"
        ),
    )
    assert offer.status == "draft"
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id)
    assert [(a.decision, a.comment) for a in detail.approvals] == [
        ("approved", "好"),
        ("rejected", "薪资过高 / too high"),
    ]
    # Submitted again, everyone is asked afresh; both approve and it is approved.
    done(session, offers.submit_for_approval(session=session, actor=w.recruiter, offer_id=offer.id))
    for person in (w.manager, second):
        offer = done(
            session, offers.decide_approval(session=session, actor=person, offer_id=offer.id, decision="approved")
        )
    assert offer.status == "approved" and offer.approved_at == T0


def test_an_approver_decides_once_and_others_not_at_all(session, make) -> None:
    w = world(session, make)
    offer = submitted(session, w)
    for outsider in (w.other_manager, w.interviewer, w.recruiter):
        with pytest.raises(NotAllowed):
            offers.decide_approval(session=session, actor=outsider, offer_id=offer.id, decision="approved")
    done(session, offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved"))
    with pytest.raises(InvalidTransition):
        offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved")


def test_an_admin_decides_for_the_hiring_manager(session, make) -> None:
    w = world(session, make)
    offer = submitted(session, w)
    offer = offers.decide_approval(
        session=session, actor=w.admin, offer_id=offer.id, decision="approved", comment="代批"
    )
    assert offer.status == "approved"
    row = session.exec(select(OfferApproval).where(OfferApproval.offer_id == offer.id)).one()
    assert (row.approver_id, row.comment) == (w.manager.id, "代批")


def test_without_an_active_approver_the_offer_cannot_be_submitted_and_the_message_names_who_left(session, make) -> None:
    w = world(session, make)
    offer = drafted(session, w)
    w.manager.is_active = False
    session.add(w.manager)
    session.commit()
    with pytest.raises(InvalidTransition) as exc:
        offers.submit_for_approval(session=session, actor=w.recruiter, offer_id=offer.id)
    assert exc.value.key == "err.offer_approver_inactive"
    assert exc.value.params["names"] == w.manager.name
    session.rollback()
    session.expire_all()
    assert session.get(Offer, offer.id).status == "draft"


def test_with_approval_turned_off_a_submitted_draft_is_approved_at_once(session, make) -> None:
    w = world(session, make)
    offers.set_approval_required(session=session, actor=w.admin, required=False)
    session.commit()
    assert session.get(AppSetting, "offer_approval_required").value == "0"
    offer = submitted(session, w)
    assert offer.status == "approved"
    assert session.exec(select(OfferApproval)).all() == []
    assert offers.approval_settings(session=session, actor=w.admin).required is False


def test_approval_settings_are_the_admins(session, make) -> None:
    w = world(session, make)
    for person in (w.recruiter, w.manager):
        with pytest.raises(NotAllowed):
            offers.set_approval_required(session=session, actor=person, required=False)
    with pytest.raises(ValidationError):
        offers.add_approver_rule(session=session, actor=w.admin, department="", user_id=w.interviewer.id)
    rule = offers.add_approver_rule(session=session, actor=w.admin, department="Sales", user_id=w.other_manager.id)
    again = offers.add_approver_rule(session=session, actor=w.admin, department="Sales", user_id=w.other_manager.id)
    assert rule.id == again.id
    settings = offers.approval_settings(session=session, actor=w.admin)
    assert [(d, u) for _, d, u, _ in settings.rules] == [("Sales", w.other_manager.id)]
    offers.remove_approver_rule(session=session, actor=w.admin, rule_id=rule.id)
    assert offers.approval_settings(session=session, actor=w.admin).rules == []
    with pytest.raises(NotFound):
        offers.remove_approver_rule(session=session, actor=w.admin, rule_id=rule.id)


def test_a_double_submit_acts_once(session, make) -> None:
    w = world(session, make)
    offer = drafted(session, w)
    done(session, offers.submit_for_approval(session=session, actor=w.recruiter, offer_id=offer.id, version=1))
    with pytest.raises((InvalidTransition, Conflict)):
        offers.submit_for_approval(session=session, actor=w.recruiter, offer_id=offer.id, version=1)
    session.rollback()
    assert len(session.exec(select(OfferApproval)).all()) == 1


# --------------------------------------------------------------------------- the letter
def test_an_unapproved_offer_gets_no_letter_and_cannot_be_sent(session, make) -> None:
    w = world(session, make)
    offer = submitted(session, w)
    with pytest.raises(InvalidTransition) as exc:
        offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id)
    assert exc.value.key == "err.offer_not_approved"
    with pytest.raises(InvalidTransition):
        offers.send_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id, subject="x", text="y")


def test_the_letter_is_refused_while_a_field_it_uses_is_empty(session, make) -> None:
    w = world(session, make)
    offer = approved(session, w, location="")
    with pytest.raises(ValidationError) as exc:
        offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id)
    assert exc.value.fields == {"location": ("err.letter_field_missing", {})}
    session.rollback()
    assert count(session, OutboxMessage) == 0


@pytest.mark.parametrize(("language", "words"), [("zh", "录用"), ("en", "offer")])
def test_the_letter_is_a_draft_in_the_candidates_language_with_the_offer_and_a_private_link(
    session, make, language, words
) -> None:
    w = world(session, make, language=language)
    offer = approved(session, w)
    letter = done(session, offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id))
    assert letter.status == MailStatus.draft and letter.language == language
    assert words in letter.subject.lower() or words in letter.text
    for part in ("后端工程师 Backend engineer", "P6", "30,000", "上海 Shanghai", "14 薪"):
        assert part in letter.text
    token = token_of(letter)
    session.expire_all()
    stored = session.get(Offer, offer.id)
    assert token not in (stored.answer_token_hash or "") and stored.answer_token_hash
    assert stored.letter_mail_id == letter.id
    # A second click reviews the same letter.
    assert offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id).id == letter.id
    # Before it is sent the link does nothing.
    with pytest.raises(offers.OfferLinkInvalid):
        offers.open_offer_link(session=session, token=token)


def test_the_letter_goes_out_as_edited_and_the_offer_is_sent(session, make) -> None:
    w = world(session, make)
    offer = approved(session, w)
    letter = done(session, offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id))
    edited = letter.text + "\n期待与您共事 / Looking forward\n"
    offer = done(
        session,
        offers.send_offer_letter(
            session=session, actor=w.recruiter, offer_id=offer.id, subject="录用通知 Offer", text=edited
        ),
    )
    session.refresh(letter)
    assert (offer.status, offer.sent_at) == ("sent", T0)
    assert letter.status == MailStatus.held  # no mail server: it waits in the outbox
    assert "期待与您共事" in letter.text and letter.subject == "录用通知 Offer"
    assert offers.letter_draft(session=session, actor=w.recruiter, offer_id=offer.id) is None


def test_a_letter_sent_from_the_outbox_page_makes_the_offer_sent(session, make) -> None:
    w = world(session, make)
    offer = approved(session, w)
    letter = done(session, offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id))
    done(
        session,
        send_draft(session=session, actor=w.recruiter, message_id=letter.id, subject=letter.subject, text=letter.text),
    )
    info = offers.open_offer_link(session=session, token=token_of(letter))
    assert info.job_title == offer.job_title
    session.expire_all()
    assert session.get(Offer, offer.id).status == "sent"


def test_with_the_mail_server_down_the_letter_waits_and_goes_once_it_is_up(engine, session, make, monkeypatch) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    letter = session.get(OutboxMessage, offer.letter_mail_id)
    assert letter.status == MailStatus.held
    with running_server() as smtp:
        settings = configure_mail(monkeypatch, smtp.port)
        from services.mail.outbox import release_held

        done(session, release_held(session=session))
        assert send_due(engine=engine, settings=settings).sent >= 1
        [got] = [r for r in smtp.received if w.candidate.email in r.rcpt_tos]
    body = got.message.get_body(preferencelist=("plain",)).get_content()
    assert f"?offer={token}" in body
    session.refresh(letter)
    assert letter.status == MailStatus.sent


# --------------------------------------------------------------------------- the candidate's answer
def test_the_candidate_accepts_through_the_link_once_and_onboarding_starts(session, make, started) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    info = offers.open_offer_link(session=session, token=token)
    assert (info.job_title, info.start_date, info.location, info.response_deadline) == (
        offer.job_title,
        offer.start_date,
        offer.location,
        offer.response_deadline,
    )
    assert "30,000" in info.pay and info.candidate_name == w.candidate.name
    answered = done(session, offers.answer_offer_by_link(session=session, token=token, answer="accepted"))
    assert (answered.status, answered.answered_via, answered.answered_by_id) == ("accepted", "link", None)
    assert stage_of(session, w.application) == Stage.hired
    assert started == [(offer.id, None)]
    with pytest.raises(offers.OfferLinkInvalid) as exc:
        offers.answer_offer_by_link(session=session, token=token, answer="accepted")
    assert exc.value.key == "offer_answer.link_used"
    with pytest.raises(offers.OfferLinkInvalid):
        offers.open_offer_link(session=session, token=token)
    assert started == [(offer.id, None)]


@pytest.mark.parametrize("reason", ["compensation", "competing_offer", "other"])
def test_the_candidate_declines_with_a_reason_and_the_application_leaves(session, make, started, reason) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    text = "家人在北京 / family in Beijing" if reason == "other" else ""
    answered = done(
        session, offers.answer_offer_by_link(session=session, token=token, answer="declined", reason=reason, text=text)
    )
    assert (answered.status, answered.decline_reason, answered.decline_text) == ("declined", reason, text)
    assert stage_of(session, w.application) == Stage.withdrawn
    change = session.exec(
        select(StageChange).where(StageChange.application_id == w.application.id).order_by(col(StageChange.id).desc())
    ).first()
    assert (change.to_stage, change.reason, change.by_user_id) == ("withdrawn", f"offer_declined:{reason}", None)
    assert started == []


@pytest.mark.parametrize(
    ("reason", "text", "field", "key"),
    [
        (None, "", "decline_reason", "err.decline_reason_required"),
        ("bored", "", "decline_reason", "err.decline_reason_required"),
        ("other", " ", "decline_text", "err.decline_text_required"),
    ],
)
def test_a_decline_needs_a_reason_and_words_for_other(session, make, reason, text, field, key) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    with pytest.raises(ValidationError) as exc:
        offers.answer_offer_by_link(session=session, token=token, answer="declined", reason=reason, text=text)
    assert exc.value.fields[field][0] == key
    session.rollback()
    session.expire_all()
    assert session.get(Offer, offer.id).status == "sent"


def test_a_link_is_dead_after_the_deadline_a_withdrawal_or_when_unknown(session, make, frozen_clock) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    with pytest.raises(offers.OfferLinkInvalid) as exc:
        offers.open_offer_link(session=session, token="not-a-token")
    assert exc.value.key == "offer_answer.link_invalid"
    with pytest.raises(offers.OfferLinkInvalid):
        offers.open_offer_link(session=session, token="")
    # The last day still counts (company time); the next it does not, expired or not yet by the worker.
    frozen_clock.set(datetime(2026, 3, 9, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai on the deadline
    assert offers.open_offer_link(session=session, token=token).job_title
    frozen_clock.set(datetime(2026, 3, 9, 16, 0, tzinfo=UTC))
    with pytest.raises(offers.OfferLinkInvalid) as exc:
        offers.answer_offer_by_link(session=session, token=token, answer="accepted")
    assert exc.value.key == "offer_answer.link_expired"
    frozen_clock.set(T0)
    done(session, offers.withdraw_offer(session=session, actor=w.recruiter, offer_id=offer.id))
    with pytest.raises(offers.OfferLinkInvalid) as exc:
        offers.open_offer_link(session=session, token=token)
    assert exc.value.key == "offer_answer.link_withdrawn"


def test_the_recruiter_records_the_answer_by_hand(session, make, started) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    answered = done(
        session, offers.record_answer(session=session, actor=w.recruiter, offer_id=offer.id, answer="accepted")
    )
    assert (answered.status, answered.answered_via, answered.answered_by_id) == ("accepted", "recorded", w.recruiter.id)
    assert stage_of(session, w.application) == Stage.hired
    assert started == [(offer.id, w.recruiter.id)]
    # The link, answered by hand, is used.
    with pytest.raises(offers.OfferLinkInvalid) as exc:
        offers.answer_offer_by_link(session=session, token=token, answer="declined", reason="personal")
    assert exc.value.key == "offer_answer.link_used"
    with pytest.raises(NotAllowed):
        offers.record_answer(session=session, actor=w.manager, offer_id=offer.id, answer="declined", reason="personal")


def test_offers_past_their_deadline_expire_by_the_workers_job(engine, session, make, frozen_clock) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    assert JOBS["expire_offers"] is offers.expire_offers
    from services.platform.config import get_settings

    assert offers.expire_offers(engine=engine, settings=get_settings()) == 0
    frozen_clock.set(datetime(2026, 3, 9, 16, 1, tzinfo=UTC))
    assert offers.expire_offers(engine=engine, settings=get_settings()) == 1
    session.expire_all()
    assert session.get(Offer, offer.id).status == "expired"
    assert offers.expire_offers(engine=engine, settings=get_settings()) == 0
    with pytest.raises(offers.OfferLinkInvalid) as exc:
        offers.open_offer_link(session=session, token=token)
    assert exc.value.key == "offer_answer.link_expired"


# --------------------------------------------------------------------------- the status machine
STATUSES = [s.value for s in OfferStatus]
ACTIONS = ["submit", "approve", "reject", "send", "accept", "decline", "expire", "withdraw", "revise"]
# From each status, what each action leads to (absent: refused, nothing changes).
ALLOWED: dict[tuple[str, str], str] = {
    ("draft", "submit"): "pending_approval",
    ("draft", "withdraw"): "withdrawn",
    ("draft", "revise"): "draft",
    ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "draft",
    ("pending_approval", "withdraw"): "withdrawn",
    ("pending_approval", "revise"): "withdrawn",  # the old revision; the new one is a draft
    ("approved", "send"): "sent",
    ("approved", "withdraw"): "withdrawn",
    ("approved", "revise"): "withdrawn",
    ("sent", "accept"): "accepted",
    ("sent", "decline"): "declined",
    ("sent", "expire"): "expired",
    ("sent", "withdraw"): "withdrawn",
    ("sent", "revise"): "withdrawn",
}


def _in_status(session: Session, w: World, status: str, frozen_clock: Any) -> Offer:
    if status == "draft":
        return drafted(session, w)
    if status == "pending_approval":
        return submitted(session, w)
    if status == "approved":
        offer = approved(session, w)
        done(session, offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id))
        return session.get(Offer, offer.id, populate_existing=True)
    offer, _ = sent(session, w)
    if status in ("accepted", "declined"):
        answer = {"answer": status, "reason": "personal" if status == "declined" else None}
        return done(session, offers.record_answer(session=session, actor=w.recruiter, offer_id=offer.id, **answer))
    if status == "expired":
        frozen_clock.set(T0 + 10 * DAY)
        offers.expire_due(session=session)
        session.commit()
    if status == "withdrawn":
        done(session, offers.withdraw_offer(session=session, actor=w.recruiter, offer_id=offer.id))
    return session.get(Offer, offer.id, populate_existing=True)


def _act(session: Session, w: World, offer: Offer, action: str, frozen_clock: Any) -> None:
    common = {"session": session, "offer_id": offer.id}
    if action == "submit":
        offers.submit_for_approval(actor=w.recruiter, **common)
    elif action in ("approve", "reject"):
        decision = "approved" if action == "approve" else "rejected"
        offers.decide_approval(actor=w.manager, decision=decision, comment="理由 / why", **common)
    elif action == "send":
        offers.send_offer_letter(actor=w.recruiter, subject="录用 Offer", text="正文 / body", **common)
    elif action == "accept":
        offers.record_answer(actor=w.recruiter, answer="accepted", **common)
    elif action == "decline":
        offers.record_answer(actor=w.recruiter, answer="declined", reason="location", **common)
    elif action == "expire":
        frozen_clock.set(datetime.combine(offer.response_deadline + DAY, datetime.min.time(), tzinfo=UTC) + DAY)
        offers.expire_due(session=session)
    elif action == "withdraw":
        offers.withdraw_offer(actor=w.recruiter, **common)
    elif action == "revise":
        offers.update_offer(actor=w.recruiter, version=offer.version, offer_in=form(level="P8"), **common)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_allowed_and_every_refused_move_of_the_status_machine(
    session, make, frozen_clock, started, status, action
) -> None:
    w = world(session, make)
    offer = _in_status(session, w, status, frozen_clock)
    assert offer.status == status
    want = ALLOWED.get((status, action))
    if want is None and action != "expire":
        with pytest.raises((InvalidTransition, ValidationError)):
            _act(session, w, offer, action, frozen_clock)
        session.rollback()
    else:
        _act(session, w, offer, action, frozen_clock)
        session.commit()
    session.expire_all()
    assert session.get(Offer, offer.id).status == (want or status)
    if action == "revise" and want is not None:
        revisions = session.exec(select(Offer).where(Offer.application_id == w.application.id)).all()
        assert sorted((o.revision, o.status) for o in revisions) == (
            [(1, "draft")] if status == "draft" else [(1, "withdrawn"), (2, "draft")]
        )


def test_the_transition_table_names_every_status_and_the_answered_ones_are_final() -> None:
    assert set(offers.TRANSITIONS) == set(OfferStatus)
    final = {s for s, targets in offers.TRANSITIONS.items() if not targets}
    assert final == {OfferStatus.accepted, OfferStatus.declined, OfferStatus.expired, OfferStatus.withdrawn}


# --------------------------------------------------------------------------- reading
def test_the_list_is_by_status_and_a_hiring_manager_sees_only_their_jobs(session, make) -> None:
    w = world(session, make)
    offer = submitted(session, w)
    other_job = make.job(actor=w.admin, hiring_manager_id=w.other_manager.id)
    other_person = make.candidate(actor=w.recruiter, job=other_job)
    other_app = session.exec(select(Application).where(Application.candidate_id == other_person.id)).one()
    done(session, move_stage(session=session, actor=w.recruiter, application_id=other_app.id, to_stage="offer"))
    other = done(
        session,
        offers.create_offer(session=session, actor=w.recruiter, offer_in=form() | {"application_id": other_app.id}),
    )
    everyone = offers.list_offers(session=session, actor=w.recruiter)
    assert [r.offer_id for r in everyone] == [offer.id, other.id]  # waiting for approval first
    assert everyone[0].approvals_waiting == 1 and not everyone[0].waiting_for_me
    mine = offers.list_offers(session=session, actor=w.manager)
    assert [(r.offer_id, r.waiting_for_me) for r in mine] == [(offer.id, True)]
    assert [r.offer_id for r in offers.list_offers(session=session, actor=w.recruiter, status="draft")] == [other.id]
    with pytest.raises(NotAllowed):
        offers.offer_detail(session=session, actor=w.manager, offer_id=other.id)
    with pytest.raises(NotAllowed):
        offers.list_offers(session=session, actor=w.interviewer)
    with pytest.raises(ValidationError):
        offers.list_offers(session=session, actor=w.recruiter, status="nonsense")


def test_the_detail_has_the_approvals_and_the_history_of_every_revision(session, make) -> None:
    w = world(session, make)
    old = approved(session, w)
    new = done(
        session,
        offers.update_offer(
            session=session, actor=w.recruiter, offer_id=old.id, version=old.version, offer_in=form(level="P7")
        ),  # a real change: a Save with nothing changed leaves the offer as it is
    )
    detail = offers.offer_detail(session=session, actor=w.manager, offer_id=new.id)
    assert [(r[1], r[2]) for r in detail.revisions] == [(2, "draft"), (1, "withdrawn")]
    actions = [h["action"] for h in detail.history]
    for done_action in ("create", "submit", "approval", "revise"):
        assert done_action in actions
    assert detail.can_edit is False and detail.my_approval_waiting is False
    assert offers.offer_detail(session=session, actor=w.recruiter, offer_id=new.id).can_edit is True


def test_the_form_starts_from_the_job_and_lists_applications_waiting_for_an_offer(session, make) -> None:
    w = world(session, make)
    defaults = offers.offer_form_defaults(session=session, actor=w.recruiter, application_id=w.application.id)
    assert (defaults["job_title"], defaults["location"]) == (w.job.title, w.job.location)
    assert [a for a, _, _ in offers.offer_applications(session=session, actor=w.recruiter)] == [w.application.id]
    drafted(session, w)
    assert offers.offer_applications(session=session, actor=w.recruiter) == []


def test_two_approvers_approving_at_the_same_moment_leave_the_offer_approved(engine, session, make) -> None:
    w = world(session, make)
    second = make.user("hiring_manager")
    offers.add_approver_rule(session=session, actor=w.admin, department="", user_id=second.id)
    session.commit()
    offer = submitted(session, w)
    start = Barrier(2)

    def decide(person: User) -> str:
        with action(engine) as s:
            start.wait()
            return str(offers.decide_approval(session=s, actor=person, offer_id=offer.id, decision="approved").status)

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(decide, [w.manager, second]))
    assert results == ["approved", "pending_approval"]
    session.expire_all()
    assert session.get(Offer, offer.id).status == "approved"


def test_a_candidate_answering_twice_at_the_same_moment_is_answered_once(engine, session, make, started) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    start = Barrier(2)

    def answer(_: int) -> str:
        try:
            with action(engine) as s:
                start.wait()
                return str(offers.answer_offer_by_link(session=s, token=token, answer="accepted").status)
        except offers.OfferLinkInvalid as exc:
            return exc.key

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(answer, [1, 2]))
    assert results == ["accepted", "offer_answer.link_used"]
    assert len(started) == 1
    session.expire_all()
    moves = session.exec(select(StageChange).where(StageChange.application_id == w.application.id)).all()
    assert [m.to_stage for m in moves].count("hired") == 1


def test_an_approver_who_left_after_being_asked_holds_nothing_up(session, make) -> None:
    w = world(session, make)
    leaving = make.user("hiring_manager")
    offers.add_approver_rule(session=session, actor=w.admin, department="", user_id=leaving.id)
    session.commit()
    offer = submitted(session, w)
    leaving.is_active = False
    session.add(leaving)
    session.commit()
    with pytest.raises(NotAllowed):
        offers.decide_approval(session=session, actor=leaving, offer_id=offer.id, decision="approved")
    session.rollback()
    offer = done(
        session, offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved")
    )
    assert offer.status == "approved"


# --------------------------------------------------------------------------- the browser trial's findings
def test_every_problem_of_the_offer_form_is_reported_at_once_each_on_its_field(session, make) -> None:
    w = world(session, make)
    with pytest.raises(ValidationError) as exc:
        drafted(
            session,
            w,
            job_title=" ",
            salary_amount="三万",
            start_date=TODAY - DAY,
            response_deadline=TODAY - 2 * DAY,
            probation_months=3,
            contract_months=12,
        )
    assert {f: key for f, (key, _) in exc.value.fields.items()} == {
        "job_title": "err.required",
        "salary_amount": "err.not_a_number",
        "start_date": "err.start_before_offer",
        "response_deadline": "err.deadline_past",
        "probation_months": "err.probation_over_cap",
    }
    session.rollback()
    assert count(session, Offer) == 0


def test_a_missing_pay_is_reported_together_with_a_bad_field(session, make) -> None:
    w = world(session, make)
    with pytest.raises(ValidationError) as exc:
        drafted(session, w, salary_amount="", terms="", location="x" * 500)
    assert exc.value.fields["salary_amount"][0] == "err.offer_pay_required"
    assert exc.value.fields["location"][0] == "err.too_long"


def test_an_edit_of_a_revision_replaced_meanwhile_is_told_which_revision_is_the_offer_now(session, make) -> None:
    w = world(session, make)
    old = approved(session, w)
    seen = old.version  # the version the second editor opened
    newer = done(
        session,
        offers.update_offer(session=session, actor=w.admin, offer_id=old.id, version=seen, offer_in=form(level="P9")),
    )
    with pytest.raises(Conflict) as exc:
        offers.update_offer(
            session=session, actor=w.recruiter, offer_id=old.id, version=seen, offer_in=form(level="P5")
        )
    assert exc.value.key == "err.offer_revised"
    assert (exc.value.current.id, exc.value.current.level, exc.value.params["revision"]) == (newer.id, "P9", 2)
    session.rollback()
    assert count(session, Offer) == 2


def test_a_rejection_and_its_comment_stay_visible_after_the_offer_is_revised_and_submitted_again(session, make) -> None:
    w = world(session, make)
    offer = submitted(session, w)
    offer = done(
        session,
        offers.decide_approval(
            session=session, actor=w.manager, offer_id=offer.id, decision="rejected", comment="薪资太高 Too high"
        ),
    )
    offer = done(
        session,
        offers.update_offer(
            session=session,
            actor=w.recruiter,
            offer_id=offer.id,
            version=offer.version,
            offer_in=form(salary_amount="28000"),
        ),
    )
    done(session, offers.submit_for_approval(session=session, actor=w.recruiter, offer_id=offer.id))
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id)
    assert [(a.decision, a.comment) for a in detail.approvals] == [("", "")]  # the new round waits
    assert [(e.revision, e.round, e.who, e.decision, e.comment) for e in detail.decisions] == [
        (1, 1, w.manager.name, "rejected", "薪资太高 Too high")
    ]
    done(session, offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved"))
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id)
    assert [(e.round, e.decision) for e in detail.decisions] == [(1, "rejected"), (2, "approved")]


def test_the_rounds_of_an_earlier_revision_show_on_the_new_one(session, make) -> None:
    w = world(session, make)
    old = approved(session, w)
    newer = done(
        session,
        offers.update_offer(
            session=session, actor=w.recruiter, offer_id=old.id, version=old.version, offer_in=form(level="P7")
        ),
    )
    assert newer.revision == 2
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=newer.id)
    assert [(e.revision, e.round, e.decision) for e in detail.decisions] == [(1, 1, "approved")]


def test_an_accepted_offer_leads_to_its_onboarding_plan(session, make) -> None:
    w = world(session, make)
    offer, _ = sent(session, w)
    done(session, offers.record_answer(session=session, actor=w.recruiter, offer_id=offer.id, answer="accepted"))
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id)
    plan = session.exec(select(OnboardingPlan).where(OnboardingPlan.offer_id == offer.id)).one()
    assert detail.plan_id == plan.id


def test_a_withdrawal_keeps_its_reason_and_a_too_long_reason_is_refused(session, make) -> None:
    w = world(session, make)
    offer = approved(session, w)
    with pytest.raises(ValidationError) as exc:
        offers.withdraw_offer(session=session, actor=w.recruiter, offer_id=offer.id, reason="x" * 2001)
    assert exc.value.fields["reason"][0] == "err.too_long"
    session.rollback()
    offer = session.get(Offer, offer.id)
    assert offer.status == "approved"
    done(
        session,
        offers.withdraw_offer(
            session=session, actor=w.recruiter, offer_id=offer.id, version=offer.version, reason="岗位取消 Role cut"
        ),
    )
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id)
    assert (detail.offer.status, detail.withdraw_reason) == ("withdrawn", "岗位取消 Role cut")


def test_an_offer_waiting_only_for_a_deactivated_approver_is_marked_stuck_with_their_name(session, make) -> None:
    w = world(session, make)
    offer = submitted(session, w)
    assert offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id).stuck is False
    w.manager.is_active = False
    session.add(w.manager)
    session.commit()
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id)
    assert (detail.stuck, detail.waiting_inactive) == (True, [w.manager.name])
    assert [a.active for a in detail.approvals] == [False]


def test_an_inactive_approver_beside_an_active_one_is_skipped_not_stuck(session, make) -> None:
    w = world(session, make)
    second = make.user("hiring_manager")
    offers.add_approver_rule(session=session, actor=w.admin, department="", user_id=second.id)
    offer = drafted(session, w)
    w.manager.is_active = False
    session.add(w.manager)
    session.commit()
    detail = offers.offer_detail(session=session, actor=w.recruiter, offer_id=offer.id)
    assert (detail.approvers_next, detail.approvers_skipped) == ([second.name], [w.manager.name])
    offer = done(session, offers.submit_for_approval(session=session, actor=w.recruiter, offer_id=offer.id))
    assert offer.status == "pending_approval"
    assert [r.approver_id for r in session.exec(select(OfferApproval))] == [second.id]


def test_closed_offers_are_listed_newest_first_so_the_limit_cuts_the_oldest(session, make) -> None:
    w = world(session, make)
    older = drafted(session, w, response_deadline=TODAY + 3 * DAY)
    done(session, offers.withdraw_offer(session=session, actor=w.recruiter, offer_id=older.id, reason="budget"))
    newer = drafted(session, w, response_deadline=TODAY + 10 * DAY)
    done(session, offers.withdraw_offer(session=session, actor=w.recruiter, offer_id=newer.id, reason="budget"))
    listed = offers.list_offers(session=session, actor=w.recruiter, status="withdrawn")
    assert [r.offer_id for r in listed] == [newer.id, older.id]
