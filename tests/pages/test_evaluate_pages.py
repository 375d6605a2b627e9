"""Evaluate pages under AppTest: interviews, scorecard, debrief and rounds, by role and in both languages;
panel independence, field messages on the scorecard, a double submit, and a rejection's draft mail."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import col, func, select

from models.audit import AuditLog
from models.candidate import Application
from models.common import Stage, utcnow
from models.evaluation import (
    Criterion,
    Decision,
    Interview,
    InterviewPanelist,
    InterviewRound,
    Scorecard,
    ScorecardStatus,
)
from models.mail import MailStatus, OutboxMessage
from services.evaluate import evaluation
from services.platform import db
from services.platform.config import get_settings
from tests.pages.conftest import ROLE_EMAILS, demo_user, open_page_alone
from tests.pages.layout import message_below
from tests.pages.support import all_text as _markup_text
from tests.pages.support import assert_no_exception, submit, texts, tn, tr
from tests.scenarios import Interviewed, account, interviewed_candidate, submit_scorecard

EVERYONE = tuple(ROLE_EMAILS.values())
HOSTILE = "![x](/session/end) =1+1 <b>bold</b>"


def all_text(at) -> str:
    """Everything readable on the page, including what is shown as plain text (people's names and notes)."""
    return _markup_text(at) + "\n" + "\n".join(texts(at.text))


def _case(name: str = "林雨桐", email: str = "lin.yutong@example.com", **kw) -> Interviewed:
    with db.session_scope() as session:
        return interviewed_candidate(session, name=name, email=email, **kw)


def _submit_as(case: Interviewed, email: str, **kw) -> None:
    with db.session_scope() as session:
        submit_scorecard(session, case, email, **kw)


def _scorecards(case: Interviewed) -> list[Scorecard]:
    with db.session_scope() as session:
        return list(
            session.exec(
                select(Scorecard).where(Scorecard.interview_id == case.interview_id).order_by(col(Scorecard.id))
            )
        )


def _open(open_app, email: str, page: str, language: str = "zh", **params: str):
    at = open_app(demo_user(email, language))
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    return at.switch_page(page).run()


def _rate(
    at, case: Interviewed, ratings: dict[int, int | None], recommendation: str | None = "yes", strengths: str = ""
) -> None:
    prefix = f"sc_{case.interview_id}"
    for criterion, value in ratings.items():
        at.segmented_control(key=f"{prefix}_r{criterion}").set_value(value)
    at.segmented_control(key=f"{prefix}_rec").set_value(recommendation)
    at.text_area(key=f"{prefix}_strengths").input(strengths)


def _press(at, form_id: str, label: str):
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
        assert "iv_new_form_0" in {b.form_id for b in at.button if getattr(b, "form_id", "")}
        assert at.date_input(key="iv_week") is not None
    else:
        assert not at.tabs and "iv_new_round_0" not in [s.key for s in at.selectbox]
    assert not at.error, [e.value for e in at.error]

    at.query_params["interview"] = str(case.interview_id)
    at.switch_page("pages/scorecard.py").run()
    assert_no_exception(at)
    assert at.title[0].value == tr("sc.title", language, name=case.candidate)
    assert [s.key for s in at.segmented_control] == [f"sc_{case.interview_id}_r{c}" for c in case.criteria] + [
        f"sc_{case.interview_id}_rec"
    ]
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
    at = _open(open_app, ROLE_EMAILS["interviewer"], "pages/scorecard.py", language, interview=str(case.interview_id))
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
        evaluation.save_scorecard(
            session=session,
            actor=account(session, ROLE_EMAILS["interviewer"]),
            interview_id=case.interview_id,
            scorecard_in={"ratings": [{"criterion_id": case.criteria[0], "rating": 2}]},
        )
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
        actions = list(
            session.exec(select(AuditLog.action).where(AuditLog.entity == "scorecard", AuditLog.entity_id == card.id))
        )
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
        revision = session.exec(
            select(AuditLog).where(AuditLog.entity == "scorecard", AuditLog.action == "revise_after_submit")
        ).one()
    assert json.loads(revision.changes)["reason"] == "Re-read my notes: the design answer was weaker"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_recruiter_records_a_rejection_and_reviews_the_draft_mail_before_it_goes(demo_db, open_app, language):
    # An English-speaking candidate: the mail follows their language, whatever the recruiter's.
    case = _case(name="Nora Turner", email="nora.turner@example.org", language="en")
    _submit_as(case, "interviewer@example.com", ratings=2, recommendation="no")
    _submit_as(case, "interviewer2@example.com", ratings=2, recommendation="strong_no")
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/debrief.py", language, application=str(case.application_id))
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
        "reject",
        MailStatus.draft,
        "nora.turner@example.org",
        "en",
    )
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
        drafts = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.application_id == case.application_id, OutboxMessage.status == MailStatus.draft)
        ).one()
    assert sent.status in (MailStatus.queued, MailStatus.held)
    assert sent.text.startswith("Dear Nora,\n")
    assert drafts == 0


