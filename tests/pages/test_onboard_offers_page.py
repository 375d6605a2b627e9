"""The Onboard page's offers under AppTest, by role and in both languages: the list, a new offer with its field
messages, the manager's approval, the letter sent, the answer recorded, two editors; the approval settings; and the
candidate's public page (`?offer=<token>`): their offer, one answer, and a dead link that says why."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from models.candidate import Application
from models.job import Job
from models.mail import OutboxMessage
from models.onboard import ApproverRule, AppSetting, Offer
from services.onboard import offers
from services.pipeline import candidates
from services.platform import db
from tests.pages.conftest import ROLE_EMAILS, _default_language, demo_user
from tests.pages.followup_support import open_as, today
from tests.pages.support import all_text, assert_no_exception, tr

ONBOARD = "pages/onboard.py"
K = "onboard_offers_"


def _at_offer_stage(name: str = "林晓 Lin Xiao") -> int:
    """A new candidate of the demo recruiter, applying to a job the demo manager manages, at the offer stage."""
    recruiter = demo_user(ROLE_EMAILS["recruiter"])
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    with db.session_scope() as session:
        job = session.exec(select(Job).where(Job.hiring_manager_id == manager.id, Job.status == "open")).first()
        person = candidates.create_candidate(
            session=session,
            actor=recruiter,
            candidate_in={"name": name, "email": "lin.xiao@example.com"},
            job_id=job.id,
            allow_duplicate=True,
        )
        app = session.exec(select(Application).where(Application.candidate_id == person.id)).one()
        candidates.move_stage(session=session, actor=recruiter, application_id=app.id, to_stage="offer")
        session.commit()
        return app.id


def _form(**values: Any) -> dict[str, Any]:
    day = today()
    return {
        "job_title": "数据分析师 Data analyst",
        "salary_amount": "25000",
        "start_date": day + timedelta(days=30),
        "location": "上海 Shanghai",
        "probation_months": 3,
        "contract_months": 36,
        "response_deadline": day + timedelta(days=7),
    } | values


def _offer(app_id: int, status: str = "draft", **values: Any) -> tuple[int, str | None]:
    """An offer of `app_id` in `status`, made through the services; the letter's token once sent."""
    recruiter = demo_user(ROLE_EMAILS["recruiter"])
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    token = None
    with db.session_scope() as session:
        offer = offers.create_offer(
            session=session, actor=recruiter, offer_in=_form(**values) | {"application_id": app_id}
        )
        if status != "draft":
            offer = offers.submit_for_approval(session=session, actor=recruiter, offer_id=offer.id)
        if status in ("approved", "sent"):
            offer = offers.decide_approval(session=session, actor=manager, offer_id=offer.id, decision="approved")
        if status == "sent":
            letter = offers.prepare_offer_letter(session=session, actor=recruiter, offer_id=offer.id)
            token = re.search(r"\?offer=([A-Za-z0-9_\-]+)", letter.text).group(1)
            offers.send_offer_letter(
                session=session, actor=recruiter, offer_id=offer.id, subject=letter.subject, text=letter.text
            )
        session.commit()
        return offer.id, token


def _status(offer_id: int) -> str:
    with db.session_scope() as session:
        return str(session.get(Offer, offer_id).status)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", ["admin", "recruiter", "hiring_manager"])
def test_the_offers_tab_opens_for_each_role_in_both_languages(demo_db, open_app, role, language) -> None:
    at = open_as(open_app, role, ONBOARD, language)
    assert_no_exception(at)
    assert at.title[0].value == tr("nav.onboard", language)
    tables = [d for d in at.dataframe if (d.key or "").startswith(K + "table")]
    assert tables, all_text(at)
    # An offer opens from the table: the first row's panel shows without an error.
    at.session_state[tables[0].key] = {
        "selection": {"rows": [], "columns": [], "cells": [[0, tables[0].value.columns[0]]]}
    }
    at.run()
    assert_no_exception(at)
    assert any(s.value.startswith(tr("onboard_offers.offer_title", language, revision="")[:4]) for s in at.subheader)


