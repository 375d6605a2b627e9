"""Page tests: the real app under AppTest, on a fresh SQLite database per test.

The app reads its database URL from the environment, so each test points FOLLOWUP_DATABASE_URL at its own
file, clears the cached settings and forgets the engines of earlier tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlmodel import select
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from models.user import User
from services.platform import config, db
from services.platform.demo import seed_demo
from ui.common import LANG_KEY, USER_KEY

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DEMO_PASSWORD = "demo-password-1"
# The demo account that plays each role.
ROLE_EMAILS = {
    "admin": "admin@example.com",
    "recruiter": "recruiter@example.com",
    "hiring_manager": "manager@example.com",
    "interviewer": "interviewer@example.com",
}


def _forget_engines() -> None:
    with db._lock:
        for engine in db._engines.values():
            engine.dispose()
        db._engines.clear()
        db._migrated.clear()


@pytest.fixture(autouse=True)
def navigation_like_a_running_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ignore the pages/ folder's automatic pages, as a running server does once st.navigation was called.

    A server stops using the pages/ directory for good at the first st.navigation call. AppTest resets that
    before every run, so a rerun asking for a page by its hash would run the page file without the frame
    (sign-in gate, sidebar, navigation) — something a browser session never sees.
    """
    original = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated and empty SQLite database that the app under test uses; yields its URL."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    for name in [n for n in os.environ if n.startswith("FOLLOWUP_")]:  # nothing from the developer's settings
        monkeypatch.delenv(name)
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", "page-tests-secret-key-0123456789")  # data/secret_key stays untouched
    monkeypatch.setenv("FOLLOWUP_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("FOLLOWUP_LANGUAGE", "zh")
    config.get_settings.cache_clear()
    _forget_engines()
    db.migrate()
    yield url
    _forget_engines()
    config.get_settings.cache_clear()


@pytest.fixture
def demo_db(app_db: str) -> str:
    """The database filled with the demo staff, jobs and 30 candidates."""
    with db.session_scope() as session:
        seed_demo(session=session, candidates=30, password=DEMO_PASSWORD)
    return app_db


def demo_user(email: str, language: str | None = None) -> User:
    """A demo account, with its interface language changed first when `language` is given."""
    with db.session_scope() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        if language and user.language != language:
            user.language = language
            session.add(user)
            session.commit()
            session.refresh(user)
        return user


@pytest.fixture
def open_app() -> Callable[..., AppTest]:
    """Start the app (not yet run) as `user`, or signed out when user is None."""

    def _open(user: User | None = None) -> AppTest:
        if user is not None:
            _default_language(user.language)
        at = AppTest.from_file(APP, default_timeout=30)
        if user is not None:
            signed_in_as(at, user)
        return at

    return _open


def signed_in_as(at: AppTest, user: User) -> AppTest:
    """Put `user` into the tab as a sign-in does: the user and the tab's own sign-in, which the frame checks
    against the database on every run (AppTest has no cookies)."""
    from services.platform import auth
    from ui.frame import TAB_KEY

    with db.session_scope() as session:
        at.session_state[TAB_KEY] = auth.open_tab_session(session=session, user=user)
    at.session_state[USER_KEY] = user
    return at


def _default_language(language: str) -> None:
    """Let option labels formatted outside a run come out in `language`.

    Between runs AppTest formats selectbox options again, outside any session; there st.session_state is
    Streamlit's process-wide stand-in, where ui.common.lang() finds (or keeps) a language of its own.
    """
    st.session_state[LANG_KEY] = language


def open_page_alone(page: str, user: User) -> AppTest:
    """Run one page file on its own, without the frame's navigation: what a page does if reached anyway."""
    _default_language(user.language)
    at = AppTest.from_file(str(ROOT / page), default_timeout=30)
    at.session_state[USER_KEY] = user
    return at
