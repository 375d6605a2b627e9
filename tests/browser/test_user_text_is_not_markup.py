"""In the real browser, a candidate whose name, tags and stage reason are Markdown/HTML shows them as text: no
image or link from them reaches the page, and the person viewing stays signed in."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from services.pipeline import candidates
from tests.browser.flows import session_cookie, settle, sidebar, sign_in
from tests.browser.steps import main, shot_when_drawn
from tests.scenarios import account, managed_open_job
from ui.common import WORD_JOINER

RECRUITER = "recruiter@example.com"


def test_hostile_markup_in_a_candidate_shows_as_text_and_signs_nobody_out(new_page, server_db):
    tag = uuid.uuid4().hex[:8]
    name = f"![x](/session/end) <img src=x onerror=alert(1)> [link](http://evil.example/{tag}) {tag}"
    with server_db() as session:
        recruiter = account(session, RECRUITER)
        person = candidates.create_candidate(
            session=session,
            actor=recruiter,
            job_id=managed_open_job(session).id,
            allow_duplicate=True,
            candidate_in={
                "name": name,
                "email": f"hostile.{tag}@example.net",
                "tags": ["![t](/session/end)", "<b>bold</b>"],
                "notes": "[n](http://evil.example)",
            },
        )
        cid = person.id
    page = new_page("zh-CN")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, RECRUITER, browser_language="zh")
    page.goto(f"/?id={cid}")
    expect(page.locator("h1").first).to_contain_text(tag)
    settle(page)
    # every character as typed (with an invisible word joiner that keeps the address from becoming a link)
    assert page.locator("h1").first.inner_text().strip().replace(WORD_JOINER, "") == name
    shot_when_drawn(page, "hostile-candidate-zh")

    content = main(page)
    assert content.locator("img[src='x'], img[src*='session']").count() == 0
    links = content.locator("a[href*='evil.example'], a[href*='session/end'], a[href^='mailto:hostile']")
    assert links.count() == 0, links.evaluate_all("els => els.map(e => e.outerHTML)")
    assert not [u for u in requests if "/session/end" in u or "evil.example" in u]
    page.reload()
    expect(sidebar(page).get_by_text(RECRUITER)).to_be_visible()
    assert session_cookie(page) is not None