def test_a_hiring_manager_sees_only_the_offers_of_their_jobs(demo_db, open_app) -> None:
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    with db.session_scope() as session:
        theirs = {r.offer_id for r in offers.list_offers(session=session, actor=manager)}
        everyone = {r.offer_id for r in offers.list_offers(session=session, actor=demo_user(ROLE_EMAILS["admin"]))}
    assert theirs < everyone
    at = open_as(open_app, "hiring_manager", ONBOARD)
    table = next(d for d in at.dataframe if (d.key or "").startswith(K + "table"))
    assert len(table.value) == len(theirs)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_recruiter_drafts_an_offer_from_the_application_link_with_messages_beside_the_fields(
    demo_db, open_app, language
) -> None:
    app_id = _at_offer_stage()
    at = open_as(open_app, "recruiter", ONBOARD, language, application=str(app_id))
    assert_no_exception(at)
    form = f"{K}new_{app_id}"
    at.text_input(key=form + "_salary").input("三万")
    at.number_input(key=form + "_contract").set_value(12)
    at.date_input(key=form + "_start").set_value(today() - timedelta(days=1))
    next(b for b in at.button if getattr(b, "form_id", "") == form).click().run()
    assert_no_exception(at)
    errors = [e.value for e in at.error]
    assert tr("err.not_a_number", language) in errors
    with db.session_scope() as session:
        assert session.exec(select(Offer).where(Offer.application_id == app_id)).first() is None
    at.text_input(key=form + "_salary").input("30000")
    at.date_input(key=form + "_start").set_value(today() + timedelta(days=30))
    at.number_input(key=form + "_probation").set_value(3)
    next(b for b in at.button if getattr(b, "form_id", "") == form).click().run()
    errors = [e.value for e in at.error]
    assert tr("err.probation_over_cap", language) in errors  # 3 months on a one-year contract
    at.number_input(key=form + "_probation").set_value(1)
    next(b for b in at.button if getattr(b, "form_id", "") == form).click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        offer = session.exec(select(Offer).where(Offer.application_id == app_id)).one()
    assert (offer.status, offer.probation_months, offer.contract_months) == ("draft", 1, 12)
    assert tr("onboard_offers.created", language) in [s.value for s in at.success]


def test_the_manager_approves_and_the_recruiter_sends_the_letter(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "pending_approval")
    at = open_as(open_app, "hiring_manager", ONBOARD, "en", offer_id=str(offer_id))
    assert_no_exception(at)
    # The manager reads the terms (once, as a table of text) above their say.
    terms = [d for d in at.dataframe if "数据分析师 Data analyst" in d.value.to_string()]
    assert len(terms) == 1
    at.text_area(key=f"{K}comment_{offer_id}").input("Fair terms")
    next(b for b in at.button if getattr(b, "form_id", "") == f"{K}decide_{offer_id}").click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "approved"

    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    at.button(key=f"{K}prepare_{offer_id}").click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        letter_id = session.get(Offer, offer_id).letter_mail_id
    body = at.text_area(key=f"{K}letter_body_{letter_id}")
    assert "?offer=" in body.value
    body.input(body.value + "\nSee you soon!\n")
    next(b for b in at.button if getattr(b, "form_id", "") == f"{K}letter_{letter_id}").click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "sent"
    with db.session_scope() as session:
        assert "See you soon!" in session.get(OutboxMessage, letter_id).text


def test_a_rejection_needs_a_comment_said_beside_it(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "pending_approval")
    at = open_as(open_app, "hiring_manager", ONBOARD, "zh", offer_id=str(offer_id))
    buttons = [b for b in at.button if getattr(b, "form_id", "") == f"{K}decide_{offer_id}"]
    buttons[1].click().run()  # reject, with no comment
    assert tr("err.reject_comment_required", "zh") in [e.value for e in at.error]
    assert _status(offer_id) == "pending_approval"


def _colleague_saves(offer_id: int, **values: Any) -> None:
    with db.session_scope() as session:
        offer = session.get(Offer, offer_id)
        offers.update_offer(
            session=session,
            actor=demo_user(ROLE_EMAILS["admin"]),
            offer_id=offer_id,
            version=offer.version,
            offer_in=_form(**values),
        )
        session.commit()


def _differences(at) -> list[list[str]]:
    """The rows of the table that lists what was saved beside what was typed."""
    yours = tr("onboard_offers.your_value", "en")
    return next(d for d in at.dataframe if yours in list(d.value.columns)).value.values.tolist()


def _save(at, form: str):
    return next(b for b in at.button if getattr(b, "form_id", "") == form).click().run()


