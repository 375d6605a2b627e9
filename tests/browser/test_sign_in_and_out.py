"""Signing in and out in a real browser: the session cookie, reloads, a wrong password, pages outside one's role."""

from __future__ import annotations

from playwright.sync_api import expect

from services.platform.i18n import t
from tests.browser.conftest import DEMO_PASSWORD, shot
from tests.browser.flows import fill_sign_in, session_cookie, settle, sidebar, sign_in, wait_until_cookie_cleared


def test_sign_in_survives_a_reload_and_sign_out_ends_it_for_good(new_page):
    page = new_page("zh-CN")
    cookie = sign_in(page, "admin@example.com", browser_language="zh")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.reload()
    expect(sidebar(page).get_by_text("admin@example.com")).to_be_visible()
    expect(page.locator("h1").first).to_have_text(t("nav.candidates", "zh"))
    # A page opened by its address is a fresh load too.
    page.goto("/jobs")
    expect(page.locator("h1").first).to_have_text(t("nav.jobs", "zh"))
    expect(sidebar(page).get_by_text("admin@example.com")).to_be_visible()

    sidebar(page).get_by_role("button", name=t("nav.sign_out", "zh")).click()
    wait_until_cookie_cleared(page)
    expect(page.get_by_role("button", name=t("signin.submit", "zh"))).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name=t("signin.submit", "zh"))).to_be_visible()
    expect(sidebar(page).get_by_text("admin@example.com")).to_have_count(0)
    page.goto("/jobs")
    expect(page.get_by_role("button", name=t("signin.submit", "zh"))).to_be_visible()
    expect(page.locator("h1").first).to_have_text(t("app.title", "zh"))


def test_a_wrong_password_shows_the_error_and_signs_nobody_in(new_page):
    page = new_page("en-US")
    page.goto("/")
    fill_sign_in(page, "interviewer2@example.com", "not-the-password-1", "en")
    expect(page.get_by_text(t("err.sign_in_failed", "en"))).to_be_visible()
    settle(page)
    shot(page, "interviewer-sign_in_failed-en")
    assert session_cookie(page) is None
    # The same message for an address nobody has.
    fill_sign_in(page, "nobody@example.com", DEMO_PASSWORD, "en")
    expect(page.get_by_text(t("err.sign_in_failed", "en"))).to_be_visible()
    assert session_cookie(page) is None


def test_an_interviewer_opening_the_candidates_address_sees_no_candidate(new_page):
    page = new_page("zh-CN")
    sign_in(page, "interviewer@example.com", browser_language="zh")
    page.goto("/candidates")
    expect(sidebar(page).get_by_text("interviewer@example.com")).to_be_visible()
    settle(page)
    expect(page.locator("h1").first).not_to_have_text(t("nav.candidates", "zh"))
    expect(page.get_by_test_id("stMain").get_by_text("@example.c")).to_have_count(0)  # no candidate email shows
    shot(page, "interviewer-candidates_address-zh")
