"""The Evaluate flow in the browser: two interviewers score independently, then the recruiter decides."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from models.candidate import Application
from models.common import Stage, utcnow
from models.evaluation import Decision, Interview, Scorecard, ScorecardStatus
from models.mail import MailStatus, OutboxMessage
from services.evaluate import evaluation
from services.platform.config import get_settings
from services.platform.i18n import t
from tests.browser.flows import click_until, open_page, settle, sign_in
from tests.browser.steps import main, shot_when_drawn
from tests.scenarios import Interviewed, account, interviewed_candidate

A, B = "interviewer@example.com", "interviewer2@example.com"  # their accounts speak zh and en


def _open_my_scorecard(page: Page, case: Interviewed, language: str) -> None:
    """From My interviews, open the scorecard of the case's interview (its row's link)."""
    open_page(page, t("nav.interviews", language))
    link = page.locator(f"a[href*='scorecard?interview={case.interview_id}']")
    expect(link).to_have_accessible_name(t("iv.open_scorecard", language))
    row = main(page).get_by_test_id("stVerticalBlock").filter(has=link).filter(has_text=case.candidate)
    expect(row.last).to_be_visible()  # the link is on the case's row
    shot_when_drawn(page, f"evaluate-my_interviews-{language}")
    link.click()
    expect(page.locator("h1").first).to_have_text(t("sc.title", language, name=case.candidate))
    # Every criterion and the recommendation (the widgets load after the title).
    expect(page.get_by_role("radiogroup")).to_have_count(len(case.criteria) + 1)
    settle(page)


def _fill_scorecard(
    page: Page, case: Interviewed, language: str, *, rating: int, recommendation: str, strengths: str
) -> None:
    groups = page.get_by_role("radiogroup")
    for n in range(len(case.criteria)):
        choice = groups.nth(n).get_by_role("radio", name=str(rating), exact=True)
        choice.click()
        expect(choice).to_have_attribute("aria-checked", "true")
    pick = groups.nth(len(case.criteria)).get_by_role("radio", name=t(f"rec.{recommendation}", language), exact=True)
    pick.click()
    expect(pick).to_have_attribute("aria-checked", "true")
    page.get_by_role("textbox", name=t("sc.strengths", language)).fill(strengths)


def _submit_scorecard(page: Page, language: str) -> None:
    submit = page.get_by_role("button", name=t("sc.submit", language))
    click_until(page, submit, page.get_by_text(t("sc.submitted", language)))
    expect(page.get_by_role("button", name=t("sc.submit", language))).to_have_count(0)  # locked


def _card_status(server_db, case: Interviewed, email: str) -> str | None:
    with server_db() as session:
        card = session.exec(
            select(Scorecard).where(
                Scorecard.interview_id == case.interview_id, Scorecard.interviewer_id == account(session, email).id
            )
        ).first()
        return card.status if card else None


def _scores_table(page: Page):  # a Locator
    return main(page).get_by_test_id("stDataFrame")


def _column(page: Page, title: str):  # a Locator
    """A column of the scores table, by its header (the grid is drawn on a canvas; its headers are also in an
    accessible table that is hidden from view)."""
    return _scores_table(page).locator("th[role=columnheader]").filter(has_text=re.compile(f"^{re.escape(title)}$"))


def test_two_interviewers_score_independently_and_the_recruiter_decides(new_page, server_db):
    tag = uuid.uuid4().hex[:8]
    with server_db() as session:
        case = interviewed_candidate(session, name="欧阳嘉怡", email=f"ouyang.jiayi.{tag}@example.com")
        name_a, name_b = account(session, A).name, account(session, B).name

    # Interviewer A rates every criterion from My interviews and submits.
    first = new_page("zh-CN")
    sign_in(first, A, browser_language="zh")
    _open_my_scorecard(first, case, "zh")
    _fill_scorecard(first, case, "zh", rating=4, recommendation="yes", strengths="基础扎实，表达清楚")
    shot_when_drawn(first, "evaluate-scorecard-zh")
    _submit_scorecard(first, "zh")
    shot_when_drawn(first, "evaluate-scorecard_submitted-zh")
    assert _card_status(server_db, case, A) == ScorecardStatus.submitted

    # Interviewer B, on the same panel, opens the debrief's address before scoring: no one's scores.
    second = new_page("en-US")
    sign_in(second, B, browser_language="en")
    second.goto(f"/debrief?application={case.application_id}")
    expect(main(second).get_by_text(t("err.submit_first", "en"))).to_be_visible()
    settle(second)
    expect(_scores_table(second)).to_have_count(0)
    expect(main(second).get_by_text(name_a)).to_have_count(0)
    expect(main(second).get_by_text(t("rec.yes", "en"), exact=True)).to_have_count(0)
    shot_when_drawn(second, "evaluate-debrief_submit_first-en")

    # B submits their own (a different view: a split panel), then sees both side by side.
    _open_my_scorecard(second, case, "en")
    _fill_scorecard(second, case, "en", rating=2, recommendation="no", strengths="Friendly, but shallow on design")
    shot_when_drawn(second, "evaluate-scorecard-en")
    _submit_scorecard(second, "en")
    second.get_by_role("link", name=t("sc.see_panel", "en")).click()
    expect(second.locator("h1").first).to_have_text(t("db.title", "en", name=case.candidate))
    for who in (name_a, name_b):
        expect(_column(second, who)).to_have_count(1)
    expect(main(second).get_by_text(t("debrief.split_recommendation", "en"))).to_be_visible()
    expect(main(second).get_by_role("radiogroup", name=t("db.decision", "en"))).to_have_count(0)  # no decision
    shot_when_drawn(second, "evaluate-debrief-en")

    # The recruiter opens the debrief and records a decision; the rejection mail waits for review.
    third = new_page("zh-CN")
    sign_in(third, "recruiter@example.com", browser_language="zh")
    third.goto(f"/debrief?application={case.application_id}")
    expect(third.locator("h1").first).to_have_text(t("db.title", "zh", name=case.candidate))
    for who in (name_a, name_b):
        expect(_column(third, who)).to_have_count(1)
    shot_when_drawn(third, "evaluate-debrief-zh")

    kinds = main(third).get_by_role("radiogroup", name=t("db.decision", "zh"))
    reject = kinds.get_by_role("radio", name=t("decision.reject", "zh"), exact=True)
    reason = main(third).get_by_role("combobox", name=t("field.reason", "zh"))
    reject.click()
    expect(reject).to_have_attribute("aria-checked", "true")
    expect(reason).to_have_value(t("reason.skills_below_bar", "zh"))  # the form for a rejection
    settle(third)
    third.get_by_role("textbox", name=t("db.reason_text", "zh")).fill("系统设计偏弱，两位面试官意见不一")
    record = third.get_by_role("button", name=t("db.record", "zh"))
    click_until(third, record, main(third).get_by_text(t("db.recorded", "zh", decision=t("decision.reject", "zh"))))
    expect(main(third).get_by_text(t("db.draft_title", "zh"))).to_be_visible()
    body = main(third).get_by_role("textbox", name=t("field.body", "zh"))
    expect(body).to_have_value(re.compile(re.escape(case.candidate)))
    shot_when_drawn(third, "evaluate-decision_draft-zh")

    with server_db() as session:
        assert session.get(Application, case.application_id).stage == Stage.rejected
        decision = session.exec(select(Decision).where(Decision.application_id == case.application_id)).one()
        draft = session.get(OutboxMessage, decision.mail_id)
    assert (decision.kind, decision.reason_code) == ("reject", "skills_below_bar")
    assert draft.status == MailStatus.draft and draft.to_addrs == case.email


def test_a_recruiter_books_a_double_booked_interviewer_only_after_confirming_and_the_form_empties(new_page, server_db):
    tag = uuid.uuid4().hex[:8]
    with server_db() as session:
        case = interviewed_candidate(session, name="诸葛明轩", email=f"zhuge.mingxuan.{tag}@example.com")
        busy = interviewed_candidate(session, name="端木静怡", email=f"duanmu.jingyi.{tag}@example.com")
        tz = get_settings().tz
        tomorrow_10 = datetime.combine((utcnow() + timedelta(days=1)).astimezone(tz).date(), time(10, 0), tzinfo=tz)
        owner = account(session, "recruiter@example.com")
        # B is already booked tomorrow 10:00–11:00 (the form's default slot) with another candidate.
        on_site = evaluation.list_rounds(session=session, actor=owner)[2]
        evaluation.schedule_interview(
            session=session,
            actor=owner,
            allow_conflicts=True,
            interview_in={
                "application_id": busy.application_id,
                "round_id": on_site.id,
                "starts_at": tomorrow_10,
                "ends_at": tomorrow_10 + timedelta(hours=1),
                "mode": "onsite",
                "location": "",
                "interviewer_ids": [account(session, B).id],
            },
        )
        name_b = account(session, B).name

    page = new_page("zh-CN")
    sign_in(page, "recruiter@example.com", browser_language="zh")
    page.goto(f"/interviews?application={case.application_id}")
    expect(page.locator("h1").first).to_have_text(t("nav.interviews", "zh"))
    settle(page)
    picker = main(page).get_by_role("combobox", name=t("iv.candidate_pick", "zh"))
    expect(picker).to_have_value(re.compile(re.escape(case.candidate)))
    location = main(page).get_by_role("textbox", name=t("iv.location", "zh"))
    location.fill("会议室 A ![x](/session/end)")
    panel = main(page).get_by_role("combobox", name=t("iv.panel", "zh"))
    panel.click()
    panel.fill(name_b.split()[0])
    page.get_by_role("option", name=name_b).click()
    page.keyboard.press("Escape")  # close the list of people
    book = main(page).get_by_role("button", name=t("iv.schedule", "zh"), exact=True)
    click_until(page, book, main(page).get_by_text(t("iv.conflicts_title", "zh")))
    shot_when_drawn(page, "evaluate-schedule_conflict-zh")
    with server_db() as session:
        booked = session.exec(select(Interview).where(Interview.application_id == case.application_id)).all()
    assert [i.id for i in booked] == [case.interview_id]  # nothing booked yet

    anyway = main(page).get_by_role("button", name=t("iv.schedule_anyway", "zh"))
    click_until(page, anyway, main(page).get_by_text(t("iv.scheduled", "zh") + " " + t("iv.invites_sent", "zh")))
    expect(main(page).get_by_role("textbox", name=t("iv.location", "zh"))).to_have_value("")
    expect(main(page).get_by_text(t("iv.conflicts_title", "zh"))).to_have_count(0)
    shot_when_drawn(page, "evaluate-scheduled-zh")
    with server_db() as session:
        booked = session.exec(
            select(Interview).where(Interview.application_id == case.application_id).order_by(Interview.id)
        ).all()
        assert len(booked) == 2 and booked[1].starts_at == tomorrow_10
        assert booked[1].location == "会议室 A ![x](/session/end)"
        invite = session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith(f"iv-invite:{booked[1].id}:"))
        ).one()
        assert invite.to_addrs == B and invite.template == "interview_panel"