def test_the_second_of_two_editors_sees_the_saved_values_and_what_they_typed_and_a_blind_save_overwrites_nothing(
    demo_db, open_app
) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id)
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    _colleague_saves(offer_id, level="P9")
    form = f"{K}edit_{offer_id}"
    at.text_input(key=form + "_level").input("P5")
    _save(at, form)
    assert_no_exception(at)
    assert tr("onboard_offers.conflict", "en", when="")[:30] in " ".join(w.value for w in at.warning)
    # The form now holds what the colleague saved; what was typed is listed beside it, nothing lost.
    assert at.text_input(key=form + "_level").value == "P9"
    assert _differences(at) == [[tr("field.level", "en"), "P9", "P5"]]
    with db.session_scope() as session:
        assert session.get(Offer, offer_id).level == "P9"
    # Pressing Save again saves what the form shows now: the colleague's change stays.
    _save(at, form)
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(Offer, offer_id).level == "P9"
    assert tr("onboard_offers.saved", "en") in [s.value for s in at.success]


def test_the_second_editor_can_take_their_typed_values_back_and_save_them_deliberately(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id)
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    _colleague_saves(offer_id, level="P9", location="北京 Beijing")
    form = f"{K}edit_{offer_id}"
    at.text_input(key=form + "_level").input("P5")
    _save(at, form)
    at.button(key=form + "_use_mine").click().run()
    assert_no_exception(at)
    assert at.text_input(key=form + "_level").value == "P5"
    assert at.text_input(key=form + "_loc").value == "上海 Shanghai"  # what this person's form held
    _save(at, form)
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(Offer, offer_id).level == "P5"


def test_an_editor_of_an_offer_revised_meanwhile_is_taken_to_the_new_revision_with_their_values_listed(
    demo_db, open_app
) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "approved")
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    _colleague_saves(offer_id, level="P9")  # an approved offer revised: a new revision in draft
    with db.session_scope() as session:
        newer = session.exec(select(Offer).where(Offer.application_id == app_id, Offer.status == "draft")).one().id
    form = f"{K}edit_{offer_id}"
    at.text_input(key=form + "_level").input("P5")
    _save(at, form)
    assert_no_exception(at)
    new_form = f"{K}edit_{newer}"
    assert at.text_input(key=new_form + "_level").value == "P9"
    assert [row[1:] for row in _differences(at)] == [["P9", "P5"]]
    with db.session_scope() as session:
        assert session.get(Offer, newer).level == "P9"
        assert len(session.exec(select(Offer).where(Offer.application_id == app_id)).all()) == 2


def test_the_recruiter_records_a_decline_by_hand(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "sent")
    at = open_as(open_app, "recruiter", ONBOARD, "zh", offer_id=str(offer_id))
    at.radio(key=f"{K}answer_kind_{offer_id}").set_value("declined")
    at.selectbox(key=f"{K}answer_reason_{offer_id}").set_value("competing_offer")
    next(b for b in at.button if getattr(b, "form_id", "") == f"{K}answer_{offer_id}").click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "declined"
    with db.session_scope() as session:
        assert session.get(Application, app_id).stage == "withdrawn"


def test_the_admin_turns_approval_off_and_names_an_approver(demo_db, open_app) -> None:
    at = open_as(open_app, "admin", "pages/onboard_settings.py", "en")
    assert_no_exception(at)
    at.toggle(key=K + "required").set_value(False).run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(AppSetting, "offer_approval_required").value == "0"
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    at.selectbox(key=K + "rule_person").set_value(manager.id)
    next(b for b in at.button if getattr(b, "form_id", "") == K + "add_rule").click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert [r.user_id for r in session.exec(select(ApproverRule))] == [manager.id]


