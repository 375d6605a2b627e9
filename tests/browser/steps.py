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


ROW_HEIGHT = 35  # st.dataframe's header and row height, in CSS pixels


def click_cell(page: Page, table: Locator, row: int = 0, x_fraction: float = 0.5) -> bool:
    """Click a cell of `row` (by default in the middle of the table, far from any checkbox), as a person does;
    False when the table has no such row. The grid is a canvas: the click lands at the row's height."""
    canvas = table.get_by_test_id("data-grid-canvas")
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box, "the table is not drawn"
    # The grid keeps an accessible copy of the cells it shows (td data-testid="glide-cell-<column>-<row>").
    cells = table.locator(f"td[data-testid^='glide-cell-'][data-testid$='-{row}']")
    try:
        expect(cells.first).to_be_attached(timeout=1_500)
    except AssertionError:
        return False
    y = ROW_HEIGHT * (row + 1) + ROW_HEIGHT / 2
    page.mouse.click(box["x"] + box["width"] * x_fraction, box["y"] + y)
    return True
