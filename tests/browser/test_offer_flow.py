"""The offer flow in the browser: the hiring manager approves an offer, the recruiter prepares and sends the letter,
and the candidate accepts it from the private link in a fresh browser context — once."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import expect
from sqlmodel import select

from models.candidate import Application
from models.common import utcnow
from models.mail import OutboxMessage
from models.onboard import Offer
from services.onboard import offers
from services.pipeline import candidates
from services.platform.config import get_settings
from services.platform.i18n import t
from tests.browser.flows import click_until, settle, sign_in
from tests.browser.steps import main, shot_when_drawn
from tests.scenarios import account, managed_open_job

RECRUITER = "recruiter@example.com"  # speaks zh
MANAGER = "manager@example.com"  # speaks en


def _pending_offer(server_db, tag: str) -> int:
    """A new candidate at the offer stage with an offer the recruiter drafted and submitted for approval."""
    with server_db() as session:
        recruiter = account(session, RECRUITER)
        person = candidates.create_candidate(
            session=session,
            actor=recruiter,
            job_id=managed_open_job(session).id,
            candidate_in={"name": "欧阳明轩", "email": f"ouyang.{tag}@example.com"},
            allow_duplicate=True,
        )
        app = session.exec(select(Application).where(Application.candidate_id == person.id)).one()
        candidates.move_stage(session=session, actor=recruiter, application_id=app.id, to_stage="offer")
        today = utcnow().astimezone(get_settings().tz).date()
        offer = offers.create_offer(
            session=session,
            actor=recruiter,
            offer_in={
                "application_id": app.id,
                "job_title": "产品经理 Product manager",
                "salary_amount": "28000",
                "start_date": today + timedelta(days=30),
                "location": "上海 Shanghai",
                "probation_months": 3,
                "contract_months": 36,
                "response_deadline": today + timedelta(days=7),
            },
        )
        offers.submit_for_approval(session=session, actor=recruiter, offer_id=offer.id)
        session.commit()
        return offer.id


def test_an_offer_is_approved_sent_and_accepted_through_the_link_once(new_page, server_db):
    offer_id = _pending_offer(server_db, uuid.uuid4().hex[:8])

    # The hiring manager approves, with a comment.
    manager = new_page("en-US")
    sign_in(manager, MANAGER, browser_language="en")
    manager.goto(f"/onboard?offer_id={offer_id}")
    comment = main(manager).get_by_role("textbox", name=t("field.comment", "en"))
    expect(comment).to_be_visible()
    settle(manager)
    comment.fill("Fair for the level")
    approve = main(manager).get_by_role("button", name=t("onboard_offers.approve", "en"), exact=True)
    click_until(manager, approve, main(manager).get_by_text(t("onboard_offers.approved_done", "en")))
    shot_when_drawn(manager, "offer-approved-en")

    # The recruiter prepares the letter, reviews it and sends it.
    recruiter = new_page("zh-CN")
    sign_in(recruiter, RECRUITER, browser_language="zh")
    recruiter.goto(f"/onboard?offer_id={offer_id}")
    prepare = main(recruiter).get_by_role("button", name=t("onboard_offers.prepare_letter", "zh"))
    body = main(recruiter).get_by_role("textbox", name=t("field.body", "zh"))
    click_until(recruiter, prepare, body)
    expect(body).to_have_value(re.compile(r"/\?offer=[A-Za-z0-9_-]{20,}"))
    shot_when_drawn(recruiter, "offer-letter-zh")
    send = main(recruiter).get_by_role("button", name=t("db.send", "zh"), exact=True)
    click_until(recruiter, send, main(recruiter).get_by_text(t("onboard_offers.letter_sent", "zh")))
    with server_db() as session:
        offer = session.get(Offer, offer_id)
        letter = session.get(OutboxMessage, offer.letter_mail_id)
        assert offer.status == "sent"
        token = re.search(r"\?offer=([A-Za-z0-9_-]+)", letter.text).group(1)
        application_id = offer.application_id

    # The candidate, in their own browser: their offer, one click to accept, and the link is spent.
    candidate = new_page("zh-CN")
    candidate.goto(f"/?offer={token}")
    expect(candidate.locator("h1").first).to_have_text(t("offer_answer.title", "zh"))
    expect(candidate.get_by_test_id("stSidebarNav")).to_have_count(0)
    settle(candidate)
    shot_when_drawn(candidate, "offer-answer-zh")
    accept = candidate.get_by_role("button", name=t("offer_answer.accept", "zh"))
    click_until(candidate, accept, candidate.get_by_text(t("offer_answer.accepted", "zh")))
    with server_db() as session:
        assert session.get(Offer, offer_id).status == "accepted"
        assert session.get(Application, application_id).stage == "hired"
    again = new_page("zh-CN")
    again.goto(f"/?offer={token}")
    expect(again.get_by_text(t("offer_answer.link_used", "zh"))).to_be_visible()
    expect(again.get_by_role("button", name=t("offer_answer.accept", "zh"))).to_have_count(0)
