"""The mail worker against a real SMTP server that fails in the ways real ones do: down, 4xx, 5xx, refused
recipients, a dropped connection, an expired lease, a worker killed mid-batch, and two workers at once."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import services.platform.config
from models.mail import MailStatus, OutboxMessage
from services.mail.mailer import send_due
from services.mail.outbox import queue_mail
from services.platform.config import ROOT, Settings
from services.platform.db import get_engine, migrate
from tests.services.conftest import forget_engine
from tests.services.mail_server import SmtpServer, configure_mail, mail_env, running_server

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def settings(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return configure_mail(monkeypatch, smtp.port, mail_retry_seconds=30, mail_max_attempts=4)


def queue(engine: Engine, count: int, *, prefix: str = "m", **kw: object) -> list[OutboxMessage]:
    with Session(engine, expire_on_commit=False) as s:
        messages = [
            queue_mail(
                session=s,
                to=kw.get("to", f"person{n}@example.com"),
                cc=kw.get("cc"),
                subject=f"面试结果通知 #{n}",
                html=f"<p>第 {n} 封</p>",
                text=f"第 {n} 封\n",
                key=f"{prefix}:{n}",
            )
            for n in range(count)
        ]
        s.commit()
    return messages


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def deliver(engine: Engine, settings: Settings, **kw: object) -> int:
    sent = 0
    while (batch := send_due(engine=engine, settings=settings, **kw)).claimed:
        sent += batch.sent
    return sent


def test_while_the_server_is_down_no_message_is_lost_and_all_go_out_exactly_once_when_it_is_back(
    engine, frozen_clock, monkeypatch
) -> None:
    server = SmtpServer()  # its port is free: nothing listens there yet
    settings = configure_mail(monkeypatch, server.port, mail_retry_seconds=30, mail_batch_size=20)
    messages = queue(engine, 50)

    while (batch := send_due(engine=engine, settings=settings)).claimed:
        assert (batch.sent, batch.retrying) == (0, batch.claimed)

    rows = outbox(engine)
    assert len(rows) == 50
    for row in rows:
        assert (row.status, row.attempts, row.lease_until) == (MailStatus.queued, 1, None)
        assert row.next_attempt_at == T0 + timedelta(seconds=30)
        assert "Connection refused" in row.last_error and f"127.0.0.1:{server.port}" in row.last_error

    server.start()
    try:
        assert send_due(engine=engine, settings=settings).claimed == 0  # not due before the back-off is over
        frozen_clock.set(T0 + timedelta(seconds=30))
        assert deliver(engine, settings) == 50
    finally:
        server.stop()

    assert server.message_ids() == {m.message_id: 1 for m in messages}
    assert {(r.status, r.attempts, r.last_error) for r in outbox(engine)} == {(MailStatus.sent, 2, "")}


def test_a_5xx_reply_fails_the_message_at_once_with_the_reason_and_it_is_not_retried(
    engine, settings, smtp, frozen_clock
) -> None:
    smtp.handler.data_reply = "554 5.7.1 message rejected as spam"
    queue(engine, 1)

    result = send_due(engine=engine, settings=settings)

    assert (result.sent, result.retrying, result.failed) == (0, 0, 1)
    [row] = outbox(engine)
    assert (row.status, row.attempts) == (MailStatus.failed, 1)
    assert "554" in row.last_error and "message rejected as spam" in row.last_error
    smtp.handler.data_reply = "250 OK"
    frozen_clock.set(T0 + timedelta(days=1))
    assert send_due(engine=engine, settings=settings).claimed == 0
    assert smtp.received == []


def test_a_message_whose_every_recipient_is_refused_fails_at_once(engine, settings, smtp) -> None:
    smtp.handler.refused = {"gone@example.com", "left@example.com"}
    queue(engine, 1, to="gone@example.com", cc="left@example.com")

    assert send_due(engine=engine, settings=settings).failed == 1

    [row] = outbox(engine)
    assert (row.status, row.attempts) == (MailStatus.failed, 1)
    assert "every recipient refused" in row.last_error
    assert "gone@example.com: 550" in row.last_error and "left@example.com: 550" in row.last_error
    assert smtp.received == []


def test_a_message_whose_to_recipient_is_refused_fails_with_the_reason_though_the_cc_got_it(
    engine, settings, smtp
) -> None:
    smtp.handler.refused = {"gone@example.com"}
    [message] = queue(engine, 1, to="gone@example.com", cc="boss@example.com")

    result = send_due(engine=engine, settings=settings)

    assert (result.sent, result.failed) == (0, 1)
    [row] = outbox(engine)
    assert row.status == MailStatus.failed and row.sent_at is None
    assert "gone@example.com: 550" in row.last_error and "To" in row.last_error
    assert "boss@example.com" in row.last_error  # who got the copy anyway
    assert [(r.message_id, r.rcpt_tos) for r in smtp.received] == [(message.message_id, ["boss@example.com"])]
    assert send_due(engine=engine, settings=settings).claimed == 0  # not retried: the copy would go twice


def test_one_of_two_to_recipients_refused_is_a_failure_naming_it(engine, settings, smtp) -> None:
    smtp.handler.refused = {"gone@example.com"}
    [message] = queue(engine, 1, to="gone@example.com, here@example.com")

    assert send_due(engine=engine, settings=settings).failed == 1

    assert [(r.message_id, r.rcpt_tos) for r in smtp.received] == [(message.message_id, ["here@example.com"])]
    [row] = outbox(engine)
    assert row.status == MailStatus.failed
    assert "gone@example.com: 550" in row.last_error and "here@example.com" in row.last_error


def test_a_refused_cc_alone_leaves_the_message_sent_with_a_note(engine, settings, smtp) -> None:
    smtp.handler.refused = {"left@example.com"}
    [message] = queue(engine, 1, to="Candidate@Example.com", cc="left@example.com")

    assert send_due(engine=engine, settings=settings).sent == 1

    [row] = outbox(engine)
    assert row.status == MailStatus.sent
    assert "left@example.com: 550" in row.last_error and "Cc" in row.last_error
    assert [r.rcpt_tos for r in smtp.received] == [["candidate@example.com"]]


def test_a_4xx_reply_is_retried_with_the_back_off_doubling_until_the_worker_gives_up(
    engine, settings, smtp, frozen_clock
) -> None:
    smtp.handler.data_reply = "451 4.3.0 mailbox busy, try again later"
    queue(engine, 1)
    now, delays = T0, []

    for attempt in (1, 2, 3):
        assert send_due(engine=engine, settings=settings).retrying == 1
        [row] = outbox(engine)
        assert (row.status, row.attempts) == (MailStatus.queued, attempt)
        assert row.last_error == "451 4.3.0 mailbox busy, try again later"
        delays.append((row.next_attempt_at - now).total_seconds())
        frozen_clock.set(row.next_attempt_at - timedelta(seconds=1))
        assert send_due(engine=engine, settings=settings).claimed == 0  # not a second early
        now = row.next_attempt_at
        frozen_clock.set(now)
    assert delays == [30, 60, 120]

    assert send_due(engine=engine, settings=settings).failed == 1  # the fourth of mail_max_attempts=4
    [row] = outbox(engine)
    assert (row.status, row.attempts) == (MailStatus.failed, 4)
    assert row.last_error == "gave up after 4 attempts: 451 4.3.0 mailbox busy, try again later"
    frozen_clock.set(now + timedelta(days=1))
    assert send_due(engine=engine, settings=settings).claimed == 0
    assert smtp.received == []


def test_a_temporary_refusal_then_success_sends_the_message_once(engine, settings, smtp, frozen_clock) -> None:
    smtp.handler.next_replies = ["452 4.3.1 insufficient system storage"]
    [message] = queue(engine, 1)

    assert send_due(engine=engine, settings=settings).retrying == 1
    frozen_clock.set(T0 + timedelta(seconds=30))
    assert send_due(engine=engine, settings=settings).sent == 1

    [row] = outbox(engine)
    assert (row.status, row.attempts, row.last_error, row.sent_at) == (
        MailStatus.sent,
        2,
        "",
        T0 + timedelta(seconds=30),
    )
    assert smtp.message_ids() == {message.message_id: 1}


def test_a_connection_closed_mid_batch_retries_the_refused_message_and_hands_the_rest_back(
    engine, settings, smtp, frozen_clock
) -> None:
    smtp.handler.next_replies = ["250 OK", "250 OK", "421 4.4.2 closing connection"]
    messages = queue(engine, 6)

    first = send_due(engine=engine, settings=settings)

    assert (first.claimed, first.sent) == (6, 2)
    rows = outbox(engine)
    assert [r.status for r in rows[:3]] == [MailStatus.sent, MailStatus.sent, MailStatus.queued]
    assert rows[2].attempts == 1 and "421" in rows[2].last_error
    # Nothing is left claimed: what was not tried is due again at once, not after a lease.
    assert all(r.status in (MailStatus.sent, MailStatus.queued) and r.lease_until is None for r in rows)
    untried = [r for r in rows if r.attempts == 0]
    assert untried and all(r.next_attempt_at <= T0 for r in untried)

    assert send_due(engine=engine, settings=settings).sent == len(untried)
    frozen_clock.set(T0 + timedelta(seconds=30))
    deliver(engine, settings)
    assert smtp.message_ids() == {m.message_id: 1 for m in messages}
    assert {r.status for r in outbox(engine)} == {MailStatus.sent}


def test_a_message_whose_lease_has_expired_is_reclaimed_and_sent(engine, settings, smtp, frozen_clock) -> None:
    abandoned, leased = queue(engine, 2)
    with Session(engine) as s:
        for message, lease in ((abandoned, T0 - timedelta(seconds=1)), (leased, T0 + timedelta(seconds=60))):
            s.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == message.id)
                .values(status=MailStatus.sending, claimed_by="a-worker-that-died", lease_until=lease)
            )
        s.commit()

    assert send_due(engine=engine, settings=settings).sent == 1
    assert smtp.message_ids() == {abandoned.message_id: 1}
    assert [r.status for r in outbox(engine)] == [MailStatus.sent, MailStatus.sending]

    frozen_clock.set(T0 + timedelta(seconds=61))
    assert send_due(engine=engine, settings=settings).sent == 1
    assert smtp.message_ids() == {abandoned.message_id: 1, leased.message_id: 1}


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_the_message_in_flight(
    tmp_path, monkeypatch
) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    with running_server() as server:
        server.handler.delay = 0.2  # a slow relay, so the kill lands inside a batch
        variables = mail_env(
            server.port,
            database_url=url,
            mail_lease_seconds=1,
            mail_batch_size=10,
            worker_interval_seconds=0.2,
            secret_key="a-real-secret-for-the-worker-test-0123456789",
        )
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        services.platform.config.get_settings.cache_clear()
        migrate(url)
        engine = get_engine(url)
        try:
            messages = queue(engine, 30)
            with (tmp_path / "worker.log").open("w") as log:
                worker = subprocess.Popen(
                    [sys.executable, "manage.py", "worker"],
                    cwd=ROOT,
                    env=dict(os.environ),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    deadline = time.monotonic() + 60
                    while len(server.received) < 13 and time.monotonic() < deadline and worker.poll() is None:
                        time.sleep(0.02)
                finally:
                    worker.kill()  # SIGKILL: no clean-up of any kind
                    worker.wait()
            arrived = len(server.received)
            assert arrived >= 13, (tmp_path / "worker.log").read_text()
            rows = outbox(engine)
            assert 10 <= sum(r.status == MailStatus.sent for r in rows) <= arrived
            assert any(r.status == MailStatus.sending for r in rows)  # it died holding a claim

            time.sleep(1.5)  # past the dead worker's lease
            done = subprocess.run(
                [sys.executable, "manage.py", "worker", "--once"],
                cwd=ROOT,
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            assert {r.status for r in outbox(engine)} == {MailStatus.sent}
        finally:
            forget_engine(url)
        counts = server.message_ids()

    assert set(counts) == {m.message_id for m in messages}
    assert max(counts.values()) <= 2
    assert sum(counts.values()) - len(messages) <= 1


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_workers_on_postgresql_send_each_of_1000_messages_exactly_once(engine, settings, smtp) -> None:
    with Session(engine, expire_on_commit=False) as s:
        for n in range(1000):
            queue_mail(
                session=s,
                to=f"p{n}@example.com",
                subject=f"通知 {n}",
                html="<p>您好</p>",
                text="您好\n",
                key=f"bulk:{n}",
            )
        s.commit()
        message_ids = set(s.exec(select(OutboxMessage.message_id)))
    start = threading.Barrier(2)

    def work() -> int:
        start.wait()
        return deliver(engine, settings, limit=50)

    with ThreadPoolExecutor(2) as pool:
        sent = [f.result() for f in [pool.submit(work), pool.submit(work)]]

    assert sum(sent) == 1000 and min(sent) > 0
    counts = smtp.message_ids()
    assert set(counts) == message_ids and set(counts.values()) == {1}
    assert {r.status for r in outbox(engine)} == {MailStatus.sent}


def test_a_message_that_cannot_be_built_fails_with_the_reason_and_does_not_hold_up_the_others(
    engine, smtp, settings, monkeypatch
) -> None:
    import services.mail.mailer as mailer

    queue(engine, 3)
    real = mailer.build_mime

    def broken_second(client, message, attachments):
        if message.idempotency_key == "m:1":
            raise UnicodeError("cannot encode")
        return real(client, message, attachments)

    monkeypatch.setattr(mailer, "build_mime", broken_second)
    assert deliver(engine, settings) == 2
    by_key = {m.idempotency_key: m for m in outbox(engine)}
    assert by_key["m:1"].status == MailStatus.failed
    assert "could not be built" in by_key["m:1"].last_error
    assert {by_key["m:0"].status, by_key["m:2"].status} == {MailStatus.sent}


def test_a_slow_batch_renews_its_lease_so_no_other_worker_takes_its_messages(engine, smtp, monkeypatch) -> None:
    import services.mail.mailer as mailer

    settings = configure_mail(monkeypatch, smtp.port, mail_lease_seconds=3)
    queue(engine, 3)
    leases: list[object] = []
    real_send = mailer._send_one
    ticks = itertools.count(0.0, 2.0)  # two seconds pass per look at the clock: past lease/3 every time
    monkeypatch.setattr(mailer, "_monotonic", lambda: next(ticks))

    def watching(client, recipients, mime, **kw):
        with Session(engine) as s:
            leases.append(s.exec(select(OutboxMessage.lease_until).where(OutboxMessage.idempotency_key == "m:2")).one())
        return real_send(client, recipients, mime, **kw)

    monkeypatch.setattr(mailer, "_send_one", watching)
    assert deliver(engine, settings) == 3
    assert leases[0] is not None and leases[-1] is not None and leases[-1] > leases[0]
