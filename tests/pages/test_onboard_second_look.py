"""What a second look at the Onboard screen in the browser found (issue 11), on the new hire's page under AppTest:
the welcome mail section promised a mail "by itself on <a day in the past>" for a new hire who had already started,
though the worker sends none after the start date; and on the offers tab, an approver whose Approve or Reject came
after the offer was settled in another tab saw the offer settled and no word that their say was dropped; and a hiring
manager's probation outcome or check-in sent after the plan was closed in another tab vanished without a word, as did
a new offer saved after another tab had drafted that application's offer, and an answer recorded by hand, a
withdrawal or a submit pressed after the offer had moved on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from models.onboard import CheckIn, Offer, OnboardingPlan
from services.onboard import offers, welcome
from services.pipeline import candidates
from services.platform import db
from services.platform.i18n import fmt_date
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.followup_support import open_as, today
from tests.pages.support import assert_no_exception, submit, tr
from tests.pages.test_new_hire_pages import _as, _hire, _tab, _today, _token, _welcome_tab
from tests.pages.test_onboard_hires_page import _plan
from tests.pages.test_onboard_offers_page import ONBOARD, _at_offer_stage, _offer, _status


def _move_start(h, days_from_today: int) -> None:
    with db.session_scope() as session:
        plan = session.get(type(h.plan), h.plan.id)
        plan.start_date = _today() + timedelta(days=days_from_today)
        session.add(plan)


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_after_the_start_date_no_automatic_welcome_mail_is_promised(app_db) -> None:
    h = _hire()
    _move_start(h, -30)
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, "zh"))
    assert_no_exception(at)
    assert tr("nh.welcome_not_auto", "zh") in _captions(at)
    assert not [c for c in _captions(at) if c.startswith(tr("nh.welcome_due", "zh", date="")[:6])]
    with db.session_scope() as session:
        status = welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert status.welcome_auto is None
    # And the worker indeed sends none: the page told the truth.
    with db.session_scope() as session:
        assert welcome.send_due_welcome(session=session, plan_id=h.plan.id, today=_today()) is None


def test_after_the_start_date_a_working_link_is_not_said_to_be_replaced_by_a_mail(app_db) -> None:
    h = _hire()
    _move_start(h, -30)
    _token(h)
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, "en"))
    assert_no_exception(at)
    assert not [c for c in _captions(at) if "stops working then" in c]
    assert tr("nh.welcome_not_auto", "en") in _captions(at)


def test_when_the_welcome_day_has_passed_before_the_start_the_mail_is_said_to_go_today(app_db) -> None:
    h = _hire()
    _move_start(h, 1)  # the template's 3 days before the start: two days ago
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, "en"))
    assert_no_exception(at)
    assert tr("nh.welcome_due", "en", date=fmt_date(_today(), "en")) in _captions(at)
    with db.session_scope() as session:
        assert welcome.send_due_welcome(session=session, plan_id=h.plan.id, today=_today()) is not None


def test_before_the_welcome_day_the_mail_is_said_to_go_on_that_day(app_db) -> None:
    h = _hire()  # starts in 14 days
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, "zh"))
    with db.session_scope() as session:
        status = welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert status.welcome_auto == status.welcome_due == _today() + timedelta(days=14 - 3)
    assert tr("nh.welcome_due", "zh", date=fmt_date(status.welcome_due, "zh")) in _captions(at)


# --------------------------------------------------------------------------- an approval settled meanwhile
def _decide_button(at, offer_id: int, which: int):
    return [b for b in at.button if getattr(b, "form_id", "") == f"onboard_offers_decide_{offer_id}"][which]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_manager_whose_rejection_comes_after_the_offer_was_approved_meanwhile_is_told(
    demo_db, open_app, language
) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "pending_approval")
    at = open_as(open_app, "hiring_manager", ONBOARD, language, offer_id=str(offer_id))
    at.text_area(key=f"onboard_offers_comment_{offer_id}").input("薪资太高 / pay too high")
    with db.session_scope() as session:  # meanwhile an admin approves for the hiring manager (another tab)
        offers.decide_approval(
            session=session, actor=demo_user(ROLE_EMAILS["admin"]), offer_id=offer_id, decision="approved"
        )
        session.commit()
    _decide_button(at, offer_id, 1).click().run()  # Reject, on the form drawn before
    assert_no_exception(at)
    told = tr(
        "onboard_offers.decided_meanwhile",
        language,
        status=tr("offer_status.approved", language),
        decision=tr("onboard_offers.decision_rejected", language),
    )
    assert told in [w.value for w in at.warning]
    assert "薪资太高 / pay too high" in [t.value for t in at.text]  # what they wrote is not lost
    assert _status(offer_id) == "approved"
    at.run()  # the next run (any click) no longer repeats it
    assert told not in [w.value for w in at.warning]


def test_a_manager_who_approves_is_not_told_anything_was_lost(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "pending_approval")
    at = open_as(open_app, "hiring_manager", ONBOARD, "en", offer_id=str(offer_id))
    _decide_button(at, offer_id, 0).click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "approved"
    assert not [w.value for w in at.warning if "was not recorded" in w.value]


# --------------------------------------------------------------------------- a plan closed while the manager typed
def _started_plan() -> int:
    return _plan(start=today() - timedelta(days=10))  # started: check-ins and the outcome are open


def _closed_by_someone_else(plan_id: int, status: str = "passed") -> None:
    with db.session_scope() as session:  # the recruiter records the outcome in another tab
        plan = session.get(OnboardingPlan, plan_id)
        plan.status, plan.version = status, plan.version + 1
        session.add(plan)
        session.commit()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_managers_outcome_sent_after_the_plan_closed_meanwhile_is_told_not_dropped(
    demo_db, open_app, language
) -> None:
    plan_id = _started_plan()
    at = open_as(open_app, "hiring_manager", "pages/new_hire.py", language, plan=str(plan_id))
    at.radio(key="nh_outcome").set_value("not_passed")
    _closed_by_someone_else(plan_id)
    at = submit(at, "nh_outcome_form")
    assert_no_exception(at)
    told = tr("plans.closed_meanwhile", language, status=tr("plans.status_passed", language))
    assert told in [e.value for e in at.error]
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).status == "passed"
    at.run()  # said once: the next run is quiet
    assert told not in [e.value for e in at.error]


def test_a_managers_check_in_sent_after_the_plan_closed_meanwhile_is_told_not_dropped(demo_db, open_app) -> None:
    plan_id = _started_plan()
    at = open_as(open_app, "hiring_manager", "pages/new_hire.py", "en", plan=str(plan_id))
    with db.session_scope() as session:
        first = session.exec(select(CheckIn).where(CheckIn.plan_id == plan_id).order_by(CheckIn.day)).first()
    at.text_area(key=f"nh_ci_notes_{first.id}").input("settling in")
    _closed_by_someone_else(plan_id, "cancelled")
    at = submit(at, f"nh_ci_form_{first.id}")
    assert_no_exception(at)
    assert tr("plans.closed_meanwhile", "en", status=tr("plans.status_cancelled", "en")) in [e.value for e in at.error]
    with db.session_scope() as session:
        assert session.get(CheckIn, first.id).notes == ""


def test_a_managers_own_outcome_is_not_said_to_be_lost(demo_db, open_app) -> None:
    plan_id = _started_plan()
    at = open_as(open_app, "hiring_manager", "pages/new_hire.py", "en", plan=str(plan_id))
    at.radio(key="nh_outcome").set_value("passed")
    at = submit(at, "nh_outcome_form")
    assert_no_exception(at)
    assert not at.error
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).status == "passed"


# --------------------------------------------------------------------------- a new offer drafted twice
@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_new_offer_saved_after_another_tab_drafted_one_is_told_and_opens_that_offer_with_the_typing(
    demo_db, open_app, language
) -> None:
    app_id = _at_offer_stage()
    at = open_as(open_app, "recruiter", ONBOARD, language, application=str(app_id))
    form = f"onboard_offers_new_{app_id}"
    at.text_input(key=form + "_salary").input("31000")
    offer_id, _ = _offer(app_id)  # the same recruiter's other tab drafted it (salary 25000)
    next(b for b in at.button if getattr(b, "form_id", "") == form).click().run()
    assert_no_exception(at)
    assert tr("onboard_offers.new_not_saved", language) in [w.value for w in at.warning]
    with db.session_scope() as session:  # still the one offer, as the other tab saved it
        [offer] = session.exec(select(Offer).where(Offer.application_id == app_id)).all()
        assert (offer.id, offer.salary_amount) == (offer_id, Decimal("25000"))
    # That offer is open, its form as saved, and what was typed is listed beside it to take over.
    assert at.text_input(key=f"onboard_offers_edit_{offer_id}_salary").value == "25000"
    yours = tr("onboard_offers.your_value", language)
    [table] = [d.value for d in at.dataframe if yours in list(d.value.columns)]
    assert [tr("field.salary_amount", language), "25000", "31000"] in table.values.tolist()


def test_a_new_offer_saved_after_the_application_left_the_offer_stage_is_told(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    at = open_as(open_app, "recruiter", ONBOARD, "en", application=str(app_id))
    form = f"onboard_offers_new_{app_id}"
    with db.session_scope() as session:
        candidates.move_stage(
            session=session,
            actor=demo_user(ROLE_EMAILS["recruiter"]),
            application_id=app_id,
            to_stage="rejected",
            reason="role filled",
        )
        session.commit()
    next(b for b in at.button if getattr(b, "form_id", "") == form).click().run()
    assert_no_exception(at)
    assert tr("onboard_offers.new_not_saved", "en") in [w.value for w in at.warning]
    with db.session_scope() as session:
        assert session.exec(select(Offer).where(Offer.application_id == app_id)).first() is None


def test_a_new_offer_saved_normally_says_created_and_nothing_else(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    at = open_as(open_app, "recruiter", ONBOARD, "en", application=str(app_id))
    at.text_input(key=f"onboard_offers_new_{app_id}_salary").input("30000")
    next(b for b in at.button if getattr(b, "form_id", "") == f"onboard_offers_new_{app_id}").click().run()
    assert_no_exception(at)
    assert tr("onboard_offers.created", "en") in [s.value for s in at.success]
    assert tr("onboard_offers.new_not_saved", "en") not in [w.value for w in at.warning]


# --------------------------------------------------------------------------- an answer or a withdrawal sent too late
def _answered_by_hand_elsewhere(offer_id: int, answer: str = "accepted") -> None:
    with db.session_scope() as session:  # a colleague, or this recruiter's other tab
        offers.record_answer(
            session=session,
            actor=demo_user(ROLE_EMAILS["admin"]),
            offer_id=offer_id,
            answer=answer,
            reason=None if answer == "accepted" else "compensation",
        )
        session.commit()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_decline_recorded_after_the_offer_was_accepted_meanwhile_is_told_not_dropped(
    demo_db, open_app, language
) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "sent")
    at = open_as(open_app, "recruiter", ONBOARD, language, offer_id=str(offer_id))
    at.radio(key=f"onboard_offers_answer_kind_{offer_id}").set_value("declined")
    at.selectbox(key=f"onboard_offers_answer_reason_{offer_id}").set_value("competing_offer")
    _answered_by_hand_elsewhere(offer_id)
    next(b for b in at.button if getattr(b, "form_id", "") == f"onboard_offers_answer_{offer_id}").click().run()
    assert_no_exception(at)
    told = tr("onboard_offers.acted_meanwhile", language, status=tr("offer_status.accepted", language))
    assert told in [w.value for w in at.warning]
    assert _status(offer_id) == "accepted"
    at.run()
    assert told not in [w.value for w in at.warning]


def test_a_withdrawal_confirmed_after_the_offer_was_accepted_meanwhile_is_told(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "sent")
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    at.button(key=f"onboard_offers_withdraw_{offer_id}").click().run()
    _answered_by_hand_elsewhere(offer_id)
    [yes, _] = [b for b in at.button if getattr(b, "form_id", "") == f"onboard_offers_withdraw_form_{offer_id}"]
    yes.click().run()
    assert_no_exception(at)
    told = tr("onboard_offers.acted_meanwhile", "en", status=tr("offer_status.accepted", "en"))
    assert told in [w.value for w in at.warning]
    assert _status(offer_id) == "accepted"


def test_a_submit_pressed_after_a_colleague_submitted_the_draft_is_told(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id)
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    with db.session_scope() as session:
        offers.submit_for_approval(session=session, actor=demo_user(ROLE_EMAILS["admin"]), offer_id=offer_id)
        session.commit()
    at.button(key=f"onboard_offers_submit_{offer_id}").click().run()
    assert_no_exception(at)
    told = tr("onboard_offers.acted_meanwhile", "en", status=tr("offer_status.pending_approval", "en"))
    assert told in [w.value for w in at.warning]


def test_an_answer_recorded_normally_says_recorded_and_nothing_else(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "sent")
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    next(b for b in at.button if getattr(b, "form_id", "") == f"onboard_offers_answer_{offer_id}").click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "accepted"
    assert tr("onboard_offers.answer_recorded", "en") in [s.value for s in at.success]
    assert not [w.value for w in at.warning if "was not carried out" in w.value]
