"""Each demo role signs in, opens every page of its navigation in both languages, and a screenshot is kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from services.platform.i18n import t
from tests.browser.conftest import shot
from tests.browser.flows import (
    ACCOUNTS,
    MUST_NOT_OFFER,
    MUST_OFFER,
    nav_links,
    open_page,
    other,
    settle,
    sidebar,
    sign_in,
    switch_language,
)

# The browser's language decides the sign-in page; alternate it so both are seen.
BROWSER_LOCALE = {"admin": "zh-CN", "recruiter": "en-US", "hiring_manager": "zh-CN", "interviewer": "en-US"}


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_each_role_opens_every_page_of_its_navigation_in_both_languages(new_page, role):
    email, saved = ACCOUNTS[role]
    locale = BROWSER_LOCALE[role]
    browser_language = locale[:2]
    page = new_page(locale)
    page.goto("/")
    expect(page.locator("h1").first).to_have_text(t("app.title", browser_language))
    expect(page.get_by_role("textbox", name=t("field.email", browser_language))).to_be_visible()
    settle(page)
    shot(page, f"{role}-sign_in-{browser_language}")

    sign_in(page, email, browser_language=browser_language)
    # Signed in, the interface follows the account's saved language, not the browser's.
    expect(sidebar(page).get_by_role("button", name=t("nav.sign_out", saved))).to_be_visible()
    try:
        for language in (saved, other(saved)):
            if language != saved:
                switch_language(page, language)
            links = nav_links(page, language)
            assert MUST_OFFER[role] <= set(links), links
            assert not MUST_NOT_OFFER[role] & set(links), links
            for name, text in links.items():
                open_page(page, text)
                expect(page.get_by_test_id("stException")).to_have_count(0)
                shot(page, f"{role}-{name}-{language}")
    finally:
        if language != saved:  # leave the account as the demo data has it
            switch_language(page, saved)
