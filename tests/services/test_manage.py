"""The command line: seed-demo, create-user and backup against a throw-away database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

import manage
import services.config
import services.db
from models.candidate import Application, Candidate, StageChange
from models.common import Stage
from models.job import Job
from models.user import User
from services import auth, candidates

DEMO_ACCOUNTS = {"admin@example.com", "recruiter@example.com", "manager@example.com", "interviewer@example.com"}


@pytest.fixture
def database_url(blank_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """manage.py pointed at a blank database through FOLLOWUP_DATABASE_URL."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", blank_database_url)
    services.config.get_settings.cache_clear()
    return blank_database_url


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from tests.services.conftest import forget_engine

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    services.config.get_settings.cache_clear()
    yield url
    forget_engine(url)


def open_session(url: str) -> Session:
    return Session(services.db.get_engine(url), expire_on_commit=False)


def test_seed_demo_creates_the_demo_accounts_and_applications_in_every_stage(database_url, capsys) -> None:
    assert manage.main(["seed-demo", "--candidates", "50"]) == 0
    assert "seeded" in capsys.readouterr().out
    with open_session(database_url) as session:
        emails = set(session.exec(select(User.email)))
        assert emails >= DEMO_ACCOUNTS
        assert session.exec(select(func.count()).select_from(Candidate)).one() == 50
        stages = set(session.exec(select(Application.stage).distinct()))
        assert stages == {s.value for s in Stage}
        assert session.exec(select(func.count()).select_from(Job).where(Job.status == "closed")).one() == 1
        # Every application's history starts at interviewing and ends where the application stands.
        for app in session.exec(select(Application)):
            history = session.exec(select(StageChange).where(StageChange.application_id == app.id)
                                   .order_by(StageChange.at, StageChange.id)).all()
            assert history[0].to_stage == "interviewing" and history[-1].to_stage == app.stage


def test_the_demo_accounts_sign_in_with_the_demo_password(database_url) -> None:
    assert manage.main(["seed-demo", "--candidates", "5", "--password", "Demo-pass-2026"]) == 0
    with open_session(database_url) as session:
        for email in DEMO_ACCOUNTS:
            assert auth.authenticate(session=session, email=email, password="Demo-pass-2026").email == email


def test_new_candidates_can_be_added_after_seeding(database_url) -> None:
    assert manage.main(["seed-demo", "--candidates", "20"]) == 0
    with open_session(database_url) as session:
        admin = session.exec(select(User).where(User.email == "admin@example.com")).one()
        job = session.exec(select(Job).where(Job.status == "open")).first()
        cand = candidates.create_candidate(session=session, actor=admin, job_id=job.id,
                                           candidate_in={"name": "新人", "email": "new.person@example.com"})
        assert cand.id == 21
        assert session.exec(select(func.count()).select_from(Candidate)).one() == 21


def test_a_second_seed_demo_is_refused(database_url, capsys) -> None:
    assert manage.main(["seed-demo", "--candidates", "5"]) == 0
    assert manage.main(["seed-demo", "--candidates", "5"]) == 2
    assert "refused" in capsys.readouterr().err
    with open_session(database_url) as session:
        assert session.exec(select(func.count()).select_from(Candidate)).one() == 5


def test_create_user_makes_an_account_that_signs_in(database_url, capsys) -> None:
    code = manage.main(["create-user", "--email", "Boss@Example.com", "--name", "王芳", "--roles", "admin,recruiter",
                        "--password", "Boss-pass-2026"])
    assert code == 0
    assert "created user" in capsys.readouterr().out
    with open_session(database_url) as session:
        user = auth.authenticate(session=session, email="boss@example.com", password="Boss-pass-2026")
        assert (user.name, user.roles) == ("王芳", "admin,recruiter")
        assert user.password_hash.startswith("$argon2id$")
        assert auth.needs_first_admin(session=session) is False


@pytest.mark.parametrize(
    "argv",
    [
        ["--email", "x@example.com", "--name", "X", "--password", "short"],
        ["--email", "x@example.com", "--name", "X", "--password", "aaaaaaaaaaaaaa"],
        ["--email", "not-an-email", "--name", "X", "--password", "Good-pass-2026"],
        ["--email", "x@example.com", "--name", "X", "--roles", "boss", "--password", "Good-pass-2026"],
    ],
)
def test_create_user_with_bad_input_exits_with_2_and_creates_nobody(sqlite_url, capsys, argv) -> None:
    assert manage.main(["create-user", *argv]) == 2
    assert "refused" in capsys.readouterr().err
    with open_session(sqlite_url) as session:
        assert session.exec(select(User)).all() == []


def test_create_user_refuses_an_existing_email(sqlite_url) -> None:
    argv = ["create-user", "--email", "x@example.com", "--name", "X", "--password", "Good-pass-2026"]
    assert manage.main(argv) == 0
    assert manage.main(argv) == 2


def test_backup_writes_a_readable_copy(sqlite_url, tmp_path, capsys) -> None:
    assert manage.main(["seed-demo", "--candidates", "10"]) == 0
    target = tmp_path / "backups" / "copy.db"
    assert manage.main(["backup", "--to", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM candidate").fetchone() == (10,)
        assert copy.execute("SELECT count(*) FROM user WHERE email = 'admin@example.com'").fetchone() == (1,)


def test_backup_without_a_database_file_exits_with_2(sqlite_url, tmp_path) -> None:
    assert manage.main(["backup", "--to", str(tmp_path / "copy.db")]) == 2
    assert not (tmp_path / "copy.db").exists()


def test_backup_of_postgresql_points_to_pg_dump(monkeypatch, capsys) -> None:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", "postgresql+psycopg://app@db.invalid/followup")
    services.config.get_settings.cache_clear()
    assert manage.main(["backup"]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_migrate_brings_a_blank_database_up_to_date(database_url, capsys) -> None:
    assert manage.main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    with open_session(database_url) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 0
