"""What a person does in the browser, written once: sign in, use the sidebar, wait for Streamlit to settle."""

from __future__ import annotations

import time

from playwright.sync_api import Locator, Page, expect

from services.platform.i18n import keys, t
from tests.browser.conftest import COOKIE, DEMO_PASSWORD

# Each demo account, its saved interface language and the pages its navigation must and must not offer
# (by the nav.* text key of the page title).
ACCOUNTS = {
    "admin": ("admin@example.com", "zh"),
    "recruiter": ("recruiter@example.com", "zh"),
    "hiring_manager": ("manager@example.com", "en"),
    "interviewer": ("interviewer@example.com", "zh"),
}
MUST_OFFER = {
    "admin": {"candidates", "jobs", "import", "users", "account", "metrics"},
    "recruiter": {"candidates", "jobs", "import", "account", "metrics"},
    "hiring_manager": {"candidates", "jobs", "account", "metrics"},
    "interviewer": {"jobs", "account"},
}
MUST_NOT_OFFER = {
    "admin": set(),
    "recruiter": {"users"},
    "hiring_manager": {"users", "import"},
    "interviewer": {"users", "import", "candidates", "metrics"},
}


def other(language: str) -> str:
    return "en" if language == "zh" else "zh"


def settle(page: Page) -> None:
    """Wait until the app has finished its run and no element is left over from the previous one."""
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
    expect(page.locator("[data-stale='true']")).to_have_count(0)


def click_until(page: Page, target: Locator, result: Locator, first_wait_ms: int = 8_000) -> None:
    """Click `target` and wait for `result` to show; click once more if nothing happened at all.

    Under load Streamlit's frontend now and then drops a click that lands while it is busy (a person would simply
    click again); the second click is only made when the first left no trace, and the result must still come.
    """
    target.click()
    try:
        expect(result).to_be_visible(timeout=first_wait_ms)
    except AssertionError:
        settle(page)
        target.click()
        expect(result).to_be_visible()
    settle(page)


def fill_sign_in(page: Page, email: str, password: str, language: str) -> None:
    """Fill the sign-in form shown in `language` and submit it."""
    page.get_by_role("textbox", name=t("field.email", language)).fill(email)
    page.get_by_role("textbox", name=t("field.password", language), exact=True).fill(password)
    page.get_by_role("button", name=t("signin.submit", language)).click()


def session_cookie(page: Page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == COOKIE), None)


def wait_for_session_cookie(page: Page, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cookie = session_cookie(page)
        if cookie:
            return cookie
        page.wait_for_timeout(100)
    raise AssertionError(f"no {COOKIE} cookie {seconds}s after signing in")


def wait_until_cookie_cleared(page: Page, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while session_cookie(page) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert session_cookie(page) is None, f"the {COOKIE} cookie is still set {seconds}s after signing out"


def sign_in(page: Page, email: str, *, browser_language: str, password: str = DEMO_PASSWORD) -> dict:
    """Sign in from the start page; returns the session cookie once the signed-in app shows."""
    page.goto("/")
    fill_sign_in(page, email, password, browser_language)
    cookie = wait_for_session_cookie(page)
    expect(sidebar(page).get_by_text(email)).to_be_visible()
    settle(page)
    return cookie


def sidebar(page: Page):  # a Locator
    return page.get_by_test_id("stSidebar")


def nav_links(page: Page, language: str) -> dict[str, str]:
    """The sidebar navigation as {page name (the nav.* key's end): link text}."""
    names = {t(key, language): key.removeprefix("nav.") for key in keys() if key.startswith("nav.")}
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    expect(links.first).to_be_visible()
    texts = [text.strip().split("\n")[-1].strip() for text in links.all_inner_texts()]  # after the icon's name
    unknown = [text for text in texts if text not in names]
    assert not unknown, f"navigation entries not in the {language} texts: {unknown}"
    return {names[text]: text for text in texts}


def open_page(page: Page, link_text: str) -> None:
    """Click a navigation entry and wait for its page (every page's title is its navigation text)."""
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link").filter(has=page.get_by_text(link_text, exact=True)).click()
    expect(page.locator("h1").first).to_have_text(link_text)
    settle(page)


def switch_language(page: Page, to: str) -> None:
    """Choose the interface language in the sidebar (kept with the account)."""
    current = other(to)
    box = sidebar(page).get_by_role("combobox", name=t("nav.language", current))
    box.click()
    page.get_by_role("option", name={"zh": "简体中文", "en": "English"}[to]).click()
    expect(sidebar(page).get_by_role("button", name=t("nav.sign_out", to))).to_be_visible()
    settle(page)
