"""Steps the Evaluate and Follow-up flows share."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import shot
from tests.browser.flows import settle


def main(page: Page) -> Locator:
    """The page's main area (not the sidebar)."""
    return page.get_by_test_id("stMain")


def shot_when_drawn(page: Page, name: str) -> None:
    """A screenshot once the run is over and every element is drawn: a widget type the browser meets for the
    first time loads its code and shows a grey placeholder (stSkeleton) until then."""
    settle(page)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    shot(page, name)