def _new_interviews(case: Interviewed) -> list[Interview]:
    with db.session_scope() as session:
        return list(
            session.exec(
                select(Interview)
                .where(Interview.application_id == case.application_id, Interview.id != case.interview_id)
                .order_by(col(Interview.id))
            )
        )


def test_a_recruiter_schedules_an_interview_for_the_application_in_the_link(demo_db, open_app):
    case = _case(name="Emma Walker", email="emma.walker@example.net")
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/interviews.py", application=str(case.application_id))
    assert at.selectbox(key="iv_new_app_0").value == case.application_id  # the picker starts on it
    assert "Emma Walker" in at.selectbox(key="iv_new_app_0").format_func(case.application_id)
    # Nobody on the panel: said below the panel, and nothing is scheduled.
    at.text_input(key="iv_new_location_0").input("会议室 B")
    submit(at, "iv_new_form_0")
    assert_no_exception(at)
    below = message_below(at, "iv_new_panel_0")
    assert (below.type, below.value) == ("error", tr("err.not_an_interviewer", "zh"))
    assert at.text_input(key="iv_new_location_0").value == "会议室 B"

    panel = [demo_user("interviewer@example.com").id, demo_user("manager2@example.com").id]
    at.multiselect(key="iv_new_panel_0").set_value(panel)
    submit(at, "iv_new_form_0")
    assert_no_exception(at)
    assert tr("iv.scheduled", "zh") + " " + tr("iv.invites_sent", "zh") in [s.value for s in at.success]
    [newest] = _new_interviews(case)
    with db.session_scope() as session:
        members = set(
            session.exec(select(InterviewPanelist.user_id).where(InterviewPanelist.interview_id == newest.id))
        )
        invites = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.template == "interview_panel", OutboxMessage.recipient_user_id.in_(panel)
            )
        ).all()
    assert newest.location == "会议室 B" and members == set(panel)
    assert {m.recipient_user_id for m in invites if f"iv-invite:{newest.id}:" in m.idempotency_key} == set(panel)
    # The form is a new, empty one: a second click books nothing again.
    assert "iv_new_form_0" not in {b.form_id for b in at.button if getattr(b, "form_id", "")}
    assert at.text_input(key="iv_new_location_1").value == ""
    assert at.multiselect(key="iv_new_panel_1").value == []
    submit(at, "iv_new_form_1")
    assert_no_exception(at)
    assert len(_new_interviews(case)) == 1


def test_the_candidate_picker_finds_open_applications_and_a_second_booking_keeps_the_first(demo_db, open_app):
    case = _case(name="Mia Fischer", email="mia.fischer@example.net")
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/interviews.py")
    picker = at.selectbox(key="iv_new_app_0")
    assert picker.value is None and any("Mia Fischer" in option for option in picker.options)
    submit(at, "iv_new_form_0")  # nobody chosen
    assert (message_below(at, "iv_new_app_0").value) == tr("iv.candidate_required", "zh")
    interviewer = demo_user("interviewer2@example.com").id
    at.selectbox(key="iv_new_app_0").set_value(case.application_id)
    at.date_input(key="iv_new_day_0").set_value(date(2031, 5, 6))
    at.text_input(key="iv_new_location_0").input("Room 1")
    at.multiselect(key="iv_new_panel_0").set_value([interviewer])
    submit(at, "iv_new_form_0")
    assert_no_exception(at)
    # Second time: another interview for the same person the next day; the first stays as it was.
    at.selectbox(key="iv_new_app_1").set_value(case.application_id)
    at.date_input(key="iv_new_day_1").set_value(date(2031, 5, 7))
    at.text_input(key="iv_new_location_1").input("Room 2")
    at.multiselect(key="iv_new_panel_1").set_value([interviewer])
    submit(at, "iv_new_form_1")
    assert_no_exception(at)
    first, second = _new_interviews(case)
    assert (first.location, second.location) == ("Room 1", "Room 2")
    assert (second.starts_at - first.starts_at).days == 1


