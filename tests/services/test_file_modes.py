"""Secrets and data on disk are private (0600) from the moment they exist, not chmod-ed after being readable."""

from __future__ import annotations

import os
import pathlib
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import manage
import services.platform.config
from services.platform.db import make_engine
from tests.services.conftest import forget_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask_no_chmod(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A permissive umask, and chmod that does nothing: only a file created private ends up private."""
    old = os.umask(0)
    monkeypatch.setattr(pathlib.Path, "chmod", lambda self, mode, **kw: None)
    monkeypatch.setattr(os, "chmod", lambda path, mode, **kw: None)
    try:
        yield
    finally:
        os.umask(old)


def test_the_generated_secret_key_is_created_private(isolated_settings, open_umask_no_chmod) -> None:
    key = services.platform.config.get_settings().secret_key
    key_file = isolated_settings / "secret_key"
    assert key_file.read_text().strip() == key
    assert mode(key_file) == 0o600
    assert mode(isolated_settings) == 0o700


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path, open_umask_no_chmod) -> None:
    path = tmp_path / "data" / "followup.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        files = sorted(p.name for p in path.parent.iterdir())
        assert {"followup.db", "followup.db-wal", "followup.db-shm"} <= set(files)
        assert {name: mode(path.parent / name) for name in files} == {name: 0o600 for name in files}
    engine.dispose()


def test_an_existing_database_file_keeps_the_mode_its_operator_gave_it(tmp_path) -> None:
    path = tmp_path / "shared.db"
    path.touch()
    path.chmod(0o640)
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert mode(path) == 0o640


def test_a_backup_is_written_private(tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    services.platform.config.get_settings.cache_clear()
    try:
        assert manage.main(["migrate"]) == 0
        old = os.umask(0)
        try:
            target = tmp_path / "backups" / "copy.db"
            assert manage.main(["backup", "--to", str(target)]) == 0
            default = manage.main(["backup"])
        finally:
            os.umask(old)
        assert default == 0
        assert mode(target) == 0o600
        [written] = [
            line.rsplit(" ", 1)[-1]
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("backup written to") and "copy.db" not in line
        ]
        assert mode(Path(written)) == 0o600
        assert mode(Path(written).parent) == 0o700
    finally:
        forget_engine(url)