# --------------------------------------------------------------------------- the candidate's page
def _open_offer(open_app, token: str, language: str = "zh"):
    """The candidate's page for `token` (the options of its lists formatted in `language`, the candidate's)."""
    _default_language(language)
    at = open_app()  # the candidate: nobody signed in
    at.query_params["offer"] = token
    return at.run()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_candidate_accepts_through_the_link_once(demo_db, open_app, language) -> None:
    app_id = _at_offer_stage()
    with db.session_scope() as session:
        person = session.get(Application, app_id).candidate_id
        from models.candidate import Candidate

        candidate = session.get(Candidate, person)
        candidate.language = language
        session.add(candidate)
        session.commit()
    offer_id, token = _offer(app_id, "sent")
    at = _open_offer(open_app, token, language)
    assert_no_exception(at)
    assert at.title[0].value == tr("offer_answer.title", language)
    terms = at.dataframe[0].value
    assert "数据分析师 Data analyst" in terms.to_string() and "上海 Shanghai" in terms.to_string()
    at.button(key="offer_answer_accept").click().run()
    assert_no_exception(at)
    assert tr("offer_answer.accepted", language) in [s.value for s in at.success]
    assert _status(offer_id) == "accepted"
    again = _open_offer(open_app, token, language)
    assert tr("offer_answer.link_used", language) in [i.value for i in again.info]
    assert not again.button or "offer_answer_accept" not in [b.key for b in again.button]


def test_the_candidate_declines_with_a_reason(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, token = _offer(app_id, "sent")
    at = _open_offer(open_app, token)
    next(b for b in at.button if getattr(b, "form_id", "") == "offer_answer_decline_form").click().run()
    assert tr("err.decline_reason_required", "zh") in [e.value for e in at.error]
    at.selectbox(key="offer_answer_reason").set_value("location")
    next(b for b in at.button if getattr(b, "form_id", "") == "offer_answer_decline_form").click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "declined"


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 43])
def test_a_bad_or_withdrawn_link_says_so_and_shows_no_offer(demo_db, open_app, token) -> None:
    at = _open_offer(open_app, token)
    assert_no_exception(at)
    assert tr("offer_answer.link_invalid", "zh") in [i.value for i in at.info]
    assert not at.dataframe
    app_id = _at_offer_stage()
    offer_id, real = _offer(app_id, "sent")
    with db.session_scope() as session:
        offers.withdraw_offer(session=session, actor=demo_user(ROLE_EMAILS["recruiter"]), offer_id=offer_id)
        session.commit()
    at = _open_offer(open_app, real)
    assert tr("offer_answer.link_withdrawn", "zh") in [i.value for i in at.info]
    assert not at.dataframe


def test_hostile_names_show_as_text(demo_db, open_app) -> None:
    hostile = "![x](/session/end) **bold**"
    app_id = _at_offer_stage(name=hostile)
    offer_id, _ = _offer(app_id)
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    assert_no_exception(at)
    assert any(hostile in t.value for t in at.text)
    assert not any(hostile in m.value for m in at.markdown)


