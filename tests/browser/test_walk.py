"""The browser walk: every role, in both languages, opens every page of its navigation, every tab and every
state switch on it, clicks the first row of every table and walks what that opens (its tabs, its tables).

It fails on any exception the page shows (Streamlit's exception box, a message with a traceback) and on any
traceback or error the server logged during the walk. Nothing is saved: it clicks tabs, switches and rows,
never a button. The walk collects every problem it meets and reports them all at the end.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from services.platform.i18n import t
from tests.browser.conftest import ARTIFACTS, shot
from tests.browser.flows import ACCOUNTS, click_until, nav_links, settle, sign_in, switch_language
from tests.browser.steps import click_cell, main

# Lines of the server's log that mean something went wrong while a page ran.
LOG_PROBLEM = re.compile(r"Traceback|Uncaught app exception|Uncaught app execution| (ERROR|CRITICAL) ")
HIDDEN_PAGES = ("debrief", "scorecard")
DEPTH = 1  # a row opens a panel or a page with tabs; the tables in those are only looked at, not opened


class Walk:
    def __init__(self, page: Page, label: str) -> None:
        self.page = page
        self.label = label
        self.where: list[str] = []
        self.problems: list[str] = []
        self.steps = 0
        self.followed: set[str] = set()
        self.timings: list[tuple[float, str]] = []
        self._last = time.monotonic()

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        settle(self.page)
        self.steps += 1
        now = time.monotonic()
        self.timings.append((now - self._last, " › ".join(self.where)))
        self._last = now
        shown = self.page.get_by_test_id("stException")
        alerts = self.page.get_by_test_id("stAlert").filter(has_text="Traceback")
        found = [*shown.all_inner_texts(), *alerts.all_inner_texts()]
        if found:
            place = " › ".join(self.where)
            shot(self.page, f"walk-{self.label}-{len(self.problems)}")
            self.problems.append(f"{place}: {found[0][:600]}")

    def watch_runs(self) -> None:
        """Count the app's runs in the page, so that a check after a click waits for the run the click started
        (right after a click the app still says "not running": it has not heard of the click yet)."""
        self.page.evaluate("""() => {
            if (window.__walkRuns !== undefined) return;
            window.__walkRuns = 0;
            const app = document.querySelector('[data-testid="stApp"]');
            new MutationObserver(() => {
                if (app.getAttribute('data-test-script-state') === 'running') window.__walkRuns += 1;
            }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
        }""")

    def runs(self) -> int:
        return self.page.evaluate("() => window.__walkRuns")

    def wait_for_run(self, before: int, ms: int) -> None:
        # A click may start no run (an expander, a tab that is only drawn): then the wait simply ends.
        with contextlib.suppress(PlaywrightTimeout):
            self.page.wait_for_function(f"() => window.__walkRuns > {before}", timeout=ms)

    def click(self, target: Locator, run_ms: int = 2_000) -> None:
        """Click and wait for the run it starts; when something covers the target for a moment (a toast, the
        grid's focus ring), wait for the app and click through."""
        before = self.runs()
        try:
            target.click(timeout=5_000)
        except PlaywrightTimeout:
            settle(self.page)
            target.click(force=True)
        self.wait_for_run(before, run_ms)

    # ------------------------------------------------------------------ the walk
    def visit_page(self, name: str, link_text: str) -> None:
        self.where = [name]
        self.tabs_seen: set[str] = set()
        self.rows_opened = False
        link = (
            self.page.get_by_test_id("stSidebarNav")
            .get_by_role("link")
            .filter(has=self.page.get_by_text(link_text, exact=True))
        )
        click_until(self.page, link, self.page.locator("h1").filter(has_text=link_text).first)
        self.check()
        self.visit_switches()
        if not self.rows_opened:
            self.visit_tables()
        self.visit_tabs(0)
        self.follow_hidden_pages()
        # Expanders are not opened: what they hold has run already (a closed expander is only folded away), so an
        # exception in it is on the page and found by the checks.

    def follow_hidden_pages(self) -> None:
        """The pages outside the navigation (a debrief, a scorecard) are reached through links on others (a
        candidate's applications, My interviews): the first link to each is followed once per walk."""
        tabs = main(self.page).get_by_role("tab")
        if tabs.count() and tabs.first.is_visible():
            self.click(tabs.first)  # the links sit on the first tab (a candidate's applications, my interviews)
            settle(self.page)
        for target in HIDDEN_PAGES:
            link = main(self.page).locator(f"a[href^='{target}?'], a[href*='/{target}?']").first
            if target in self.followed or not link.count() or not link.is_visible():
                continue
            self.followed.add(target)
            self.where.append(f"link to {target}")
            self.click(link)
            self.check()
            self.tabs_seen.clear()
            self.visit_tables()
            self.visit_tabs(0)
            self.where.pop()

    def visit_tabs(self, depth: int) -> None:
        """Each tab not seen yet on this page; the page's own tabs (depth 0) with the rows of their tables."""
        names = [n.strip() for n in main(self.page).get_by_role("tab").all_inner_texts()]
        for name in dict.fromkeys(names):
            tab = main(self.page).get_by_role("tab", name=name, exact=True)
            if name in self.tabs_seen or tab.count() != 1 or not tab.is_visible():
                continue
            self.tabs_seen.add(name)
            self.where.append(f"tab {name}")
            self.click(tab)
            self.check()
            if depth < DEPTH:
                self.visit_tables()
            self.where.pop()

    def visit_switches(self) -> None:
        """Each option of a segmented control (a board's columns, a status filter); the rows of the first one that
        lists any are opened, the others are only looked at."""
        groups = main(self.page).get_by_test_id("stButtonGroup")
        for g in range(groups.count()):
            texts = groups.nth(g).get_by_role("radio").all_inner_texts()
            for i, text in enumerate(texts):
                option = main(self.page).get_by_test_id("stButtonGroup").nth(g).get_by_role("radio").nth(i)
                if not option.is_visible():
                    continue
                self.where.append(f"switch {text.strip()}")
                self.click(option)
                self.check()
                if not self.rows_opened:
                    self.visit_tables()
                self.where.pop()

    def _tables(self) -> Locator:
        return main(self.page).get_by_test_id("stDataFrame")

    def visit_tables(self) -> None:
        """The first row of each table shown, and the tabs of what it opens."""
        count = self._tables().count()
        for i in range(count):
            table = self._tables().nth(i)
            if not table.is_visible():
                continue
            self.where.append(f"table {i + 1} row 1")
            before = self.runs()
            if not click_cell(self.page, table, 0):  # an empty table: nothing to open
                self.where.pop()
                continue
            self.wait_for_run(before, 3_000)
            self.rows_opened = True
            self.check()
            self.visit_tabs(DEPTH)
            self.where.pop()
            if self._tables().count() != count:  # the row opened another view (a candidate's page): done here
                break


def _log_size(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_walk_every_page_tab_and_first_row(new_page, server, role, language):
    email, saved = ACCOUNTS[role]
    log: Path = server["log"]
    start = _log_size(log)
    page = new_page("zh-CN" if language == "zh" else "en-US")
    sign_in(page, email, browser_language=language)
    walk = Walk(page, f"{role}-{language}")
    walk.watch_runs()
    try:
        if saved != language:
            switch_language(page, language)
        for name, text in nav_links(page, language).items():
            walk.visit_page(name, text)
    finally:
        if saved != language:  # leave the account as the demo data has it
            walk.where = ["restoring the language"]
            switch_language(page, saved)
    with log.open("rb") as f:
        f.seek(start)
        logged = f.read().decode("utf-8", "replace")
    slowest = sorted(walk.timings, reverse=True)[:8]
    (ARTIFACTS / f"walk-{role}-{language}.txt").write_text(
        f"{walk.steps} steps\n" + "\n".join(f"{s:6.1f}s {w}" for s, w in slowest), encoding="utf-8"
    )
    bad_lines = [line for line in logged.splitlines() if LOG_PROBLEM.search(line)]
    problems = walk.problems + ([f"server log:\n{logged[-4000:]}"] if bad_lines else [])
    assert walk.steps > len(ACCOUNTS), "the walk saw almost nothing"
    assert not problems, f"{role} in {t('nav.language', language)}: " + "\n\n".join(problems)
