"""A screen asked for by its address (a bookmark, a link a colleague sent) by someone whose roles do not open it:
our own message in their language, "not available to your role — ask an admin", and nothing of the screen —
instead of Streamlit's English "Page not found" and the landing page."""

from __future__ import annotations

import pytest

from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import all_text, assert_no_exception, nav_pages, tr


def _by_address(open_app, role: str, page: str, language: str):
    """The app's first run at `page`'s address, as a browser opening that URL: before any run, AppTest finds the
    page by its file name, which is the address the page has in st.navigation (its url_path)."""
    at = open_app(demo_user(ROLE_EMAILS[role], language))
    return at.switch_page(page).run()


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize(
    ("role", "page"),
    [
        ("recruiter", "pages/onboard_settings.py"),
        ("recruiter", "pages/users.py"),
        ("hiring_manager", "pages/onboard_settings.py"),
        ("interviewer", "pages/onboard.py"),
        ("interviewer", "pages/candidates.py"),
    ],
)
def test_a_screen_the_role_may_not_open_says_so_in_the_readers_language(demo_db, open_app, role, page, language):
    at = _by_address(open_app, role, page, language)
    assert_no_exception(at)
    assert [t.value for t in at.title] == [tr("noaccess.role_title", language)]
    assert tr("noaccess.role_body", language) in [i.value for i in at.info]
    assert page not in nav_pages(at)  # not opened, and not in the menu either
    assert not at.dataframe and not at.tabs and not at.text_input, all_text(at)  # nothing of the screen


def test_the_same_address_opens_the_screen_for_a_role_that_may(demo_db, open_app):
    at = _by_address(open_app, "admin", "pages/onboard_settings.py", "en")
    assert_no_exception(at)
    assert [t.value for t in at.title] == [tr("nav.onboard_settings", "en")]
    assert tr("noaccess.role_title", "en") not in all_text(at)


def test_the_pages_a_role_may_not_open_stay_out_of_its_menu(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    assert_no_exception(at)
    assert "pages/onboard_settings.py" not in nav_pages(at) and "pages/users.py" not in nav_pages(at)
    assert "pages/candidates.py" in nav_pages(at)