def test_the_candidate_page_links_an_application_at_the_offer_stage_to_its_offer(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    with db.session_scope() as session:
        candidate_id = session.get(Application, app_id).candidate_id
    at = open_as(open_app, "recruiter", "pages/candidates.py", "en", id=str(candidate_id))
    assert_no_exception(at)
    links = [e for e in at.get("page_link") if e.proto.label == tr("cand.offer", "en")]
    assert len(links) == 1
    assert links[0].proto.query_string == f"application={app_id}"
    # Followed, the new offer's form is open for that application.
    at = open_as(open_app, "recruiter", ONBOARD, "en", application=str(app_id))
    assert at.text_input(key=f"{K}new_{app_id}_title").value


# --------------------------------------------------------------------------- the browser trial's findings
def _deactivate(email: str) -> None:
    from models.user import User

    with db.session_scope() as session:
        person = session.exec(select(User).where(User.email == email)).one()
        person.is_active = False
        session.add(person)
        session.commit()


def _approval(on: bool) -> None:
    with db.session_scope() as session:
        offers.set_approval_required(session=session, actor=demo_user(ROLE_EMAILS["admin"]), required=on)
        session.commit()


def test_every_problem_of_the_offer_form_shows_at_once_beside_its_field(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    at = open_as(open_app, "recruiter", ONBOARD, "en", application=str(app_id))
    form = f"{K}new_{app_id}"
    at.text_input(key=form + "_salary").input("三万")
    at.number_input(key=form + "_contract").set_value(12)
    at.date_input(key=form + "_start").set_value(today() - timedelta(days=1))
    _save(at, form)
    assert_no_exception(at)
    errors = [e.value for e in at.error]
    for key in ("err.not_a_number", "err.probation_over_cap", "err.start_before_offer"):
        assert tr(key, "en") in errors, (key, errors)
    # What was typed stays in the form.
    assert at.text_input(key=form + "_salary").value == "三万"
    with db.session_scope() as session:
        assert session.exec(select(Offer).where(Offer.application_id == app_id)).first() is None


@pytest.mark.parametrize("language", ["zh", "en"])
def test_submitting_after_approval_was_turned_off_meanwhile_says_the_offer_is_approved(
    demo_db, open_app, language
) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id)
    at = open_as(open_app, "recruiter", ONBOARD, language, offer_id=str(offer_id))
    _approval(False)  # an admin, meanwhile
    at.button(key=f"{K}submit_{offer_id}").click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "approved"
    assert [s.value for s in at.success] == [tr("onboard_offers.approved_no_approval", language)]


def test_submitting_with_approval_on_says_submitted(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id)
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    at.button(key=f"{K}submit_{offer_id}").click().run()
    assert _status(offer_id) == "pending_approval"
    assert [s.value for s in at.success] == [tr("onboard_offers.submitted", "en")]


def test_a_draft_whose_only_approver_left_warns_and_submitting_is_refused_naming_them(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id)
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    _deactivate(ROLE_EMAILS["hiring_manager"])
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    warnings = " ".join(w.value for w in at.warning)
    assert manager.name in warnings and tr("onboard_offers.name_another", "en") in warnings
    at.button(key=f"{K}submit_{offer_id}").click().run()
    assert_no_exception(at)
    assert tr("err.offer_approver_inactive", "en", names=manager.name) in [e.value for e in at.error]
    assert _status(offer_id) == "draft"


def test_an_offer_waiting_only_for_a_deactivated_approver_says_an_admin_must_act(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "pending_approval")
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    _deactivate(ROLE_EMAILS["hiring_manager"])
    at = open_as(open_app, "recruiter", ONBOARD, "zh", offer_id=str(offer_id))
    assert_no_exception(at)
    assert tr("onboard_offers.stuck", "zh", names=manager.name) in [w.value for w in at.warning]


def test_a_rejection_comment_stays_on_the_offer_after_it_is_submitted_again(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "pending_approval")
    with db.session_scope() as session:
        offers.decide_approval(
            session=session,
            actor=demo_user(ROLE_EMAILS["hiring_manager"]),
            offer_id=offer_id,
            decision="rejected",
            comment="Level too high",
        )
        offers.submit_for_approval(session=session, actor=demo_user(ROLE_EMAILS["recruiter"]), offer_id=offer_id)
        session.commit()
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    assert_no_exception(at)
    rounds = next(d for d in at.dataframe if tr("onboard_offers.round", "en") in list(d.value.columns)).value
    assert "Level too high" in rounds[tr("field.comment", "en")].tolist()


def test_a_rejected_draft_shows_who_rejected_it_and_why(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "pending_approval")
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    with db.session_scope() as session:
        offers.decide_approval(
            session=session, actor=manager, offer_id=offer_id, decision="rejected", comment="**Level** too high"
        )
        session.commit()
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    assert tr("onboard_offers.rejected_by", "en", name=manager.name) in [w.value for w in at.warning]
    assert "**Level** too high" in [t.value for t in at.text]  # as text, not Markdown


def test_an_accepted_offer_shows_its_terms_and_links_to_the_new_hires_plan(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "sent")
    with db.session_scope() as session:
        offers.record_answer(
            session=session, actor=demo_user(ROLE_EMAILS["recruiter"]), offer_id=offer_id, answer="accepted"
        )
        session.commit()
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    assert_no_exception(at)
    assert [d for d in at.dataframe if "数据分析师 Data analyst" in d.value.to_string()]
    with db.session_scope() as session:
        from models.onboard import OnboardingPlan

        plan_id = session.exec(select(OnboardingPlan.id).where(OnboardingPlan.offer_id == offer_id)).one()
    links = [p for p in at.get("page_link") if p.proto.label == tr("onboard_offers.open_plan", "en")]
    assert len(links) == 1 and links[0].proto.query_string == f"plan={plan_id}"  # the new hire's page of this plan


def test_a_declined_offer_shows_its_terms_and_the_reason(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "sent")
    with db.session_scope() as session:
        offers.record_answer(
            session=session,
            actor=demo_user(ROLE_EMAILS["recruiter"]),
            offer_id=offer_id,
            answer="declined",
            reason="other",
            text="Moving abroad",
        )
        session.commit()
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    assert [d for d in at.dataframe if "数据分析师 Data analyst" in d.value.to_string()]
    assert any("Moving abroad" in t.value for t in at.text)


def test_withdrawing_asks_first_and_keeps_the_reason(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id, "sent")
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    at.button(key=f"{K}withdraw_{offer_id}").click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "sent"  # only asked
    assert tr("onboard_offers.withdraw_confirm", "en") in [w.value for w in at.warning]
    buttons = [b for b in at.button if getattr(b, "form_id", "") == f"{K}withdraw_form_{offer_id}"]
    buttons[1].click().run()  # cancel
    assert _status(offer_id) == "sent"
    assert tr("onboard_offers.withdraw_confirm", "en") not in [w.value for w in at.warning]
    at.button(key=f"{K}withdraw_{offer_id}").click().run()
    at.text_area(key=f"{K}withdraw_reason_{offer_id}").input("Headcount frozen")
    buttons = [b for b in at.button if getattr(b, "form_id", "") == f"{K}withdraw_form_{offer_id}"]
    buttons[0].click().run()
    assert_no_exception(at)
    assert _status(offer_id) == "withdrawn"
    assert f"{tr('onboard_offers.withdraw_reason', 'en')}: Headcount frozen" in [t.value for t in at.text]


def test_naming_an_approver_twice_says_they_already_are_one_and_removing_asks_first(demo_db, open_app) -> None:
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    with db.session_scope() as session:
        offers.add_approver_rule(
            session=session, actor=demo_user(ROLE_EMAILS["admin"]), department="", user_id=manager.id
        )
        session.commit()
    at = open_as(open_app, "admin", "pages/onboard_settings.py", "en")
    at.selectbox(key=K + "rule_person").set_value(manager.id)
    next(b for b in at.button if getattr(b, "form_id", "") == K + "add_rule").click().run()
    assert_no_exception(at)
    assert tr("onboard_offers.added", "en") not in [s.value for s in at.success]
    assert any(w.value.startswith(manager.name.split()[0]) and "already" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]
    at.button(key=K + "remove").click().run()
    with db.session_scope() as session:
        assert len(session.exec(select(ApproverRule)).all()) == 1  # only asked
    at.button(key=K + "remove_yes").click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.exec(select(ApproverRule)).all() == []


def test_a_link_to_an_application_not_at_the_offer_stage_says_why(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    with db.session_scope() as session:
        candidates.move_stage(
            session=session,
            actor=demo_user(ROLE_EMAILS["recruiter"]),
            application_id=app_id,
            to_stage="withdrawn",
            reason="Took another job",
        )
        session.commit()
    at = open_as(open_app, "recruiter", ONBOARD, "en", application=str(app_id))
    assert_no_exception(at)
    assert any(tr("stage.withdrawn", "en") in i.value and "Lin Xiao" in i.value for i in at.info), [
        i.value for i in at.info
    ]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_link_to_an_unknown_application_says_not_found(demo_db, open_app, language) -> None:
    at = open_as(open_app, "recruiter", ONBOARD, language, application="987654")
    assert_no_exception(at)
    assert tr("onboard_offers.application_not_found", language, id=987654) in [w.value for w in at.warning]


def test_what_was_typed_into_an_offer_withdrawn_meanwhile_is_listed_not_lost(demo_db, open_app) -> None:
    app_id = _at_offer_stage()
    offer_id, _ = _offer(app_id)
    at = open_as(open_app, "recruiter", ONBOARD, "en", offer_id=str(offer_id))
    with db.session_scope() as session:  # a colleague withdraws it
        offers.withdraw_offer(session=session, actor=demo_user(ROLE_EMAILS["admin"]), offer_id=offer_id)
        session.commit()
    form = f"{K}edit_{offer_id}"
    at.text_input(key=form + "_level").input("P5")
    _save(at, form)
    assert_no_exception(at)
    assert tr("onboard_offers.closed_meanwhile", "en", status=tr("offer_status.withdrawn", "en")) in [
        w.value for w in at.warning
    ]
    typed = dict(_differences(at))
    assert typed[tr("field.level", "en")] == "P5"
    at.run()  # still listed on the next run, until dismissed
    assert dict(_differences(at))[tr("field.level", "en")] == "P5"
    at.button(key=form + "_dismiss").click().run()
    assert tr("onboard_offers.your_value", "en") not in " ".join(str(list(d.value.columns)) for d in at.dataframe)
