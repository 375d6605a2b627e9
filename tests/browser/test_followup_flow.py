"""The Follow-up flow in the browser: an overdue candidate gets a call and the survey invitation, and answers the
survey from the private link, once."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect
from sqlmodel import col, select

from models.followup import Contact, SurveyResponse
from models.mail import MailStatus, OutboxMessage
from services.follow_up import followup
from services.pipeline import candidates
from services.platform.i18n import t
from tests.browser.flows import click_until, open_page, settle, sign_in, switch_language
from tests.browser.steps import main, shot_when_drawn
from tests.scenarios import Interviewed, account, interviewed_candidate, managed_open_job

RECRUITER = "recruiter@example.com"  # the account speaks zh
ROW_HEIGHT = 35  # st.dataframe's header and row height, in CSS pixels


def _board(page: Page):  # a Locator
    return main(page).get_by_test_id("stDataFrame")


def _board_row(page: Page, name: str) -> int:
    """The row the board shows `name` in (read from the grid's accessible cells; the grid itself is a canvas)."""
    cell = _board(page).locator("td[role=gridcell]").filter(has_text=re.compile(f"^{re.escape(name)}$"))
    expect(cell).to_have_count(1)
    return int(cell.get_attribute("data-testid").rsplit("-", 1)[1])


def _pick_on_board(page: Page, name: str, panel_title: str) -> None:
    """Tick the row's box at the left of the board, as a person does, and wait for the action panel."""
    row = _board_row(page, name)
    box = _board(page).get_by_test_id("data-grid-canvas").bounding_box()
    heading = main(page).get_by_role("heading", name=panel_title)
    y = ROW_HEIGHT * (row + 1) + ROW_HEIGHT / 2
    assert box and y < box["height"], (box, row)  # the row is in view

    def tick() -> None:
        page.mouse.click(box["x"] + 16, box["y"] + y)

    tick()
    try:
        expect(heading).to_be_visible(timeout=8_000)
    except AssertionError:  # a click dropped while the app was busy: once more (see flows.click_until)
        settle(page)
        tick()
        expect(heading).to_be_visible()
    settle(page)


def _survey_token(server_db, case: Interviewed) -> str:
    """The private link's token, as the candidate receives it: from the text of the mail in the outbox."""
    with server_db() as session:
        mail = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.application_id == case.application_id, OutboxMessage.template == "survey_invite"
            )
        ).one()
    assert mail.status in (MailStatus.queued, MailStatus.held, MailStatus.sent), mail.status
    return re.search(r"/\?survey=([A-Za-z0-9_-]+)", mail.text).group(1)


def _chinese_invite(server_db, tag: str) -> str:
    """A survey link of a Chinese-speaking candidate (only to see the survey in Chinese)."""
    with server_db() as session:
        recruiter = account(session, RECRUITER)
        person = candidates.create_candidate(
            session=session,
            actor=recruiter,
            job_id=managed_open_job(session).id,
            candidate_in={"name": "诸葛欣怡", "email": f"zhuge.{tag}@example.cn"},
            allow_duplicate=True,
        )
        application = (
            candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=person.id)
            .applications[0]
            .application
        )
        mail = followup.prepare_candidate_mail(
            session=session, actor=recruiter, application_id=application.id, template="survey_invite"
        )
    return re.search(r"\?survey=([A-Za-z0-9_-]+)", mail.text).group(1)


def _answer(page: Page, language: str, *, nps: int, scores: dict[str, int], comment: str) -> None:
    nps_group = page.get_by_role("radiogroup", name=t("survey.nps", language))
    nps_group.get_by_role("radio", name=str(nps), exact=True).click()
    for name, value in scores.items():
        group = page.get_by_role("radiogroup", name=t(f"survey.{name}", language))
        choice = group.get_by_role("radio", name=t(f"survey.scale_{value}", language), exact=True)
        choice.click()
        expect(choice).to_have_attribute("aria-checked", "true")
    page.get_by_role("textbox", name=t("survey.comment", language)).fill(comment)


