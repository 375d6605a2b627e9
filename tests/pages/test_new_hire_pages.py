"""The new hire's screens under AppTest: HR's Training and New hire's page tabs (ui.onboard_training,
ui.onboard_welcome, run on their own: pages/new_hire.py, which composes them, belongs to the plans part) by role and
language, and the public welcome page opened by its private link — valid, revoked, unknown, in both languages.

Plans are built from model rows (tests.services.test_training.a_plan): the plans part of issue 11 owns plan creation.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from models.common import utcnow
from models.mail import OutboxMessage
from models.onboard import ChecklistItem, TrainingSession
from models.user import User
from services.onboard import materials, training, welcome
from services.platform import db
from services.platform.config import get_settings
from services.platform.i18n import fmt_date
from tests import factories
from tests.pages.conftest import _default_language
from tests.pages.support import all_text, assert_no_exception, click_cell, element_after, submit, tr
from tests.services.test_training import Hire, a_plan
from ui.common import USER_KEY, md_escape

HOSTILE = "![x](/session/end) **bold** <b>tag</b>"


def _today() -> date:
    return utcnow().astimezone(get_settings().tz).date()


def _hire(language: str = "zh", **kw: Any) -> Hire:
    with db.session_scope() as session:
        return a_plan(factories.Factory(session), start=_today() + timedelta(days=14), language=language, **kw)


def _as(user: User, language: str) -> User:
    with db.session_scope() as session:
        row = session.get(User, user.id)
        row.language = language
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def _training_tab(plan_id: int) -> None:
    from ui.onboard_training import sessions_tab

    sessions_tab(plan_id)


def _welcome_tab(plan_id: int) -> None:
    from ui.onboard_welcome import welcome_tab

    welcome_tab(plan_id)


def _tab(fn: Any, plan_id: int, user: User) -> AppTest:
    _default_language(user.language)
    at = AppTest.from_function(fn, args=(plan_id,), default_timeout=30)
    at.session_state[USER_KEY] = user
    return at.run()


def _token(h: Hire) -> str:
    with db.session_scope() as session:
        url = welcome.issue_link(session=session, actor=h.recruiter, plan_id=h.plan.id)
    return parse_qs(urlparse(url).query)["welcome"][0]


def _open_welcome(open_app: Any, token: str) -> AppTest:
    at = open_app()  # the new hire: nobody signed in
    at.query_params["welcome"] = token
    return at.run()


def _rows(model: Any) -> list[Any]:
    with db.session_scope() as session:
        return list(session.exec(select(model)))


# --------------------------------------------------------------------------- HR: training tab
@pytest.mark.parametrize("language", ["zh", "en"])
def test_hr_adds_a_training_session_and_the_invitations_go_to_the_outbox(app_db, language) -> None:
    h = _hire()
    at = _tab(_training_tab, h.plan.id, _as(h.recruiter, language))
    assert_no_exception(at)
    assert tr("nh.training_none", language) in [i.value for i in at.info]
    at.text_input(key="nh_tr_new_0_title").input("入职培训 Orientation")
    at.date_input(key="nh_tr_new_0_day").set_value(_today() + timedelta(days=14))
    at.time_input(key="nh_tr_new_0_start").set_value(time(10, 0))
    at.text_input(key="nh_tr_new_0_location").input("3 楼大会议室")
    at.multiselect(key="nh_tr_new_0_attendees").set_value([h.buddy.id])
    submit(at, "nh_tr_new_0")
    assert_no_exception(at)
    [row] = _rows(TrainingSession)
    assert (row.title, row.location, row.attendee_ids) == ("入职培训 Orientation", "3 楼大会议室", str(h.buddy.id))
    assert sorted(m.to_addrs for m in _rows(OutboxMessage)) == sorted([h.candidate.email, h.buddy.email])
    assert at.dataframe[0].value[tr("nh.training_title", language)].tolist() == ["入职培训 Orientation"]


def test_a_session_without_a_title_or_place_is_refused_under_its_field(app_db) -> None:
    h = _hire()
    at = _tab(_training_tab, h.plan.id, _as(h.recruiter, "en"))
    submit(at, "nh_tr_new_0")
    assert_no_exception(at)
    assert tr("err.required", "en") in all_text(at)
    at.text_input(key="nh_tr_new_0_title").input("Safety")
    at.text_input(key="nh_tr_new_0_link").input("javascript:alert(1)")
    submit(at, "nh_tr_new_0")
    assert tr("err.link_invalid", "en") in all_text(at)
    assert _rows(TrainingSession) == [] and _rows(OutboxMessage) == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_session_form_names_its_title_field_and_tells_every_error_under_its_field_at_once(app_db, language) -> None:
    h = _hire()
    at = _tab(_training_tab, h.plan.id, _as(h.recruiter, language))
    title = at.text_input(key="nh_tr_new_0_title")
    assert title.label == tr("nh.training_title", language)  # a session's title, not a job title
    assert title.label != tr("field.title", language)
    at.text_input(key="nh_tr_new_0_link").input("javascript:alert(1)")
    submit(at, "nh_tr_new_0")
    assert_no_exception(at)
    for key, message in (("nh_tr_new_0_title", "err.required"), ("nh_tr_new_0_link", "err.link_invalid")):
        assert element_after(at, key).value == tr(message, language)
    assert at.text_input(key="nh_tr_new_0_link").value == "javascript:alert(1)"  # what was typed is kept
    assert _rows(TrainingSession) == [] and _rows(OutboxMessage) == []


def test_hr_moves_and_cancels_a_session_by_clicking_its_row(app_db) -> None:
    h = _hire()
    with db.session_scope() as session:
        form = {
            "title": "Product",
            "starts_at": utcnow() + timedelta(days=15),
            "ends_at": utcnow() + timedelta(days=15, hours=1),
            "location": "Room 1",
            "attendee_ids": [h.buddy.id],
        }
        row = training.add_session(session=session, actor=h.recruiter, plan_id=h.plan.id, training_in=form)
    at = _tab(_training_tab, h.plan.id, _as(h.recruiter, "zh"))
    click_cell(at, "nh_tr_table", 0, tr("nh.training_title", "zh"))
    assert_no_exception(at)
    key = f"nh_tr_edit_{row.id}_1"
    at.text_input(key=f"{key}_location").input("Room 2")
    submit(at, key)
    assert_no_exception(at)
    moved = _rows(TrainingSession)[0]
    assert (moved.location, moved.version) == ("Room 2", 2)


def test_a_hiring_manager_sees_the_sessions_but_no_forms(app_db) -> None:
    h = _hire()
    with db.session_scope() as session:
        training.add_session(
            session=session,
            actor=h.recruiter,
            plan_id=h.plan.id,
            training_in={
                "title": HOSTILE,
                "starts_at": utcnow() + timedelta(days=15),
                "ends_at": utcnow() + timedelta(days=15, hours=1),
                "location": "Room 1",
            },
        )
    at = _tab(_training_tab, h.plan.id, _as(h.manager, "zh"))
    assert_no_exception(at)
    assert at.dataframe[0].value[tr("nh.training_title", "zh")].tolist() == [HOSTILE]
    assert not at.text_input and not at.expander
    stranger = _tab(_training_tab, h.plan.id, _as(_other_manager(), "en"))
    assert_no_exception(stranger)
    assert not stranger.dataframe
    assert [e.value for e in stranger.error] == [tr("err.not_allowed", "en")]


def _other_manager() -> User:
    with db.session_scope() as session:
        return factories.Factory(session).user("hiring_manager")


# --------------------------------------------------------------------------- HR: the new hire's page tab
@pytest.mark.parametrize("language", ["zh", "en"])
def test_hr_issues_the_link_sees_it_once_then_revokes_it(app_db, language) -> None:
    h = _hire()
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, language))
    assert_no_exception(at)
    assert tr("nh.link_none", language) in [i.value for i in at.info]
    at.button(key=f"nh_wl_issue_{h.plan.id}").click().run()
    assert_no_exception(at)
    [code] = at.code
    assert "/?welcome=" in code.value
    assert any(tr("nh.link_live", language, since="", until="")[:4] in s.value for s in at.success)
    at.run()
    assert not at.code  # shown once
    at.button(key=f"nh_wl_revoke_{h.plan.id}").click().run()
    assert_no_exception(at)
    with db.session_scope() as session, pytest.raises(welcome.WelcomeLinkInvalid):
        token = parse_qs(urlparse(code.value).query)["welcome"][0]
        welcome.open_welcome(session=session, token=token)


def test_hr_prepares_the_welcome_mail_and_reviews_it_before_it_goes(app_db) -> None:
    h = _hire()
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, "en"))
    at.button(key=f"nh_wl_prepare_{h.plan.id}").click().run()
    assert_no_exception(at)
    [draft] = _rows(OutboxMessage)
    assert at.text_area(key=f"draft_body_{draft.id}").value == draft.text
    assert "/?welcome=" in draft.text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_preparing_the_mail_while_the_link_works_asks_first_as_it_ends_that_link(app_db, language) -> None:
    h = _hire()
    token = _token(h)  # shown to HR, perhaps sent on
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, language))
    replace = at.checkbox(key=f"nh_wl_replace_{h.plan.id}")
    assert replace.value is False
    at.button(key=f"nh_wl_prepare_{h.plan.id}").click().run()
    assert_no_exception(at)
    assert tr("err.welcome_replaces_link", language) in [e.value for e in at.error]
    assert _rows(OutboxMessage) == []
    with db.session_scope() as session:
        assert welcome.open_welcome(session=session, token=token).name == h.candidate.name  # still works
    at.checkbox(key=f"nh_wl_replace_{h.plan.id}").check().run()
    at.button(key=f"nh_wl_prepare_{h.plan.id}").click().run()
    assert_no_exception(at)
    [draft] = _rows(OutboxMessage)
    assert "/?welcome=" in draft.text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_after_the_outcome_the_link_section_says_it_has_ended_and_offers_no_link(app_db, language) -> None:
    h = _hire()
    _token(h)
    with db.session_scope() as session:
        plan = session.get(type(h.plan), h.plan.id)
        plan.status = "passed"
        session.add(plan)
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, language))
    assert_no_exception(at)
    assert tr("nh.link_ended", language, until=fmt_date(h.plan.probation_end, language)) in [i.value for i in at.info]
    assert not any(s.value.startswith(tr("nh.link_live", language, since="", until="")[:4]) for s in at.success)
    keys = {b.key for b in at.button}
    for name in ("issue", "reissue", "revoke", "prepare"):
        assert f"nh_wl_{name}_{h.plan.id}" not in keys


def test_past_the_end_of_probation_the_link_section_says_so_and_points_to_the_outcome(app_db) -> None:
    h = _hire()
    _token(h)
    with db.session_scope() as session:
        plan = session.get(type(h.plan), h.plan.id)
        plan.start_date, plan.probation_end = _today() - timedelta(days=100), _today() - timedelta(days=1)
        session.add(plan)
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, "en"))
    assert_no_exception(at)
    until = fmt_date(_today() - timedelta(days=1), "en")
    assert tr("nh.link_expired", "en", until=until) in [i.value for i in at.info]
    assert not {f"nh_wl_issue_{h.plan.id}", f"nh_wl_reissue_{h.plan.id}"} & {b.key for b in at.button}


def test_a_working_link_says_the_welcome_mail_will_replace_it(app_db) -> None:
    h = _hire()
    _token(h)
    at = _tab(_welcome_tab, h.plan.id, _as(h.recruiter, "zh"))
    with db.session_scope() as session:
        due = welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id).welcome_due
    assert tr("nh.link_until_mail", "zh", date=fmt_date(due, "zh")) in [c.value for c in at.caption]


def test_hr_sees_the_ticks_and_uploads_of_the_new_hire(app_db) -> None:
    h = _hire()
    token = _token(h)
    with db.session_scope() as session:
        welcome.tick_checklist_item(session=session, token=token, item_id=h.items[0].id, ticked=True)
        welcome.upload_material(session=session, token=token, filename="体检报告.pdf", content=b"%PDF-1.4 x")
    at = _tab(_welcome_tab, h.plan.id, _as(h.manager, "zh"))
    assert_no_exception(at)
    assert tr("nh.checklist_progress", "zh", done=1, total=3) in all_text(at)
    assert at.dataframe[0].value[tr("nh.checklist_done", "zh")].tolist() == [True, False, False]
    assert "体检报告.pdf" in [t.value for t in at.text]
    assert not at.button  # the manager reads; only HR issues links and mail (download buttons are not buttons here)


# --------------------------------------------------------------------------- the public page
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_new_hire_opens_their_page_in_their_language_and_ticks_an_item(app_db, open_app, language) -> None:
    h = _hire(language=language)
    at = _open_welcome(open_app, _token(h))
    assert_no_exception(at)
    assert at.title[0].value == tr("welcome.title", language)
    assert tr("welcome.greeting", language, name=h.candidate.name) in [t.value for t in at.text]
    assert "上海市徐汇区 1 号楼" in [t.value for t in at.text]
    labels = [c.label for c in at.checkbox]  # escaped for Markdown: a person reads the label as typed
    assert labels == (
        [md_escape(x) for x in ("身份证", "学历/学位证书", "银行卡")]
        if language == "zh"
        else ["ID card", "Degree certificates", "Bank card"]
    )
    at.checkbox(key=f"welcome_item_{h.items[2].id}").check().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(ChecklistItem, h.items[2].id).done_at is not None
    assert at.checkbox(key=f"welcome_item_{h.items[2].id}").value is True
    assert not at.sidebar.selectbox  # nothing of the app: no sign-in, no menu


def test_the_language_switch_changes_the_page(app_db, open_app) -> None:
    h = _hire(language="zh")
    at = _open_welcome(open_app, _token(h))
    at.segmented_control(key="welcome_language").set_value("en").run()
    assert_no_exception(at)
    assert at.title[0].value == tr("welcome.title", "en")
    assert [c.label for c in at.checkbox][0] == "ID card"


def test_a_revoked_or_unknown_link_shows_one_clear_message_and_nothing_else(app_db, open_app) -> None:
    h = _hire()
    token = _token(h)
    with db.session_scope() as session:
        welcome.revoke_link(session=session, actor=h.recruiter, plan_id=h.plan.id)
    for bad in (token, "not-a-real-token"):
        at = _open_welcome(open_app, bad)
        assert_no_exception(at)
        assert [i.value for i in at.info] == [tr("welcome.link_invalid", "zh")]
        assert not at.checkbox and not at.text and not at.button
        assert h.candidate.name not in all_text(at)


def test_user_text_on_the_page_is_text_not_markup(app_db, open_app) -> None:
    h = _hire()
    with db.session_scope() as session:
        candidate = session.get(type(h.candidate), h.candidate.id)
        candidate.name = HOSTILE
        session.add(candidate)
        item = session.get(ChecklistItem, h.items[0].id)
        item.label_zh = HOSTILE
        session.add(item)
    at = _open_welcome(open_app, _token(h))
    assert_no_exception(at)
    assert tr("welcome.greeting", "zh", name=HOSTILE) in [t.value for t in at.text]
    assert all("/session/end)" not in m.value or "\\" in m.value for m in at.markdown)
    assert at.checkbox[0].label == md_escape(HOSTILE)  # escaped: shown as typed, never as an image or bold


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_upload_field_says_in_the_readers_language_what_to_do_and_what_is_allowed(
    app_db, open_app, language
) -> None:
    h = _hire(language=language)
    at = _open_welcome(open_app, _token(h))
    [field] = at.get("file_uploader")
    assert field.proto.label == tr("welcome.upload", language)
    assert field.proto.help == tr(
        "welcome.upload_help", language, types=", ".join(materials.UPLOAD_TYPES), mb=materials.MAX_BYTES // 2**20
    )


def test_an_upload_from_the_page_is_kept(app_db, open_app) -> None:
    h = _hire()
    token = _token(h)
    at = _open_welcome(open_app, token)
    assert at.button(key="welcome_upload_send").disabled  # nothing chosen yet
    with db.session_scope() as session:
        welcome.upload_material(session=session, token=token, filename="照片.png", content=b"\x89PNG\r\n\x1a\n x")
    at.run()
    assert_no_exception(at)
    assert any(t.value.startswith("照片.png · ") for t in at.text)
