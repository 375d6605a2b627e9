"""The candidate's own consent link (issue 13) in a real browser: a mail to them carries it; they open it, read the
notice it links to, withdraw from the talent pool, and the same link then refuses politely in their language."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlmodel import select

from models.candidate import Candidate
from models.followup import PoolEntry
from models.user import User
from services.follow_up import followup
from services.platform.i18n import t
from services.privacy import consent
from tests.browser.conftest import shot


def _pooled_candidate_with_mail(server_db) -> tuple[int, str]:
    """A demo candidate in the talent pool by their consent, and a thank-you draft to them: its consent link's token."""
    with server_db() as session:
        recruiter = session.exec(select(User).where(User.email == "recruiter@example.com")).one()
        person = session.exec(
            select(Candidate).where(Candidate.email.is_not(None), Candidate.anonymised_at.is_(None))  # type: ignore[union-attr]
        ).first()
        person.language = "en"
        session.add(person)
        session.flush()
        consent.record_consent(
            session=session,
            actor=recruiter,
            consent_in={"candidate_id": person.id, "purpose": "talent_pool", "given": True},
        )
        followup.keep_in_pool(
            session=session,
            actor=recruiter,
            entry_in={"candidate_id": person.id, "reason": "browser test", "revisit_on": "2031-01-01"},
        )
        mail = followup.prepare_reengagement_mail(session=session, actor=recruiter, candidate_id=person.id)
        token = re.search(r"\?consent=([A-Za-z0-9_-]+)", mail.text).group(1)
        session.commit()
        return person.id, token


def test_the_candidate_withdraws_by_the_link_in_our_mail_and_the_link_then_refuses(new_page, server_db) -> None:
    candidate_id, token = _pooled_candidate_with_mail(server_db)
    page = new_page("zh-CN")  # their browser says Chinese; the page speaks the language we write to them in
    page.goto(f"/?consent={token}")
    expect(page.get_by_text(t("consent.title", "en")).first).to_be_visible()
    expect(page.get_by_text(t("consent.now_given", "en"))).to_be_visible()
    shot(page, "consent-link-page")
    page.get_by_text(t("consent.choice_withdraw", "en")).click()
    page.get_by_role("button", name=t("consent.send", "en")).click()
    expect(page.get_by_text(t("consent.done_withdraw", "en"))).to_be_visible()
    with server_db() as session:
        assert session.exec(select(PoolEntry.status).where(PoolEntry.candidate_id == candidate_id)).one() == "removed"
        assert not consent.consent_in_force(session=session, candidate_id=candidate_id, purpose="talent_pool")
    again = new_page("zh-CN")
    again.goto(f"/?consent={token}")
    expect(again.get_by_text(t("consent.link_invalid", "en"))).to_be_visible()
    again.goto("/?notice=current&lang=en")
    expect(again.get_by_text(t("privacy_notice.title", "en")).first).to_be_visible()
    expect(again.get_by_text("Privacy notice for candidates")).to_be_visible()
    shot(again, "privacy-notice-page")