def test_an_overdue_candidate_is_called_invited_to_the_survey_and_answers_it_once(new_page, server_db):
    tag = uuid.uuid4().hex[:8]
    with server_db() as session:
        # The interview ended 30 hours ago and nobody has been in touch: 6 hours past the 24-hour promise.
        case = interviewed_candidate(
            session, name="司马浩然", email=f"sima.haoran.{tag}@example.org", language="en", ended_hours_ago=30
        )
        # Another one waiting, less overdue: the row the first leaves behind on the board is theirs next.
        other = interviewed_candidate(
            session, name="上官雨桐", email=f"shangguan.{tag}@example.com", ended_hours_ago=26
        )
        row = next(
            r
            for r in followup.follow_up_board(session=session, actor=account(session, RECRUITER))
            if r.application_id == case.application_id
        )
    assert row.state == "awaiting_feedback" and row.clock_running
    panel_title = f"{case.candidate} · {case.job}"

    page = new_page("zh-CN")
    sign_in(page, RECRUITER, browser_language="zh")
    open_page(page, t("nav.follow_up", "zh"))
    states = main(page).get_by_role("radiogroup", name=t("fu.state", "zh"))
    awaiting = states.get_by_role("radio", name=re.compile(f"^{re.escape(t('fu_state.awaiting_feedback', 'zh'))}"))
    expect(awaiting).to_have_attribute("aria-checked", "true")
    overdue = _board(page).locator("td[role=gridcell]").filter(has_text=t("fu.overdue_prefix", "zh"))
    expect(overdue.first).to_be_attached()
    shot_when_drawn(page, "followup-board-zh")

    # The overdue candidate: the action panel opens with the clock.
    _pick_on_board(page, case.candidate, panel_title)
    expect(main(page).get_by_text(t("fu.clock", "zh", left="", deadline="")[:4])).to_be_visible()
    shot_when_drawn(page, "followup-panel-zh")

    # A call: logged, the clock stops, the candidate leaves "awaiting feedback".
    form = main(page).get_by_test_id("stForm").filter(has=page.get_by_role("textbox", name=t("fu.summary", "zh")))
    form.get_by_role("textbox", name=t("fu.summary", "zh")).fill("电话沟通：面试感受良好 / called, happy so far")
    log = form.get_by_role("button", name=t("fu.log", "zh"))
    click_until(page, log, main(page).get_by_text(t("fu.logged", "zh")))
    expect(_board(page).locator("td[role=gridcell]").filter(has_text=re.compile(f"^{case.candidate}$"))).to_have_count(
        0
    )
    _board_row(page, other.candidate)  # still waiting
    # The panel stays with the candidate just called (not whoever now has their row), its form empty again.
    expect(main(page).get_by_role("heading", name=panel_title)).to_be_visible()
    expect(form.get_by_role("textbox", name=t("fu.summary", "zh"))).to_have_value("")
    with server_db() as session:
        [contact] = session.exec(select(Contact).where(Contact.candidate_id == case.candidate_id)).all()
        row = next(
            r
            for r in followup.follow_up_board(session=session, actor=account(session, RECRUITER))
            if r.application_id == case.application_id
        )
    assert (contact.channel, contact.outcome) == ("phone", "reached")
    assert row.state != "awaiting_feedback" and not row.clock_running
    shot_when_drawn(page, "followup-logged-zh")

    # The survey invitation from the mail tab: prepared in the candidate's language, reviewed, sent.
    main(page).get_by_role("tab", name=t("fu.tab_mail", "zh")).click()
    template = main(page).get_by_role("combobox", name=t("fu.template", "zh"))
    template.click()
    page.get_by_role("option", name=t("template.survey_invite", "zh"), exact=True).click()
    expect(template).to_have_value(t("template.survey_invite", "zh"))
    settle(page)
    prepare = main(page).get_by_role("button", name=t("fu.prepare", "zh"))
    body = main(page).get_by_role("textbox", name=t("field.body", "zh"))
    click_until(page, prepare, body)
    expect(body).to_have_value(re.compile(r"/\?survey=[A-Za-z0-9_-]{20,}"))
    expect(body).to_have_value(re.compile("Dear|Hi|Hello|司马浩然"))
    shot_when_drawn(page, "followup-survey_draft-zh")
    send = main(page).get_by_role("button", name=t("db.send", "zh"))
    click_until(page, send, main(page).get_by_text(t("db.sent", "zh")))
    token = _survey_token(server_db, case)

    # The same board and panel in English (the language is kept with the account: put it back afterwards).
    try:
        switch_language(page, "en")
        page.goto(f"/follow_up?application={case.application_id}")
        expect(main(page).get_by_role("heading", name=panel_title)).to_be_visible()
        expect(main(page).get_by_role("tab", name=t("fu.tab_contact", "en"))).to_be_visible()
        shot_when_drawn(page, "followup-panel-en")
    finally:
        switch_language(page, "zh")

    # The candidate opens the link in their own browser: no account, no cookies, in their language.
    candidate = new_page("zh-CN")
    candidate.goto(f"/?survey={token}")
    expect(candidate.locator("h1").first).to_have_text(t("survey.title", "en"))
    expect(candidate.get_by_role("radiogroup")).to_have_count(4)
    expect(candidate.get_by_test_id("stSidebarNav")).to_have_count(0)
    settle(candidate)
    _answer(candidate, "en", nps=9, scores={"clarity": 4, "respect": 5, "treatment": 4}, comment="Kept me informed")
    shot_when_drawn(candidate, "survey-en")
    send = candidate.get_by_role("button", name=t("survey.send", "en"))
    click_until(candidate, send, candidate.get_by_text(t("survey.thanks", "en")))
    expect(candidate.locator("h1").first).to_have_text(t("survey.thanks_title", "en"))
    shot_when_drawn(candidate, "survey_thanks-en")
    assert candidate.context.cookies() == [] or all(
        c["name"] != "followup_session" for c in candidate.context.cookies()
    )
    with server_db() as session:
        answer = session.exec(select(SurveyResponse).order_by(col(SurveyResponse.id).desc())).first()
    assert (answer.nps, answer.clarity, answer.respect, answer.treatment, answer.comment) == (
        9,
        4,
        5,
        4,
        "Kept me informed",
    )

    # The same link again: spent, and said politely (in the browser's language: the link no longer tells).
    candidate.goto(f"/?survey={token}")
    expect(candidate.get_by_text(t("survey.link_invalid", "zh"))).to_be_visible()
    expect(candidate.get_by_role("radiogroup")).to_have_count(0)
    shot_when_drawn(candidate, "survey_invalid-zh")

    # The survey in Chinese, and a broken link in English.
    chinese = new_page("en-US")
    chinese.goto(f"/?survey={_chinese_invite(server_db, tag)}")
    expect(chinese.locator("h1").first).to_have_text(t("survey.title", "zh"))
    expect(chinese.get_by_role("radiogroup")).to_have_count(4)
    shot_when_drawn(chinese, "survey-zh")
    chinese.goto(f"/?survey={token[:-4]}")
    expect(chinese.get_by_text(t("survey.link_invalid", "en"))).to_be_visible()
    shot_when_drawn(chinese, "survey_invalid-en")
