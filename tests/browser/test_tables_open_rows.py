"""A click on an ordinary cell of a table (not its checkbox column) opens that row, on every table page."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from services.platform.i18n import t
from tests.browser.conftest import shot
from tests.browser.flows import open_page, settle, sign_in
from tests.browser.steps import click_cell, main


def _opens(page: Page, result: Callable[[], Locator], name: str) -> None:
    table = main(page).get_by_test_id("stDataFrame").last
    expect(table).to_be_visible()
    settle(page)
    click_cell(page, table, 0)
    try:
        expect(result()).to_be_visible(timeout=8_000)
    except AssertionError:  # a click dropped while the app was busy: once more (see flows.click_until)
        settle(page)
        click_cell(page, main(page).get_by_test_id("stDataFrame").last, 0)
        expect(result()).to_be_visible()
    settle(page)
    shot(page, f"row-opened-{name}")


def test_a_recruiter_opens_a_row_of_every_table_by_clicking_a_cell(new_page):
    page = new_page("zh-CN")
    sign_in(page, "recruiter@example.com", browser_language="zh")
    back = lambda: main(page).get_by_role("button", name=t("common.back_to_list", "zh"))  # noqa: E731
    _opens(page, back, "candidates")

    open_page(page, t("nav.jobs", "zh"))
    _opens(page, lambda: main(page).get_by_role("heading", name=t("jobs.edit", "zh")), "jobs")

    open_page(page, t("nav.talent_pool", "zh"))
    _opens(page, lambda: main(page).get_by_role("link", name=t("fu.open_candidate", "zh")), "talent_pool")

    open_page(page, t("nav.follow_up", "zh"))
    main(page).get_by_role("radio").filter(has_text=t("fu_state.awaiting_reply", "zh")).click()
    settle(page)
    _opens(page, lambda: main(page).get_by_role("link", name=t("fu.open_candidate", "zh")), "follow_up")

    open_page(page, t("nav.outbox", "zh"))
    _opens(page, lambda: main(page).get_by_text(t("outbox.plain_text", "zh")), "outbox")


def test_an_admin_opens_a_user_by_clicking_a_cell(new_page):
    page = new_page("en-US")
    sign_in(page, "admin@example.com", browser_language="en")
    open_page(page, t("nav.users", "zh"))
    _opens(page, lambda: main(page).get_by_role("button", name=t("users.set_password", "zh")), "users")
