"""The command line: seed-demo, create-user and backup against a throw-away database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

import manage
import services.platform.config
import services.platform.db
from models.candidate import Application, Candidate, StageChange
from models.common import Stage
from models.job import Job
from models.user import User
from services.pipeline import candidates
from services.platform import auth

DEMO_ACCOUNTS = {"admin@example.com", "recruiter@example.com", "manager@example.com", "interviewer@example.com"}


@pytest.fixture
def database_url(blank_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """manage.py pointed at a blank database through FOLLOWUP_DATABASE_URL."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", blank_database_url)
    services.platform.config.get_settings.cache_clear()
    return blank_database_url


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from tests.services.conftest import forget_engine

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    services.platform.config.get_settings.cache_clear()
    yield url
    forget_engine(url)


def open_session(url: str) -> Session:
    return Session(services.platform.db.get_engine(url), expire_on_commit=False)


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
            history = session.exec(
                select(StageChange).where(StageChange.application_id == app.id).order_by(StageChange.at, StageChange.id)
            ).all()
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
        cand = candidates.create_candidate(
            session=session,
            actor=admin,
            job_id=job.id,
            candidate_in={"name": "新人", "email": "new.person@example.com"},
        )
        assert cand.id == 21
        assert session.exec(select(func.count()).select_from(Candidate)).one() == 21


def test_a_second_seed_demo_is_refused(database_url, capsys) -> None:
    assert manage.main(["seed-demo", "--candidates", "5"]) == 0
    assert manage.main(["seed-demo", "--candidates", "5"]) == 2
    assert "refused" in capsys.readouterr().err
    with open_session(database_url) as session:
        assert session.exec(select(func.count()).select_from(Candidate)).one() == 5


def test_create_user_makes_an_account_that_signs_in(database_url, capsys) -> None:
    code = manage.main(
        [
            "create-user",
            "--email",
            "Boss@Example.com",
            "--name",
            "王芳",
            "--roles",
            "admin,recruiter",
            "--password",
            "Boss-pass-2026",
        ]
    )
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
    services.platform.config.get_settings.cache_clear()
    assert manage.main(["backup"]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_migrate_brings_a_blank_database_up_to_date(database_url, capsys) -> None:
    assert manage.main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    with open_session(database_url) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 0


# --- seed-demo beside what exists, mail-test before anyone signed in (issue 8) --------------------------------
def test_seed_demo_adds_the_demo_beside_an_existing_admin(database_url, capsys) -> None:
    assert (
        manage.main(
            [
                "create-user",
                "--email",
                "boss@corp.cn",
                "--name",
                "Boss",
                "--roles",
                "admin,recruiter",
                "--password",
                "Boss-pass-2026",
            ]
        )
        == 0
    )
    assert manage.main(["seed-demo", "--candidates", "20"]) == 0
    out = capsys.readouterr().out
    assert "seeded" in out
    with open_session(database_url) as session:
        assert set(session.exec(select(User.email))) >= DEMO_ACCOUNTS | {"boss@corp.cn"}
        assert session.exec(select(func.count()).select_from(Candidate)).one() == 20
        assert auth.authenticate(session=session, email="boss@corp.cn", password="Boss-pass-2026").name == "Boss"
        assert auth.authenticate(session=session, email="recruiter@example.com", password="demo-password-1")


@pytest.mark.parametrize("seed", [1, 2, 3, 7, 11])
def test_seed_demo_never_puts_one_person_in_the_talent_pool_twice(sqlite_url, seed) -> None:
    # A candidate with two applications that both ended in the talent pool broke the unique pool entry.
    assert manage.main(["seed-demo", "--candidates", "60", "--seed", str(seed)]) == 0


def test_seed_demo_keeps_an_existing_demo_account_and_its_password(database_url, capsys) -> None:
    assert (
        manage.main(
            [
                "create-user",
                "--email",
                "admin@example.com",
                "--name",
                "Real Admin",
                "--roles",
                "admin",
                "--password",
                "Real-admin-2026",
            ]
        )
        == 0
    )
    assert manage.main(["seed-demo", "--candidates", "10"]) == 0
    out = capsys.readouterr().out
    assert "admin@example.com" in out and "kept" in out
    with open_session(database_url) as session:
        kept = auth.authenticate(session=session, email="admin@example.com", password="Real-admin-2026")
        assert (kept.name, kept.roles) == ("Real Admin", "admin")


def test_seed_demo_over_existing_candidates_is_refused_in_one_line(sqlite_url, capsys) -> None:
    assert manage.main(["seed-demo", "--candidates", "5"]) == 0
    capsys.readouterr()
    assert manage.main(["seed-demo", "--candidates", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("refused:") and len(err.strip().splitlines()) == 1


def test_mail_test_works_before_any_admin_exists_and_reports_delivery(sqlite_url, monkeypatch, capsys) -> None:
    from tests.services.mail_server import configure_mail, running_server

    with running_server() as smtp:
        configure_mail(monkeypatch, smtp.port)
        assert manage.main(["mail-test", "--to", "ops@example.com"]) == 0
        out = capsys.readouterr().out
        assert "sent" in out and "ops@example.com" in out
        assert [r.rcpt_tos for r in smtp.received] == [["ops@example.com"]]


def test_mail_test_says_why_when_the_mail_server_refuses_or_is_down(sqlite_url, monkeypatch, capsys) -> None:
    from tests.services.mail_server import configure_mail, free_port, running_server

    with running_server() as smtp:
        configure_mail(monkeypatch, smtp.port)
        smtp.handler.refused = {"ops@example.com"}
        assert manage.main(["mail-test", "--to", "ops@example.com"]) == 1
        err = capsys.readouterr().err
        assert "550" in err and "ops@example.com" in err and "Traceback" not in err
    configure_mail(monkeypatch, free_port())  # nothing listens there
    assert manage.main(["mail-test", "--to", "ops@example.com"]) == 1
    err = capsys.readouterr().err
    assert "cannot connect" in err


def test_mail_test_without_a_mail_server_or_with_a_bad_address(sqlite_url, capsys) -> None:
    assert manage.main(["mail-test", "--to", "ops@example.com"]) == 0
    assert "held" in capsys.readouterr().out
    assert manage.main(["mail-test", "--to", "not an address"]) == 2
    assert capsys.readouterr().err.startswith("refused:")
