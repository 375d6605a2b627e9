"""Running apart from the web servers: the worker's heartbeat, its back-off while the database is away (and no mail
lost or sent twice when it is back), and migrations run once when two servers start at once on an old schema."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from models.mail import MailStatus, OutboxMessage
from models.worker import WorkerHeartbeat
from services.mail.outbox import queue_mail
from services.mail.worker import MAX_BACKOFF_SECONDS, Worker, record_heartbeat, worker_name
from services.platform.config import ROOT
from services.platform.db import alembic_config, get_engine, migrate
from tests.services.conftest import forget_engine
from tests.services.mail_server import SmtpServer, configure_mail, running_server
from tests.services.test_database_unavailable import switched_pg  # noqa: F401 - a fixture


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_server() as server:
        yield server


def test_each_pass_records_the_heartbeat_of_its_worker_and_a_restart_updates_the_same_row(
    blank_database_url, smtp, monkeypatch
) -> None:
    monkeypatch.setenv("FOLLOWUP_SERVER_NAME", "app7")
    settings = configure_mail(monkeypatch, smtp.port)
    migrate(blank_database_url)
    engine = get_engine(blank_database_url)
    worker = Worker(engine, settings)
    assert worker.name == worker_name("worker", settings) == "app7/worker"
    for _ in range(3):
        assert worker.pass_once() == settings.worker_interval_seconds
    Worker(engine, settings, kind="embedded").pass_once()
    restarted = Worker(engine, settings)
    restarted.pass_once()
    with Session(engine) as session:
        beat = session.get(WorkerHeartbeat, "app7/worker")
        assert beat.passes == 4 and beat.last_error == "" and beat.started_at == restarted.started_at
        assert session.get(WorkerHeartbeat, "app7/embedded").passes == 1


def test_a_failed_pass_beats_with_its_error(blank_database_url) -> None:
    migrate(blank_database_url)
    engine = get_engine(blank_database_url)
    worker = Worker(engine)
    record_heartbeat(engine=engine, name=worker.name, started_at=worker.started_at, error="OperationalError: gone")
    with Session(engine) as session:
        assert session.get(WorkerHeartbeat, worker.name).last_error == "OperationalError: gone"


def test_while_postgresql_is_away_the_worker_backs_off_and_afterwards_sends_each_message_once(
    switched_pg,  # noqa: F811 - the fixture imported above
    smtp,
    monkeypatch,
) -> None:
    url, switch = switched_pg
    switch.on()
    settings = configure_mail(monkeypatch, smtp.port, worker_interval_seconds=2)
    migrate(url)
    engine = get_engine(url)
    with Session(engine) as session:
        for n in range(12):
            queue_mail(
                session=session, to=f"p{n}@example.com", subject=f"#{n}", html="<p>x</p>", text="x", key=f"outage:{n}"
            )
        session.commit()
    worker = Worker(engine, settings)

    switch.off()
    engine.dispose()
    waits = [worker.pass_once() for _ in range(6)]
    assert waits == [4, 8, 16, 32, MAX_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS]  # doubling, at most a minute
    assert smtp.received == []

    switch.on()
    assert worker.pass_once() == settings.worker_interval_seconds  # back to its pace
    worker.pass_once()
    assert sorted(smtp.message_ids().values()) == [1] * 12
    with Session(engine) as session:
        assert [m.status for m in session.exec(select(OutboxMessage))] == [MailStatus.sent] * 12
        assert session.get(WorkerHeartbeat, worker.name).last_error == ""


# Both processes import everything first and start migrating together (each marks itself ready in the folder
# argv[2] and waits for the other); each
# lingers a second after reading the schema's version, so without the lock both would upgrade from 0008.
MIGRATE_AND_LOG = """
import logging, pathlib, sys, time
from alembic.runtime.migration import MigrationContext
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
original = MigrationContext.get_current_heads
def slow(self):
    heads = original(self)
    time.sleep(1)
    return heads
MigrationContext.get_current_heads = slow
from services.platform.db import migrate
ready = pathlib.Path(sys.argv[2])
(ready / sys.argv[3]).touch()
while len(list(ready.iterdir())) < 2:
    time.sleep(0.01)
migrate(sys.argv[1])
"""


def test_two_servers_started_at_once_on_an_old_schema_run_each_migration_once(blank_database_url, tmp_path) -> None:
    if not blank_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL: several app servers share one database only there (advisory lock)")
    from alembic import command

    engine = get_engine(blank_database_url)
    cfg = alembic_config(blank_database_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")  # the schema of the release before
    forget_engine(blank_database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    (tmp_path / "ready").mkdir()
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AND_LOG, blank_database_url, str(tmp_path / "ready"), str(n)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in starts]
    assert [p.returncode for p in starts] == [0, 0], outputs
    log = "\n".join(outputs)
    from alembic.script import ScriptDirectory

    # Every step from 0008 to the newest, whatever the newest is now.
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    steps = [f"{r.down_revision} -> {r.revision}" for r in script.walk_revisions("0008", head) if r.revision != "0008"]
    assert "0009 -> 0010" in steps and len(steps) >= 2
    for step in steps:
        assert log.count(f"Running upgrade {step}") == 1, log
    with get_engine(blank_database_url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
