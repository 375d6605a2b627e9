"""Shared fixtures: a fresh database per test on SQLite and (when configured) PostgreSQL, a fake clock, factories.

PostgreSQL runs when FOLLOWUP_TEST_DATABASE_URL is set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test);
without it those tests are skipped with that reason. CI always sets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import models  # noqa: F401 - registers the tables
import services.registry  # noqa: F401 - every screen's reminder rules and My tasks providers
from models.common import clock
from services.platform.db import make_engine
from tests import factories

PG_URL = os.environ.get("FOLLOWUP_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """One PostgreSQL engine for the run, on a private schema that is dropped at the end."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set FOLLOWUP_TEST_DATABASE_URL to run these tests on it")
    engine = make_engine(PG_URL)
    schema = f"t_{os.getpid()}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    engine = make_engine(PG_URL)
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema}"')
        dbapi_conn.commit()

    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()
    with make_engine(PG_URL).begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A fresh, empty database for one test."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        SQLModel.metadata.create_all(eng)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("pg_engine")
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield eng


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def frozen_clock() -> Iterator[type]:
    """The app's clock, frozen at 2026-03-02 09:00 UTC; move it with `frozen_clock.set(datetime)`."""

    class Handle:
        @staticmethod
        def set(at: datetime) -> None:
            clock.freeze(at if at.tzinfo else at.replace(tzinfo=UTC))

    Handle.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    yield Handle
    clock.freeze(None)


@pytest.fixture
def make(session: Session) -> factories.Factory:
    """Factories bound to this test's session: make.user(...), make.job(...), make.candidate(...)."""
    return factories.Factory(session)


# One Playwright and one Chromium for the run, shared by the browser tests and the deploy tests (Playwright's sync
# API allows one instance per thread).
@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; a missing one skips these tests, or fails them when the browser is required."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (Debian package `chromium`); browser tests need it"
        if os.environ.get("FOLLOWUP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"FOLLOWUP_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the Python package `playwright` is missing: pip install -r requirements-dev.txt", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield instance
        instance.close()
