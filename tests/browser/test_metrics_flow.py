"""A hiring manager reads Metrics in a real browser: the charts draw, each tab opens, the table view shows the same
numbers, the CSV and PNG download, a filter change redraws; an interviewer's address bar gets a refusal."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import expect

from services.metrics.funnel import STEPS
from services.platform.i18n import t
from tests.browser.conftest import shot
from tests.browser.flows import ACCOUNTS, settle, sign_in

TABS_FOR_MANAGER = ("funnel", "speed", "offers", "sources", "experience", "quality", "fairness")


def _main(page):
    return page.get_by_test_id("stMain")


def test_a_hiring_manager_reads_every_tab_and_takes_the_numbers_away(new_page):
    email, lang = ACCOUNTS["hiring_manager"]
    page = new_page("zh-CN")
    sign_in(page, email, browser_language="zh")
    page.goto("/metrics")
    expect(page.locator("h1").first).to_have_text(t("nav.metrics", lang))
    settle(page)
    main = _main(page)
    tabs = main.get_by_role("tab")
    expect(tabs).to_have_count(len(TABS_FOR_MANAGER))
    assert [s.strip() for s in tabs.all_inner_texts()] == [t(f"metrics.tab.{n}", lang) for n in TABS_FOR_MANAGER]
    expect(main.get_by_test_id("stVegaLiteChart").first).to_be_visible()  # the funnel draws
    shot(page, "metrics-manager-funnel")

    # The table view of the funnel holds the same steps the chart names.
    main.get_by_text(t("metrics.table_view", lang)).first.click()
    expect(main.get_by_test_id("stDataFrame").first).to_be_visible()

    # The CSV: the funnel's steps, in the reader's language, readable by Excel (a byte-order mark).
    with page.expect_download() as download:
        main.get_by_role("button", name=t("metrics.download_csv", lang)).first.click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == t("metrics.col.step", lang)
    assert [r[0] for r in rows[1:]] == [t(f"metrics.step.{s}", lang) for s in STEPS]

    # The PNG is rendered when asked for, and is a PNG.
    with page.expect_download() as download:
        main.get_by_role("button", name=t("metrics.download_png", lang)).first.click()
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Every tab opens without an error; the manager has no per-person calibration tab.
    for n, name in enumerate(TABS_FOR_MANAGER):
        tabs.nth(n).click()
        settle(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        shot(page, f"metrics-manager-{name}")

    # A filter change redraws: activity view.
    tabs.nth(0).click()
    main.get_by_text(t("metrics.basis.event", lang)).click()
    settle(page)
    expect(main.get_by_text(t("metrics.funnel.explain_activity", lang))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_an_interviewer_who_types_the_address_is_told_it_is_not_for_their_role(new_page):
    email, lang = ACCOUNTS["interviewer"]
    page = new_page("en-US")
    sign_in(page, email, browser_language="en")
    page.goto("/metrics")
    expect(page.locator("h1").first).to_have_text(t("noaccess.role_title", lang))
    expect(_main(page).get_by_test_id("stVegaLiteChart")).to_have_count(0)
