"""Privacy (issue 13), notice and consent, under AppTest: the admins' notice tab and the candidate's Privacy tab
(ui.privacy_consent, run on their own: the Privacy page and the candidate page compose them with the other helpers'
sections) in both languages, and the public consent and notice pages opened by their links."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from models.candidate import Candidate
from models.followup import PoolEntry
from models.mail import OutboxMessage
from models.privacy import ConsentLink, ConsentRecord, PrivacyNotice
from models.user import User
from services.follow_up import followup
from services.pipeline import candidates
from services.platform import db
from services.privacy import consent, notices
from tests import factories
from tests.pages.conftest import _default_language
from tests.pages.support import all_text, assert_no_exception, submit, tr
from ui.common import USER_KEY

HOSTILE = "![x](/session/end) <script>alert(1)</script> =1+2"


def _notice_tab() -> None:
    from ui.privacy_consent import notice_section

    notice_section()


def _privacy_tab(candidate_id: int) -> None:
    from services.pipeline import candidates
    from ui.common import current_user, db
    from ui.privacy_consent import candidate_consent

    with db() as session:
        detail = candidates.get_candidate_detail(session=session, actor=current_user(), candidate_id=candidate_id)
    candidate_consent(detail)


def _run(fn: Any, user: User, *args: Any) -> AppTest:
    _default_language(user.language)
    at = AppTest.from_function(fn, args=args, default_timeout=30)
    at.session_state[USER_KEY] = user
    return at.run()


def _people(language: str = "zh") -> tuple[User, User, User, Candidate]:
    with db.session_scope() as session:
        make = factories.Factory(session)
        admin = make.user("admin,recruiter", language=language)
        recruiter = make.user("recruiter", language=language)
        manager = make.user("hiring_manager", language=language)
        job = make.job(actor=admin, hiring_manager_id=manager.id)
        person = make.candidate(actor=recruiter, job=job, source="headhunter")
        return admin, recruiter, manager, person


def _rows(model: Any) -> list[Any]:
    with db.session_scope() as session:
        return list(session.exec(select(model)))


# --------------------------------------------------------------------------- the admins' notice tab
@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_admin_writes_publishes_and_cannot_delete_a_published_notice(app_db, language) -> None:
    admin, *_ = _people(language)
    at = _run(_notice_tab, admin)
    assert_no_exception(at)
    assert tr("privacy.notice_default_in_use", language) in all_text(at)
    at.text_area(key="privacy_notice_text_zh_0").input("我们如何处理您的数据 " + HOSTILE)
    at.text_area(key="privacy_notice_text_en_0").input("How we handle your data " + HOSTILE)
    at = submit(at, "privacy_notice_new_0")
    assert_no_exception(at)
    [notice] = _rows(PrivacyNotice)
    assert notice.published_at is None and notice.text_en.endswith(HOSTILE)
    texts = [t.value for t in at.text]
    assert any(HOSTILE in t for t in texts)  # shown as text, never as markup
    at.button(key=f"privacy_notice_publish_{notice.id}").click().run()
    assert_no_exception(at)
    assert tr("privacy.notice_current", language) in all_text(at)
    assert not [b for b in at.button if b.key == f"privacy_notice_delete_{notice.id}"]  # published: no delete


def test_an_empty_notice_is_refused_under_its_fields_and_a_draft_can_be_deleted(app_db) -> None:
    admin, *_ = _people("en")
    at = _run(_notice_tab, admin)
    at = submit(at, "privacy_notice_new_0")
    assert len(at.error) >= 1 and not _rows(PrivacyNotice)
    at.text_area(key="privacy_notice_text_zh_0").input("草稿")
    at.text_area(key="privacy_notice_text_en_0").input("Draft")
    at = submit(at, "privacy_notice_new_0")
    [draft] = _rows(PrivacyNotice)
    at.button(key=f"privacy_notice_delete_{draft.id}").click().run()
    assert_no_exception(at)
    assert not _rows(PrivacyNotice)


# --------------------------------------------------------------------------- the candidate's Privacy tab
@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_recruiter_records_consent_on_the_privacy_tab_and_sees_its_history(app_db, language) -> None:
    _, recruiter, _, person = _people(language)
    at = _run(_privacy_tab, recruiter, person.id)
    assert_no_exception(at)
    assert tr("privacy.sourced_not_told", language) in all_text(at)
    prefix = f"cand_privacy_consent_{person.id}_"
    at.selectbox(key=prefix + "purpose").set_value("talent_pool")
    at.radio(key=prefix + "given").set_value("give")
    at.text_input(key=prefix + "note").input(HOSTILE)
    at = submit(at, prefix + "form")
    assert_no_exception(at)
    [record] = _rows(ConsentRecord)
    assert (record.given, record.method, record.note) == (True, "form", HOSTILE)
    assert _rows(Candidate)[0].consent
    fresh = f"cand_privacy_consent_{person.id}_1_"  # once recorded, a fresh form: a second click records nothing
    assert at.text_input(key=fresh + "note").value == ""
    at.radio(key=fresh + "given").set_value("withdraw")
    at = submit(at, fresh + "form")
    assert_no_exception(at)
    *_, state, history = [frame.value for frame in at.dataframe]  # facts, consent per purpose, history
    assert len(history) == 2 and HOSTILE in history.to_string()
    assert tr("privacy.state_withdrawn", language) in state.to_string()


def test_a_recruiter_records_the_legal_basis_and_the_notice_shown(app_db) -> None:
    _, recruiter, _, person = _people("en")
    with db.session_scope() as session:
        notice = notices.ensure_current_notice(session=session)
        session.commit()
    at = _run(_privacy_tab, recruiter, person.id)
    prefix = f"cand_privacy_facts_form_{person.id}_v{person.version}_"
    at.selectbox(key=prefix + "basis").set_value("consent")
    at.selectbox(key=prefix + "notice").set_value(notice.id)
    at = submit(at, prefix + "form")
    assert_no_exception(at)
    saved = _rows(Candidate)[0]
    assert (saved.legal_basis, saved.notice_id) == ("consent", notice.id)


def test_before_any_version_is_published_the_built_in_notice_can_be_recorded_as_shown(app_db) -> None:
    _, recruiter, _, person = _people("zh")
    at = _run(_privacy_tab, recruiter, person.id)
    prefix = f"cand_privacy_facts_form_{person.id}_v{person.version}_"
    at.selectbox(key=prefix + "notice").set_value(consent.CURRENT_NOTICE)
    at = submit(at, prefix + "form")
    assert_no_exception(at)
    [notice] = _rows(PrivacyNotice)
    assert notice.version == 1 and _rows(Candidate)[0].notice_id == notice.id


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_hiring_manager_reads_the_privacy_tab_without_forms(app_db, language) -> None:
    _, _, manager, person = _people(language)
    at = _run(_privacy_tab, manager, person.id)
    assert_no_exception(at)
    assert tr("privacy.read_only", language) in all_text(at)
    assert not [f for f in at.button if getattr(f, "form_id", "").startswith("cand_privacy_")]


# --------------------------------------------------------------------------- the public pages
def _mail_token(recruiter: User, person: Candidate) -> str:
    with db.session_scope() as session:
        [app] = candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=person.id).applications
        mail = followup.prepare_candidate_mail(
            session=session, actor=recruiter, application_id=app.application.id, template="thank_you"
        )
        session.commit()
        found = re.search(r"\?consent=([A-Za-z0-9_\-]+)", mail.text)
        assert found
        return found.group(1)


def _open(open_app: Any, param: str, value: str) -> AppTest:
    at = open_app()  # the candidate: nobody signed in
    at.query_params[param] = value
    return at.run()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_candidate_withdraws_by_their_link_in_their_language_and_the_link_then_refuses(
    app_db, open_app, language
) -> None:
    _, recruiter, _, person = _people()
    with db.session_scope() as session:
        row = session.get(Candidate, person.id)
        row.language = language
        session.add(row)
        session.commit()
        consent.record_consent(
            session=session,
            actor=recruiter,
            consent_in={"candidate_id": person.id, "purpose": "talent_pool", "given": True},
        )
        followup.add_to_pool(
            session=session,
            actor=recruiter,
            entry_in={"candidate_id": person.id, "reason": "备选", "revisit_on": "2030-01-01"},
        )
        session.commit()
    token = _mail_token(recruiter, person)
    _default_language(language)  # the radio's labels, formatted again outside the run, in the candidate's language
    at = _open(open_app, "consent", token)
    assert_no_exception(at)
    assert tr("consent.now_given", language) in all_text(at)
    at.radio(key="consent_page_choice").set_value("withdraw")
    at.button(key="consent_page_send").click().run()
    assert_no_exception(at)
    assert tr("consent.done_withdraw", language) in all_text(at)
    assert [e.status for e in _rows(PoolEntry)] == ["removed"]
    again = _open(open_app, "consent", token)
    assert tr("consent.link_invalid", language) in all_text(again)
    assert not again.button


def test_an_expired_or_garbled_link_is_refused_politely(app_db, open_app) -> None:
    _, recruiter, _, person = _people()
    token = _mail_token(recruiter, person)
    with db.session_scope() as session:
        for link in session.exec(select(ConsentLink)):
            link.expires_at = link.created_at - timedelta(seconds=1)
            session.add(link)
        session.commit()
    for value in (token, "garbled", "<script>"):
        at = _open(open_app, "consent", value)
        assert_no_exception(at)
        assert tr("consent.link_invalid", "zh") in all_text(at)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_public_notice_shows_the_current_text_in_the_asked_language(app_db, open_app, language) -> None:
    at = open_app()
    at.query_params["notice"] = "current"
    at.query_params["lang"] = language
    at.run()
    assert_no_exception(at)
    assert tr("privacy_notice.title", language) in all_text(at)
    expected = tr("privacy.default_notice", language).splitlines()[0]
    assert any(expected in str(h.proto.body) for h in at.get("html"))
    missing = _open(open_app, "notice", "999")
    assert tr("privacy_notice.not_found", "zh") in all_text(missing)


def test_a_mail_footer_link_leads_to_a_page_that_exists(app_db) -> None:
    _, recruiter, _, person = _people()
    _mail_token(recruiter, person)
    [mail] = _rows(OutboxMessage)
    assert "?notice=current" in mail.text and "?consent=" in mail.text


def test_the_public_notice_shows_hostile_admin_text_as_text(app_db, open_app) -> None:
    admin, *_ = _people()
    with db.session_scope() as session:
        notice = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": HOSTILE, "text_en": HOSTILE})
        notices.publish_notice(session=session, actor=admin, notice_id=notice.id)
        session.commit()
    at = _open(open_app, "notice", "1")
    assert_no_exception(at)
    [body] = [str(h.proto.body) for h in at.get("html")]
    assert "&lt;script&gt;" in body and "<script>" not in body


# --------------------------------------------------------------------------- the notice linked from the public pages
def _notice_linked(at: AppTest) -> bool:
    return any("?notice=current" in str(c.value) for c in at.caption)


def test_the_survey_page_links_to_the_notice(app_db, open_app) -> None:
    _, recruiter, _, person = _people()
    with db.session_scope() as session:
        [app] = candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=person.id).applications
        mail = followup.prepare_candidate_mail(
            session=session, actor=recruiter, application_id=app.application.id, template="survey_invite"
        )
        session.commit()
    found = re.search(r"\?survey=([A-Za-z0-9_\-]+)", mail.text)
    assert found
    at = _open(open_app, "survey", found.group(1))
    assert_no_exception(at)
    assert _notice_linked(at)


def test_the_new_hires_page_links_to_the_notice(app_db, open_app) -> None:
    from urllib.parse import parse_qs, urlparse

    from services.onboard import welcome
    from tests.services.test_training import a_plan

    with db.session_scope() as session:
        hire = a_plan(factories.Factory(session), start=date.today() + timedelta(days=14))
        url = welcome.issue_link(session=session, actor=hire.recruiter, plan_id=hire.plan.id)
        session.commit()
    at = _open(open_app, "welcome", parse_qs(urlparse(url).query)["welcome"][0])
    assert_no_exception(at)
    assert _notice_linked(at)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_privacy_page_opens_on_the_notice_tab_for_an_admin(app_db, open_app, language) -> None:
    admin, *_ = _people(language)
    at = open_app(admin).run()
    at.switch_page("pages/privacy.py").run()
    assert_no_exception(at)
    assert tr("privacy.notice_new", language) in all_text(at)


def test_the_offer_answer_page_links_to_the_notice(demo_db, open_app) -> None:
    from tests.pages.test_onboard_offers_page import _at_offer_stage, _offer

    _, token = _offer(_at_offer_stage(), "sent")
    assert token
    letter = [m for m in _rows(OutboxMessage) if m.template == "offer_letter"][-1]  # (the demo has letters of its own)
    assert "?consent=" in letter.text and "?consent=" in letter.html  # the letter carries the footer, as sent
    at = _open(open_app, "offer", token)
    assert_no_exception(at)
    assert _notice_linked(at)


def test_once_a_notice_is_saved_its_form_is_empty_and_the_same_text_again_is_refused(app_db) -> None:
    admin, *_ = _people("en")
    at = _run(_notice_tab, admin)
    other_tab = _run(_notice_tab, admin)
    for tab in (at, other_tab):
        tab.text_area(key="privacy_notice_text_zh_0").input("草稿")
        tab.text_area(key="privacy_notice_text_en_0").input("Draft")
    at = submit(at, "privacy_notice_new_0")
    assert_no_exception(at)
    assert at.text_area(key="privacy_notice_text_zh_1").value == ""  # a fresh form: a second click saves nothing
    other_tab = submit(other_tab, "privacy_notice_new_0")
    assert_no_exception(other_tab)
    assert len(_rows(PrivacyNotice)) == 1
    assert any("already has exactly this text" in e.value for e in other_tab.error)


def test_the_legal_basis_saved_meanwhile_in_another_tab_is_said_not_silently_dropped(app_db) -> None:
    _, recruiter, _, person = _people("en")
    first = _run(_privacy_tab, recruiter, person.id)
    second = _run(_privacy_tab, recruiter, person.id)
    prefix = f"cand_privacy_facts_form_{person.id}_v{person.version}_"
    first.selectbox(key=prefix + "basis").set_value("consent")
    first = submit(first, prefix + "form")
    assert_no_exception(first)
    assert not first.error  # the tab that saved is not told of a conflict with itself
    second.selectbox(key=prefix + "basis").set_value("pre_contract")
    second.date_input(key=prefix + "told").set_value(date(2026, 1, 5))
    second = submit(second, prefix + "form")
    assert_no_exception(second)
    assert _rows(Candidate)[0].legal_basis == "consent"  # the first save stands
    assert second.error, "the second tab's save, refused as stale, must say so"