def test_a_candidate_past_the_pickers_first_offer_is_found_by_a_search(demo_db, open_app, monkeypatch):
    """The picker offers the most recently moved applications; any other is found by typing a name."""
    with db.session_scope() as session:
        every = evaluation.schedulable_applications(
            session=session, actor=demo_user(ROLE_EMAILS["recruiter"]), limit=10_000
        )
    oldest = every[-1]
    monkeypatch.setattr(evaluation, "PICKER_LIMIT", 1)
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/interviews.py")
    assert at.selectbox(key="iv_new_app_0").options == [
        at.selectbox(key="iv_new_app_0").format_func(every[0]["application_id"])
    ]
    at.text_input(key="iv_app_q").input(oldest["email"]).run()
    assert_no_exception(at)
    assert any(oldest["candidate"] in o for o in at.selectbox(key="iv_new_app_0").options)
    at.text_input(key="iv_app_q").input("![x](/session/end) 不存在的人").run()
    assert_no_exception(at)
    assert at.selectbox(key="iv_new_app_0").options == []
    assert tr("iv.candidate_search_none", "zh") in [c.value for c in at.caption]


def test_a_double_booking_is_shown_and_booked_only_when_confirmed(demo_db, open_app):
    case = _case(name="Lucas Meyer", email="lucas.meyer@example.net", panel=("interviewer2@example.com",))
    with db.session_scope() as session:
        booked = session.get(Interview, case.interview_id)
    local = booked.starts_at.astimezone(get_settings().tz)
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/interviews.py", "en")
    at.selectbox(key="iv_new_app_0").set_value(case.application_id)
    at.date_input(key="iv_new_day_0").set_value(local.date())
    at.time_input(key="iv_new_start_0").set_value(local.time().replace(tzinfo=None))
    at.text_input(key="iv_new_location_0").input(HOSTILE)
    at.multiselect(key="iv_new_panel_0").set_value([demo_user("interviewer2@example.com").id])
    submit(at, "iv_new_form_0")
    assert_no_exception(at)
    assert tr("iv.conflicts_title", "en") in [w.value for w in at.warning]
    clash = at.dataframe[0].value
    assert "Lucas Meyer" in clash.to_string() and _new_interviews(case) == []
    assert at.text_input(key="iv_new_location_0").value == HOSTILE  # kept to change it instead
    [anyway] = [b for b in at.button if b.key == "iv_new_anyway"]
    anyway.click().run()
    assert_no_exception(at)
    [made] = _new_interviews(case)
    assert abs((made.starts_at - booked.starts_at).total_seconds()) < 60
    # A slot that has already ended is recorded without invitations, and the message says so.
    said = "iv.recorded_past" if made.ends_at <= utcnow() else "iv.invites_sent"
    assert tr("iv.scheduled", "en") + " " + tr(said, "en") in [s.value for s in at.success]
    assert not at.warning and at.text_input(key="iv_new_location_1").value == ""
    assert all(HOSTILE not in m for m in (md.value for md in at.markdown))


def test_an_interviewer_lands_on_their_interviews_with_user_text_shown_as_text(demo_db, open_app):
    case = _case(name="![x](/session/end)", email="hostile.name@example.net", panel=("interviewer@example.com",))
    at = open_app(demo_user(ROLE_EMAILS["interviewer"], "en")).run()
    assert_no_exception(at)
    assert at.title[0].value == tr("nav.interviews", "en")
    assert any(case.candidate in t.value for t in at.text)
    assert not any("/session/end" in md.value for md in at.markdown)


