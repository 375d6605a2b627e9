"""Follow-up pages under AppTest: the board and its action panel, the talent pool and the public survey, by role
and in both languages; the contact form's messages, the survey invitation and its single-use link."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import partial

import pytest
from sqlmodel import col, select

from models.followup import Contact, SurveyResponse
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.follow_up import followup
from services.platform import config, db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.followup_support import case
from tests.pages.followup_support import open_as as _open
from tests.pages.followup_support import today as _today
from tests.pages.layout import message_below
from tests.pages.support import all_text, assert_no_exception, submit, tr
from tests.scenarios import Interviewed

FOLLOWERS = ("admin", "recruiter")


_case = partial(case, name="韩子涵", email="han.zihan@example.com")


def _board_state(case: Interviewed) -> str:
    with db.session_scope() as session:
        board = followup.follow_up_board(session=session, actor=demo_user(ROLE_EMAILS["recruiter"]))
    return next(r.state for r in board if r.application_id == case.application_id)


def _contacts(case: Interviewed) -> list[Contact]:
    with db.session_scope() as session:
        return list(session.exec(select(Contact).where(Contact.candidate_id == case.candidate_id)))


def _names_on_board(at, language: str) -> list[str]:
    """The candidates the board lists under the chosen state (none when it says there are none)."""
    tables = [d for d in at.dataframe if (d.key or "").startswith("fu_table_")]
    if not tables:
        assert tr("fu.none", language) in [i.value for i in at.info]
        return []
    return tables[0].value[tr("field.name", language)].tolist()


def _fill_contact(at, *, summary: str, day: date | None, at_time: time = time(15, 0)) -> None:
    at.selectbox(key="fu_channel").set_value("wechat")
    at.selectbox(key="fu_direction").set_value("inbound")
    at.selectbox(key="fu_outcome").set_value("replied")
    at.text_area(key="fu_summary").input(summary)
    at.date_input(key="fu_next_day").set_value(day)
    at.time_input(key="fu_next_time").set_value(at_time)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", FOLLOWERS)
def test_recruiters_and_admins_open_the_board_its_panel_and_the_talent_pool_without_an_error(
    demo_db, open_app, role, language
):
    case = _case()
    at = _open(open_app, role, "pages/follow_up.py", language)
    assert_no_exception(at)
    assert at.title[0].value == tr("nav.follow_up", language)
    assert at.segmented_control(key="fu_state").value == "awaiting_feedback"
    assert case.candidate in _names_on_board(at, language)
    assert not at.error

    for state in ("at_risk", "awaiting_reply", "in_touch", "decided", None):
        at.segmented_control(key="fu_state").set_value(state).run()
        assert_no_exception(at)
        # No state chosen (the chosen one clicked again) shows every column, and the page says so.
        assert (tr("fu.all_states", language) in [c.value for c in at.caption]) == (state is None)

    at.query_params["application"] = str(case.application_id)
    at.run()
    assert_no_exception(at)
    assert f"{case.candidate} · {case.job}" in [s.value for s in at.subheader]
    assert [t.label for t in at.tabs] == [
        tr(k, language) for k in ("fu.tab_contact", "fu.tab_intent", "fu.tab_mail", "fu.tab_pool")
    ]
    assert at.error[0].value.startswith(tr("fu.clock", language, left="", deadline="")[:3])  # the clock runs
    for key in ("fu_channel", "fu_direction", "fu_outcome", "fu_template"):
        assert at.selectbox(key=key) is not None
    assert at.slider(key="fu_interest").value == 3

    at.switch_page("pages/talent_pool.py").run()
    assert_no_exception(at)
    assert at.title[0].value == tr("nav.talent_pool", language)
    assert len(next(d for d in at.dataframe if (d.key or "").startswith("pool_table_")).value) > 0
    assert not at.error


@pytest.mark.parametrize("role", ["hiring_manager", "interviewer"])
def test_the_follow_up_pages_are_not_in_the_navigation_of_managers_and_interviewers(demo_db, open_app, role):
    at = open_app(demo_user(ROLE_EMAILS[role])).run()
    for page in ("pages/follow_up.py", "pages/talent_pool.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_an_empty_summary_is_reported_below_it_and_the_other_inputs_stay(demo_db, open_app):
    case = _case()
    tomorrow = _today() + timedelta(days=1)
    at = _open(open_app, "recruiter", "pages/follow_up.py", application=str(case.application_id))
    _fill_contact(at, summary="   ", day=tomorrow)
    submit(at, f"fu_contact_{case.application_id}")
    assert_no_exception(at)

    below = message_below(at, "fu_summary")
    assert (below.type, below.value) == ("error", tr("err.required", "zh"))
    assert at.selectbox(key="fu_channel").value == "wechat"
    assert at.selectbox(key="fu_direction").value == "inbound"
    assert at.selectbox(key="fu_outcome").value == "replied"
    assert at.date_input(key="fu_next_day").value == tomorrow
    assert at.time_input(key="fu_next_time").value == time(15, 0)
    assert _contacts(case) == []
    assert _board_state(case) == "awaiting_feedback"

    # With a summary the contact is logged, the clock stops and the candidate leaves "awaiting feedback".
    at.text_area(key="fu_summary").input("微信回复：对团队很感兴趣 / keen on the team")
    submit(at, f"fu_contact_{case.application_id}")
    assert_no_exception(at)
    assert tr("fu.logged", "zh") in [s.value for s in at.success]
    [contact] = _contacts(case)
    assert (contact.channel, contact.direction, contact.outcome) == ("wechat", "inbound", "replied")
    tz = config.get_settings().tz
    assert contact.next_contact_at.astimezone(tz).replace(tzinfo=None) == datetime.combine(tomorrow, time(15, 0))
    assert _board_state(case) != "awaiting_feedback"
    assert at.segmented_control(key="fu_state").value == "awaiting_feedback"
    assert case.candidate not in _names_on_board(at, "zh")
    # The form is empty again for the next contact.
    assert at.text_area(key="fu_summary").value == ""


@pytest.mark.parametrize("when", ["earlier_today", "yesterday"])
def test_a_next_contact_in_the_past_is_refused(demo_db, open_app, when):
    case = _case()
    day, moment = (_today(), time(0, 0)) if when == "earlier_today" else (_today() - timedelta(days=1), time(15, 0))
    at = _open(open_app, "recruiter", "pages/follow_up.py", "en", application=str(case.application_id))
    _fill_contact(at, summary="Called, they will think about it", day=day, at_time=moment)
    submit(at, f"fu_contact_{case.application_id}")
    assert_no_exception(at)
    below = message_below(at, "fu_next_day")
    assert (below.type, below.value) == ("error", tr("err.next_contact_past", "en"))
    assert at.text_area(key="fu_summary").value == "Called, they will think about it"
    assert _contacts(case) == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_survey_invitation_is_prepared_reviewed_and_sent_from_the_mail_tab(demo_db, open_app, language):
    case = _case(name="Leo Green", email="leo.green@example.net", language="en")
    at = _open(open_app, "recruiter", "pages/follow_up.py", language, application=str(case.application_id))
    at.selectbox(key="fu_template").set_value("survey_invite")
    at.button(key="fu_prepare").click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        draft = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.application_id == case.application_id, OutboxMessage.status == MailStatus.draft
            )
        ).one()
    body = at.text_area(key=f"draft_body_{draft.id}").value
    assert re.search(r"/\?survey=[A-Za-z0-9_-]{20,}", body), body
    assert draft.language == "en" and draft.to_addrs == "leo.green@example.net"
    assert tr("template.survey_invite", language) in all_text(at)

    submit(at, f"draft_{draft.id}")
    assert_no_exception(at)
    assert tr("db.sent", language) in [s.value for s in at.success]
    with db.session_scope() as session:
        assert session.get(OutboxMessage, draft.id).status == MailStatus.held  # no mail server in these tests
    # A mail that has not gone out is no word to the candidate: the clock runs on, and the board says why.
    assert _board_state(case) == "awaiting_feedback"
    at.run()
    assert tr("fu.mail_held", language) in [w.value.split(" — ")[0] for w in at.warning]
    assert tr("fu.mail_held", language) in at.dataframe[0].value[tr("fu.mail", language)].tolist()


def _survey_link(case: Interviewed) -> str:
    with db.session_scope() as session:
        recruiter = demo_user(ROLE_EMAILS["recruiter"])
        mail = followup.prepare_candidate_mail(
            session=session, actor=recruiter, application_id=case.application_id, template="survey_invite"
        )
        return re.search(r"\?survey=([A-Za-z0-9_-]+)", mail.text).group(1)


def _open_survey(open_app, token: str):
    at = open_app()  # a candidate: nobody signed in
    at.query_params["survey"] = token
    return at.run()


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 43, ""])
def test_a_bad_survey_link_shows_the_polite_invalid_link_message_and_no_form(demo_db, open_app, token):
    at = _open_survey(open_app, token)
    assert_no_exception(at)
    if not token:  # no token at all is just the app's start page
        assert at.title[0].value == tr("app.title", "zh")
        return
    assert at.title[0].value == tr("survey.title", "zh")
    assert [i.value for i in at.info] == [tr("survey.link_invalid", "zh")]
    assert not at.segmented_control and not at.text_area and not at.button
    assert not at.error
    assert not at.sidebar.selectbox  # no language picker, no sign-in: nothing of the app


def test_a_candidate_answers_the_survey_once_in_their_language(demo_db, open_app):
    case = _case(name="Zoe King", email="zoe.king@example.org", language="en")
    token = _survey_link(case)
    at = _open_survey(open_app, token)
    assert_no_exception(at)
    assert at.title[0].value == tr("survey.title", "en")
    assert tr("survey.intro", "en", job=case.job) in all_text(at)
    assert [s.key for s in at.segmented_control] == [
        "survey_nps",
        "survey_clarity",
        "survey_respect",
        "survey_treatment",
    ]
    assert at.segmented_control(key="survey_nps").options == [str(n) for n in range(11)]

    # Something left out: said where, and what was chosen stays.
    at.segmented_control(key="survey_nps").set_value(9)
    at.segmented_control(key="survey_clarity").set_value(4)
    at.text_area(key="survey_comment").input("Quick and friendly")
    submit(at, "survey_form")
    assert_no_exception(at)
    for name in ("survey_respect", "survey_treatment"):
        assert message_below(at, name).value == tr("err.required", "en")
    assert at.segmented_control(key="survey_nps").value == 9
    assert at.text_area(key="survey_comment").value == "Quick and friendly"

    at.segmented_control(key="survey_respect").set_value(5)
    at.segmented_control(key="survey_treatment").set_value(3)
    submit(at, "survey_form")
    assert_no_exception(at)
    assert at.title[0].value == tr("survey.thanks_title", "en")
    assert [s.value for s in at.success] == [tr("survey.thanks", "en")]
    with db.session_scope() as session:
        [answer] = session.exec(select(SurveyResponse).order_by(col(SurveyResponse.id).desc()).limit(1)).all()
    assert (answer.nps, answer.clarity, answer.respect, answer.treatment, answer.comment) == (
        9,
        4,
        5,
        3,
        "Quick and friendly",
    )

    # The same link a second time, in a new browser session: spent.
    again = _open_survey(open_app, token)
    assert_no_exception(again)
    assert [i.value for i in again.info] == [tr("survey.link_invalid", "zh")]
    assert not again.segmented_control


def _board_ids(user_email: str, **kw) -> list[int]:
    with db.session_scope() as session:
        user = session.exec(select(User).where(User.email == user_email)).one()
        return [r.application_id for r in followup.follow_up_board(session=session, actor=user, **kw)]


def test_a_link_to_a_row_on_a_later_page_of_the_board_opens_its_panel(demo_db, open_app, monkeypatch):
    monkeypatch.setattr(followup, "BOARD_PAGE", 3)
    first = _board_ids(ROLE_EMAILS["admin"], limit=3)
    later = [i for i in _board_ids(ROLE_EMAILS["admin"], offset=3, limit=3) if i not in first]
    assert later, "the demo board has more than one page of three"
    at = _open(open_app, "admin", "pages/follow_up.py", application=str(later[0]))
    assert_no_exception(at)
    assert tr("fu.not_on_board", "zh") not in [i.value for i in at.info]
    assert at.tabs, "the panel with its tabs opens"
    assert tr("fu.counts_this_page", "zh") in [c.value for c in at.caption]


def test_choosing_another_owner_starts_their_board_at_its_first_page(demo_db, open_app, monkeypatch):
    monkeypatch.setattr(followup, "BOARD_PAGE", 1)
    at = _open(open_app, "admin", "pages/follow_up.py")
    at.button(key="fu_run_offset_next").click().run()  # the demo has more than one clock running
    assert at.session_state["fu_run_offset"] == 1
    at.session_state["fu_offset"] = 3  # and a later page of the others
    recruiter = demo_user(ROLE_EMAILS["recruiter"])
    at.selectbox(key="fu_owner").select(recruiter.id).run()
    assert_no_exception(at)
    assert "fu_offset" not in at.session_state and "fu_run_offset" not in at.session_state
