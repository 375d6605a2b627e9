"""Fixtures for the service tests: isolated settings, and blank databases for migrations and manage.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import services.platform.config
import services.platform.db
from services.platform.db import make_engine
from tests.conftest import BACKENDS, PG_URL


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings read from nothing but the test: no FOLLOWUP_* variables, no secrets.toml, data/ under tmp_path.

    Without this, a test would write the generated secret key into the real data/ directory and could pick
    up a developer's .streamlit/secrets.toml.
    """
    for name in list(os.environ):
        if name.startswith("FOLLOWUP_") and name != "FOLLOWUP_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setattr(services.platform.config, "DATA_DIR", data_dir)
    monkeypatch.setenv("FOLLOWUP_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    services.platform.config.get_settings.cache_clear()
    yield data_dir
    services.platform.config.get_settings.cache_clear()


def forget_engine(url: str) -> None:
    """Drop the process-wide engine and the 'migrated' mark that services.platform.db keeps for `url`."""
    engine = services.platform.db._engines.pop(url, None)
    if engine is not None:
        engine.dispose()
    services.platform.db._migrated.discard(url)


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'blank.db'}"
        yield url
        forget_engine(url)
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set FOLLOWUP_TEST_DATABASE_URL to run these tests on it")
    name = f"followup_blank_{uuid.uuid4().hex[:12]}"
    base = make_engine(PG_URL)
    admin = base.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        forget_engine(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        base.dispose()