def test_the_week_plan_says_an_ended_interview_awaits_its_scorecards(demo_db, open_app):
    case = _case(name="Sofia Rossi", email="sofia.rossi@example.net")
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/interviews.py", "en")
    frame = next(d.value for d in at.dataframe if "Sofia Rossi" in d.value.to_string())
    row = frame[frame[tr("field.name", "en")] == case.candidate].iloc[0]
    assert row[tr("field.status", "en")] == tr("iv_status.awaiting_scorecards", "en")


# --------------------------------------------------------------------------- issue 8: debrief and rounds
def test_a_hiring_manager_of_another_job_is_told_it_is_not_their_job(demo_db, open_app):
    case = _case(name="Noah Becker", email="noah.becker@example.net")
    _submit_as(case, "interviewer@example.com")
    at = _open(open_app, "manager2@example.com", "pages/debrief.py", "en", application=str(case.application_id))
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tr("err.not_your_job", "en")]
    assert not at.dataframe and "Noah Becker" not in all_text(at)


def test_a_recruiter_on_the_panel_sees_no_colleagues_card_until_their_own_is_in(demo_db, open_app):
    case = _case(
        name="Emil Hansen", email="emil.hansen@example.net", panel=("interviewer@example.com", ROLE_EMAILS["recruiter"])
    )
    _submit_as(case, "interviewer@example.com", ratings=2, recommendation="strong_no")
    colleague = demo_user("interviewer@example.com").name
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/debrief.py", "en", application=str(case.application_id))
    assert_no_exception(at)
    assert not at.dataframe and colleague not in all_text(at)
    assert tn("db.hidden_submit_first", 1, "en", count=1) in [i.value for i in at.info]
    _submit_as(case, ROLE_EMAILS["recruiter"], ratings=4)
    at.run()
    assert colleague in at.dataframe[0].value.columns


def test_the_decision_starts_unchosen_and_a_second_decision_keeps_the_first(demo_db, open_app):
    case = _case(name="Ida Berg", email="ida.berg@example.net")
    _submit_as(case, "interviewer@example.com", ratings=2, recommendation="no")
    _submit_as(case, "interviewer2@example.com", ratings=2, recommendation="strong_no")
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/debrief.py", "en", application=str(case.application_id))
    assert_no_exception(at)
    assert at.segmented_control(key="db_kind").value is None
    assert "db_decision_form" not in {b.form_id for b in at.button if getattr(b, "form_id", "")}
    said = tr("db.suggested", "en", recommendations=f"{tr('rec.strong_no', 'en')} ×1, {tr('rec.no', 'en')} ×1")
    assert said in [c.value for c in at.caption]
    at.segmented_control(key="db_kind").set_value("hold").run()
    at.selectbox(key="db_reason_hold").set_value("headcount_pending")
    submit(at, "db_decision_form")
    assert_no_exception(at)
    # Second time: after the rerun nothing is chosen again; another decision adds to the record.
    assert at.segmented_control(key="db_kind").value in (None, "hold")
    at.segmented_control(key="db_kind").set_value("reject").run()
    at.selectbox(key="db_reason_reject").set_value("team_fit")
    submit(at, "db_decision_form")
    assert_no_exception(at)
    with db.session_scope() as session:
        kinds = [
            d.kind
            for d in session.exec(
                select(Decision).where(Decision.application_id == case.application_id).order_by(col(Decision.id))
            )
        ]
    assert kinds == ["hold", "reject"]


def _form_ids(at) -> set[str]:
    return {b.form_id for b in at.button if getattr(b, "form_id", "")}


def test_a_new_criterion_is_cleared_after_saving_and_a_second_click_adds_nothing(demo_db, open_app):
    at = _open(open_app, ROLE_EMAILS["admin"], "pages/rounds.py", "en")
    round_id = at.selectbox(key="rounds_pick").value
    form = f"rounds_crit_{round_id}_None_None_0"
    at.text_input(key=f"{form}_name_zh").input("系统设计")
    at.text_input(key=f"{form}_name_en").input(HOSTILE)
    submit(at, form)
    assert_no_exception(at)
    assert tr("rounds.criterion_added", "en") in [s.value for s in at.success]
    again = f"rounds_crit_{round_id}_None_None_1"
    assert form not in _form_ids(at) and at.text_input(key=f"{again}_name_en").value == ""
    submit(at, again)  # the second click: an empty form, refused, nothing added
    assert_no_exception(at)
    # Second time: another criterion; the first stays.
    at.text_input(key=f"{again}_name_zh").input("代码质量")
    at.text_input(key=f"{again}_name_en").input("Code quality")
    submit(at, again)
    assert_no_exception(at)
    with db.session_scope() as session:
        names = [c.name_en for c in evaluation.criteria_for(session=session, round_id=round_id, job_id=None)]
    assert names.count(HOSTILE) == 1 and names[-2:] == [HOSTILE, "Code quality"]
    assert all(HOSTILE not in md.value for md in at.markdown)


