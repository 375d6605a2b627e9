"""Evaluate pages under AppTest: interviews, scorecard, debrief and rounds, by role and in both languages;
panel independence, field messages on the scorecard, a double submit, and a rejection's draft mail."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, func, select

from models.audit import AuditLog
from models.candidate import Application
from models.common import Stage
from models.evaluation import Decision, Interview, InterviewPanelist, InterviewRound, Scorecard, ScorecardStatus
from models.mail import MailStatus, OutboxMessage
from services import db, evaluation
from tests.pages.conftest import ROLE_EMAILS, demo_user, open_page_alone
from tests.pages.layout import message_below
from tests.pages.support import all_text, assert_no_exception, submit, tr
from tests.scenarios import Interviewed, account, interviewed_candidate, submit_scorecard

EVERYONE = tuple(ROLE_EMAILS.values())


def _case(name: str = "林雨桐", email: str = "lin.yutong@example.com", **kw) -> Interviewed:  # noqa: ANN003
    with db.session_scope() as session:
        return interviewed_candidate(session, name=name, email=email, **kw)


def _submit_as(case: Interviewed, email: str, **kw) -> None:  # noqa: ANN003
    with db.session_scope() as session:
        submit_scorecard(session, case, email, **kw)


def _scorecards(case: Interviewed) -> list[Scorecard]:
    with db.session_scope() as session:
        return list(session.exec(select(Scorecard).where(Scorecard.interview_id == case.interview_id)
                                 .order_by(col(Scorecard.id))))


def _open(open_app, email: str, page: str, language: str = "zh", **params: str):  # noqa: ANN001, ANN202
    at = open_app(demo_user(email, language))
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    return at.switch_page(page).run()


def _rate(at, case: Interviewed, ratings: dict[int, int | None], recommendation: str | None = "yes",  # noqa: ANN001
          strengths: str = "") -> None:
    prefix = f"sc_{case.interview_id}"
    for criterion, value in ratings.items():
        at.segmented_control(key=f"{prefix}_r{criterion}").set_value(value)
    at.segmented_control(key=f"{prefix}_rec").set_value(recommendation)
    at.text_area(key=f"{prefix}_strengths").input(strengths)


def _press(at, form_id: str, label: str):  # noqa: ANN001, ANN202
    """Click the submit button labelled `label` of form `form_id` and run."""
    [button] = [b for b in at.button if getattr(b, "form_id", "") == form_id and b.label == label]
    return button.click().run()


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", list(ROLE_EMAILS))
def test_each_role_opens_interviews_scorecard_debrief_and_tasks_without_an_error(demo_db, open_app, role, language):
    # Everyone on the panel, so each role has a scorecard to fill and, once submitted, a debrief to read.
    case = _case(panel=EVERYONE)
    email = ROLE_EMAILS[role]
    at = _open(open_app, email, "pages/interviews.py", language)
    assert_no_exception(at)
    assert at.title[0].value == tr("nav.interviews", language)
    assert case.candidate in all_text(at)  # awaiting my scorecard
    assert tr("iv.awaiting", language) in [s.value for s in at.subheader]
    if role in ("admin", "recruiter"):
        assert [t.label for t in at.tabs] == [tr("iv.tab_mine", language), tr("iv.tab_plan", language)]
        assert "iv_new_form" in {b.form_id for b in at.button if getattr(b, "form_id", "")}
        assert at.date_input(key="iv_week") is not None
    else:
        assert not at.tabs and "iv_new_round" not in [s.key for s in at.selectbox]
    assert not at.error, [e.value for e in at.error]

    at.query_params["interview"] = str(case.interview_id)
    at.switch_page("pages/scorecard.py").run()
    assert_no_exception(at)
    assert at.title[0].value == tr("sc.title", language, name=case.candidate)
    assert [s.key for s in at.segmented_control] == [f"sc_{case.interview_id}_r{c}" for c in case.criteria] + [
        f"sc_{case.interview_id}_rec"]
    assert not at.error

    _submit_as(case, email)
    at.query_params["application"] = str(case.application_id)
    at.switch_page("pages/debrief.py").run()
    assert_no_exception(at)
    assert at.title[0].value == tr("db.title", language, name=case.candidate)
    assert not at.error, [e.value for e in at.error]
    assert demo_user(email).name in at.dataframe[0].value.columns
    assert ("db_kind" in [s.key for s in at.segmented_control]) is (role != "interviewer")

    at.switch_page("pages/my_tasks.py").run()
    assert_no_exception(at)
    assert at.title[0].value == tr("nav.my_tasks", language)
    if role == "admin":
        at.switch_page("pages/rounds.py").run()
        assert_no_exception(at)
        assert at.title[0].value == tr("nav.rounds", language)
        assert len(at.dataframe[0].value) == len(case.criteria)
        assert not at.error


@pytest.mark.parametrize("role", ["interviewer", "hiring_manager", "recruiter"])
def test_only_an_admin_finds_the_rounds_page_and_only_an_admin_can_change_a_round(demo_db, open_app, role):
    at = open_app(demo_user(ROLE_EMAILS[role])).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/rounds.py")
    # Reached anyway (the file run on its own): the rounds may be read, a change is refused.
    alone = open_page_alone("pages/rounds.py", demo_user(ROLE_EMAILS[role])).run()
    assert_no_exception(alone)
    round_id = alone.selectbox(key="rounds_pick").value
    alone.text_input(key=f"rounds_en_{round_id}").input("Renamed")
    submit(alone, f"rounds_round_{round_id}")
    assert_no_exception(alone)
    assert tr("err.not_allowed", demo_user(ROLE_EMAILS[role]).language) in [e.value for e in alone.error]
    with db.session_scope() as session:
        assert session.get(InterviewRound, round_id).name_en != "Renamed"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_scorecard_and_debrief_without_a_link_ask_for_one(demo_db, open_app, language):
    at = _open(open_app, ROLE_EMAILS["interviewer"], "pages/scorecard.py", language)
    assert_no_exception(at)
    assert [i.value for i in at.info] == [tr("sc.pick_interview", language)]
    at.switch_page("pages/debrief.py").run()
    assert_no_exception(at)
    assert [i.value for i in at.info] == [tr("db.pick_application", language)]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_interviewer_not_on_the_panel_sees_the_not_on_panel_error_and_no_form(demo_db, open_app, language):
    case = _case(panel=("interviewer2@example.com", "manager2@example.com"))
    at = _open(open_app, ROLE_EMAILS["interviewer"], "pages/scorecard.py", language,
               interview=str(case.interview_id))
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tr("err.not_on_panel", language)]
    assert not at.segmented_control and not at.text_area and not at.text_input
    assert not [b for b in at.button if getattr(b, "form_id", "")]
    shown = all_text(at)
    assert case.candidate not in shown and case.email not in shown


def test_an_interviewer_who_has_not_submitted_sees_the_submit_first_error_and_no_scores(demo_db, open_app):
    case = _case()
    _submit_as(case, "interviewer2@example.com", ratings=5, recommendation="strong_yes")
    colleague = demo_user("interviewer2@example.com").name
    # A draft of my own is not enough.
    with db.session_scope() as session:
        evaluation.save_scorecard(session=session, actor=account(session, ROLE_EMAILS["interviewer"]),
                                  interview_id=case.interview_id, scorecard_in={
                                      "ratings": [{"criterion_id": case.criteria[0], "rating": 2}]})
    at = _open(open_app, ROLE_EMAILS["interviewer"], "pages/debrief.py", application=str(case.application_id))
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tr("err.submit_first", "zh")]
    assert not at.dataframe and not at.metric and not at.expander
    shown = all_text(at)
    assert colleague not in shown and tr("rec.strong_yes", "zh") not in shown and "clear thinking" not in shown
    assert "db_kind" not in [s.key for s in at.segmented_control]

    # Once my own scorecard is submitted, both show side by side.
    _submit_as(case, ROLE_EMAILS["interviewer"], ratings=3, recommendation="no")
    at.run()
    assert_no_exception(at)
    assert not at.error
    table = at.dataframe[0].value
    assert {colleague, demo_user(ROLE_EMAILS["interviewer"]).name} <= set(table.columns)
    assert tr("debrief.split_recommendation", "zh") in [w.value for w in at.warning]


def test_a_missing_rating_is_reported_next_to_that_criterion_and_the_other_answers_stay(demo_db, open_app):
    case = _case()
    first, missing, last = case.criteria
    at = _open(open_app, ROLE_EMAILS["interviewer"], "pages/scorecard.py", interview=str(case.interview_id))
    _rate(at, case, {first: 4, last: 2}, strengths="基础扎实")
    _press(at, f"sc_{case.interview_id}_form", tr("sc.submit", "zh"))
    assert_no_exception(at)

    prefix = f"sc_{case.interview_id}"
    below = message_below(at, f"{prefix}_r{missing}")
    assert (below.type, below.value) == ("error", tr("err.rating_required", "zh"))
    for other in (first, last):
        assert getattr(message_below(at, f"{prefix}_r{other}"), "type", None) != "error"
    assert len(at.error) == 1
    assert at.segmented_control(key=f"{prefix}_r{first}").value == 4
    assert at.segmented_control(key=f"{prefix}_r{last}").value == 2
    assert at.segmented_control(key=f"{prefix}_rec").value == "yes"
    assert at.text_area(key=f"{prefix}_strengths").value == "基础扎实"
    assert _scorecards(case) == []

    # Rated: submitted and locked, and the panel's scorecards are a click away.
    at.segmented_control(key=f"{prefix}_r{missing}").set_value(3)
    _press(at, f"{prefix}_form", tr("sc.submit", "zh"))
    assert_no_exception(at)
    assert tr("sc.submitted", "zh") in [s.value for s in at.success]
    [card] = _scorecards(case)
    assert card.status == ScorecardStatus.submitted and card.recommendation == "yes"
    links = {p.proto.label: p.proto.query_string for p in at.get("page_link")}
    assert links[tr("sc.see_panel", "zh")] == f"application={case.application_id}"


def test_a_double_submit_submits_once(demo_db, open_app):
    case = _case()
    prefix = f"sc_{case.interview_id}"
    ratings = dict.fromkeys(case.criteria, 4)
    # Two runs from the same form, as when a second click lands before the first one's rerun.
    clicks = []
    for _ in range(2):
        at = _open(open_app, ROLE_EMAILS["interviewer"], "pages/scorecard.py", interview=str(case.interview_id))
        _rate(at, case, ratings, strengths="逻辑清楚")
        clicks.append(at)
    first, second = clicks
    _press(first, f"{prefix}_form", tr("sc.submit", "zh"))
    assert_no_exception(first)
    assert tr("sc.submitted", "zh") in [s.value for s in first.success]
    _press(second, f"{prefix}_form", tr("sc.submit", "zh"))
    assert_no_exception(second)
    assert not second.error, [e.value for e in second.error]
    # The second click finds the scorecard locked: nothing more is saved, and the page says so.
    assert second.success[0].value.startswith(tr("sc.submitted_at", "zh", when="")[:2])
    assert tr("sc.submit", "zh") not in [b.label for b in second.button]

    [card] = _scorecards(case)
    assert card.status == ScorecardStatus.submitted
    with db.session_scope() as session:
        actions = list(session.exec(select(AuditLog.action).where(AuditLog.entity == "scorecard",
                                                                  AuditLog.entity_id == card.id)))
    assert actions == ["submit"]


def test_a_change_after_submitting_needs_a_reason(demo_db, open_app):
    case = _case()
    _submit_as(case, ROLE_EMAILS["interviewer"], ratings=4)
    prefix = f"sc_{case.interview_id}"
    at = _open(open_app, ROLE_EMAILS["interviewer"], "pages/scorecard.py", "en", interview=str(case.interview_id))
    assert at.success[0].value.startswith(tr("sc.submitted_at", "en", when="")[:20])
    at.segmented_control(key=f"{prefix}_r{case.criteria[0]}").set_value(2)
    submit(at, f"{prefix}_form")
    assert_no_exception(at)
    below = message_below(at, f"{prefix}_reason")
    assert (below.type, below.value) == ("error", tr("err.change_reason_required", "en"))
    assert at.segmented_control(key=f"{prefix}_r{case.criteria[0]}").value == 2

    at.text_input(key=f"{prefix}_reason").input("Re-read my notes: the design answer was weaker")
    submit(at, f"{prefix}_form")
    assert_no_exception(at)
    assert tr("sc.saved_change", "en") in [s.value for s in at.success]
    with db.session_scope() as session:
        revision = session.exec(select(AuditLog).where(AuditLog.entity == "scorecard",
                                                       AuditLog.action == "revise_after_submit")).one()
    assert json.loads(revision.changes)["reason"] == "Re-read my notes: the design answer was weaker"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_recruiter_records_a_rejection_and_reviews_the_draft_mail_before_it_goes(demo_db, open_app, language):
    # An English-speaking candidate: the mail follows their language, whatever the recruiter's.
    case = _case(name="Nora Turner", email="nora.turner@example.org", language="en")
    _submit_as(case, "interviewer@example.com", ratings=2, recommendation="no")
    _submit_as(case, "interviewer2@example.com", ratings=2, recommendation="strong_no")
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/debrief.py", language,
               application=str(case.application_id))
    assert_no_exception(at)
    assert [m.value for m in at.metric][1:] == ["3.5", tr("db.below_bar", language)]

    at.segmented_control(key="db_kind").set_value("reject").run()
    at.selectbox(key="db_reason_reject").set_value("skills_below_bar")
    at.text_area(key="db_reason_text").input("系统设计偏弱")
    submit(at, "db_decision_form")
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert tr("db.recorded", language, decision=tr("decision.reject", language)) in [s.value for s in at.success]

    with db.session_scope() as session:
        assert session.get(Application, case.application_id).stage == Stage.rejected
        decision = session.exec(select(Decision).where(Decision.application_id == case.application_id)).one()
        draft = session.get(OutboxMessage, decision.mail_id)
    assert (decision.kind, draft.status, draft.to_addrs, draft.language) == (
        "reject", MailStatus.draft, "nora.turner@example.org", "en")
    assert f"draft_{draft.id}" in {b.form_id for b in at.button if getattr(b, "form_id", "")}
    assert at.text_input(key=f"draft_subject_{draft.id}").value == draft.subject
    body = at.text_area(key=f"draft_body_{draft.id}")
    assert body.value == draft.text and "Nora Turner" in body.value
    assert tr("db.draft_title", language) in all_text(at)
    # Decided: the application is no longer open for another decision from the same stage.
    assert tr("decision.reject", language) in all_text(at)

    # Reviewed, edited and sent: it leaves the drafts for the outbox.
    body.input(draft.text.replace("Nora Turner", "Nora"))
    submit(at, f"draft_{draft.id}")
    assert_no_exception(at)
    assert tr("db.sent", language) in [s.value for s in at.success]
    assert f"draft_{draft.id}" not in {b.form_id for b in at.button if getattr(b, "form_id", "")}
    with db.session_scope() as session:
        sent = session.get(OutboxMessage, draft.id)
        drafts = session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.application_id == case.application_id, OutboxMessage.status == MailStatus.draft)).one()
    assert sent.status in (MailStatus.queued, MailStatus.held)
    assert sent.text.startswith("Dear Nora,\n")
    assert drafts == 0


def test_a_recruiter_schedules_an_interview_for_the_application_in_the_link(demo_db, open_app):
    case = _case(name="Emma Walker", email="emma.walker@example.net")
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/interviews.py", application=str(case.application_id))
    assert tr("iv.for_application", "zh", id=case.application_id) in [c.value for c in at.caption]
    assert "iv_new_q" not in [t.key for t in at.text_input]
    # Nobody on the panel: said below the panel, and nothing is scheduled.
    at.text_input(key="iv_new_location").input("会议室 B")
    submit(at, "iv_new_form")
    assert_no_exception(at)
    below = message_below(at, "iv_new_panel")
    assert (below.type, below.value) == ("error", tr("err.not_an_interviewer", "zh"))
    assert at.text_input(key="iv_new_location").value == "会议室 B"

    panel = [demo_user("interviewer@example.com").id, demo_user("manager2@example.com").id]
    at.multiselect(key="iv_new_panel").set_value(panel)
    submit(at, "iv_new_form")
    assert_no_exception(at)
    assert tr("iv.scheduled", "zh") in [s.value for s in at.success]
    with db.session_scope() as session:
        newest = session.exec(select(Interview).where(Interview.application_id == case.application_id)
                              .order_by(col(Interview.id).desc())).first()
        members = set(session.exec(select(InterviewPanelist.user_id)
                                   .where(InterviewPanelist.interview_id == newest.id)))
    assert newest.id != case.interview_id and newest.location == "会议室 B" and members == set(panel)