def test_an_admin_adds_a_round_and_cannot_add_it_twice(demo_db, open_app):
    at = _open(open_app, ROLE_EMAILS["admin"], "pages/rounds.py", "en")
    at.text_input(key="rounds_new_zh_0").input("终面")
    at.text_input(key="rounds_new_en_0").input("Final")
    at.number_input(key="rounds_new_bar_0").set_value(3.8)
    submit(at, "rounds_new_0")
    assert_no_exception(at)
    assert tr("rounds.added", "en") in [s.value for s in at.success]
    with db.session_scope() as session:
        final = session.exec(select(InterviewRound).where(InterviewRound.name_en == "Final")).one()
    assert at.selectbox(key="rounds_pick").value == final.id and final.bar == 3.8
    assert at.text_input(key="rounds_new_en_1").value == ""
    at.text_input(key="rounds_new_zh_1").input("终面")
    at.text_input(key="rounds_new_en_1").input("Final")
    submit(at, "rounds_new_1")
    assert_no_exception(at)
    assert tr("err.round_exists", "en") in [e.value for e in at.error]
    # Second time on the round's own form: rename it; the bar saved before stays.
    at.text_input(key=f"rounds_en_{final.id}").input("Final round")
    submit(at, f"rounds_round_{final.id}")
    assert_no_exception(at)
    with db.session_scope() as session:
        rounds = session.exec(select(InterviewRound).where(InterviewRound.name_zh == "终面")).all()
    assert [(r.name_en, r.bar) for r in rounds] == [("Final round", 3.8)]


def test_what_an_interviewer_wrote_is_shown_as_text_in_the_debrief(demo_db, open_app):
    case = _case(name="Jonas Weber", email="jonas.weber@example.net", panel=("interviewer@example.com",))
    with db.session_scope() as session:
        evaluation.save_scorecard(
            session=session,
            actor=account(session, "interviewer@example.com"),
            interview_id=case.interview_id,
            submit=True,
            scorecard_in={
                "ratings": [{"criterion_id": c, "rating": 3, "note": HOSTILE} for c in case.criteria],
                "strengths": HOSTILE,
                "weaknesses": "[link](http://evil.example)",
                "recommendation": "yes",
            },
        )
    at = _open(open_app, ROLE_EMAILS["recruiter"], "pages/debrief.py", "en", application=str(case.application_id))
    assert_no_exception(at)
    shown = [t.value for t in at.text]
    assert HOSTILE in shown and "[link](http://evil.example)" in shown
    assert not any(HOSTILE in m.value or "evil.example" in m.value for m in at.markdown)
    assert not any(HOSTILE in c.value for c in at.caption)


def test_a_criterion_picked_in_one_round_does_not_break_another_round_and_retiring_it_works(demo_db, open_app):
    at = _open(open_app, ROLE_EMAILS["admin"], "pages/rounds.py", "en")
    first = at.selectbox(key="rounds_pick").value
    with db.session_scope() as session:
        chosen = evaluation.criteria_for(session=session, round_id=first, job_id=None)[0].id
        other = next(
            r.id
            for r in evaluation.list_rounds(session=session, actor=account(session, ROLE_EMAILS["admin"]))
            if r.id != first
        )
    at.selectbox(key=f"rounds_crit_pick_{first}_None").set_value(chosen).run()
    at.selectbox(key="rounds_pick").set_value(other).run()
    assert_no_exception(at)
    at.selectbox(key="rounds_pick").set_value(first).run()
    assert_no_exception(at)
    at.selectbox(key=f"rounds_crit_pick_{first}_None").set_value(chosen).run()
    [retire] = [b for b in at.button if b.label == tr("rounds.remove", "en")]
    retire.click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert not session.get(Criterion, chosen).is_active
