"""The database down or read-only: the server starts anyway, /healthz says 503, pages say so in both languages
without a traceback, and everything carries on (migrated) once the database is back."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest

import services.platform.config
from server.lifespan import lifespan
from services.platform import db
from services.platform.config import ROOT
from services.platform.i18n import t

# Autouse: a rerun runs the frame (sign-in gate, navigation), not a page file alone, as in a running server.
from tests import asyncrun
from tests.pages.conftest import navigation_like_a_running_server  # noqa: F401
from tests.services.conftest import forget_engine
from tests.services.mail_server import free_port
from tests.services.test_routes import call

APP = str(ROOT / "app.py")
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/followup"


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", "outage-tests-secret-key-0123456789")
    monkeypatch.setenv("FOLLOWUP_EMBEDDED_WORKER", "0")
    services.platform.config.get_settings.cache_clear()


def page_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("title", "warning", "error", "info") for e in getattr(at, kind))


def assert_outage_page(at: AppTest, key: str = "dbdown.unavailable") -> None:
    assert not at.exception, [e.value for e in at.exception]
    text = page_text(at)
    assert t(key, "zh") in text and t(key, "en") in text
    assert t("dbdown.title", "zh") in text and t("dbdown.title", "en") in text


class TcpSwitch:
    """A TCP forwarder to PostgreSQL that can be switched off (connections refused) and on again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def on(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def off(self) -> None:
        """Refuse new connections and drop the open ones, as a database that went away does: each side reads the
        end of its connection (a query in flight fails instead of waiting for an answer that never comes)."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below; close() alone does not
            self._listener.close()
            self._listener = None
        with self._lock:
            dropped, self._open = self._open, []
        for sock in dropped:
            # shutdown() first: close() alone neither wakes a pump blocked in recv() on it nor ends the connection
            # while that recv() holds it, so a client waiting on its query waited forever.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


@pytest.fixture
def switched_pg(blank_database_url: str) -> Iterator[tuple[str, TcpSwitch]]:
    """A blank PostgreSQL database reached through a switch that starts off."""
    if not blank_database_url.startswith("postgresql"):
        pytest.skip("the outage is simulated on PostgreSQL")
    url = make_url(blank_database_url)
    switch = TcpSwitch((url.host or "127.0.0.1", url.port or 5432))
    switched = url.set(port=switch.port).render_as_string(hide_password=False)
    yield switched, switch
    switch.off()
    forget_engine(switched)


def test_the_server_starts_with_postgresql_unreachable_and_healthz_says_503(monkeypatch) -> None:
    use_database(monkeypatch, UNREACHABLE)

    async def start_and_ask() -> tuple[int, bytes]:
        async with lifespan(None):  # raised before, which ended the server
            status, _headers, body = await asyncio.to_thread(call, "GET", "/healthz")
            return status, body

    try:
        status, body = asyncrun.run(asyncio.wait_for(start_and_ask(), 90))
    finally:
        forget_engine(UNREACHABLE)
    assert status == 503 and b"database unavailable" in body


def test_every_page_shows_the_outage_in_both_languages_without_a_traceback(monkeypatch) -> None:
    use_database(monkeypatch, UNREACHABLE)
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert_outage_page(at)
        at.button(key="frame_db_retry").click().run()
        assert_outage_page(at)
    finally:
        forget_engine(UNREACHABLE)


def test_once_postgresql_is_back_it_is_migrated_and_the_app_carries_on(monkeypatch, switched_pg) -> None:
    url, switch = switched_pg
    use_database(monkeypatch, url)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert_outage_page(at)
    assert call("GET", "/healthz")[0] == 503

    switch.on()
    assert call("GET", "/healthz")[0] == 200
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == t("setup.title", "zh")  # a blank database: the first-admin setup
    assert "user" in inspect(db.get_engine(url)).get_table_names()

    switch.off()  # down again while the app is in use: the same page, not a traceback
    db.get_engine(url).dispose()
    at.run()
    assert_outage_page(at)


def test_a_query_in_flight_when_the_database_goes_away_fails_at_once_instead_of_waiting_forever(switched_pg) -> None:
    """The outage the deploy test simulates drops open connections. Closing the forwarder's sockets alone left a
    connection with a query in flight open: its client (the worker, in CI) waited for the answer for ever."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    url, switch = switched_pg
    switch.on()
    engine = db.make_engine(url)
    outcome: list[BaseException | None] = []

    def query() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_sleep(2)"))
            outcome.append(None)
        except BaseException as exc:  # recorded for the assertion below
            outcome.append(exc)

    try:
        worker = threading.Thread(target=query, daemon=True)
        worker.start()
        time.sleep(0.5)  # the query is running on the server
        switch.off()
        worker.join(timeout=10)
        assert not worker.is_alive(), "the client still waits for its query's answer"
        assert len(outcome) == 1 and isinstance(outcome[0], OperationalError), outcome
    finally:
        engine.dispose()


def test_postgresql_connections_keep_alive_so_a_vanished_host_is_noticed(blank_database_url: str) -> None:
    """A host gone without closing its connections (no FIN, no RST) is only noticed by TCP keepalives: the
    connection's own socket has them on, probing after 30 s idle."""
    from sqlalchemy import text

    if not blank_database_url.startswith("postgresql"):
        pytest.skip("SQLite has no network connection")
    engine = db.make_engine(blank_database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            fd = conn.connection.driver_connection.pgconn.socket
            sock = socket.socket(fileno=fd)
            try:
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
            finally:
                sock.detach()  # the connection's socket: not ours to close
    finally:
        engine.dispose()


def test_the_start_up_thread_migrates_when_postgresql_comes_back(monkeypatch, switched_pg) -> None:
    url, switch = switched_pg
    use_database(monkeypatch, url)

    async def start_then_restore() -> int:
        async with lifespan(None):
            assert (await asyncio.to_thread(call, "GET", "/healthz"))[0] == 503
            switch.on()
            for _ in range(100):  # the thread retries with back-off (1 s, 2 s, 5 s …)
                if "alembic_version" in inspect(db.get_engine(url)).get_table_names():
                    break
                await asyncio.sleep(0.2)
            return (await asyncio.to_thread(call, "GET", "/healthz"))[0]

    assert asyncrun.run(asyncio.wait_for(start_then_restore(), 90)) == 200
    assert url in db._migrated


def test_a_real_server_started_with_postgresql_unreachable_keeps_running_and_answers_503(tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        FOLLOWUP_DATABASE_URL=UNREACHABLE,
        FOLLOWUP_SECRET_KEY="outage-tests-secret-key-0123456789",
        FOLLOWUP_SECRETS_FILE=str(tmp_path / "none.toml"),
        FOLLOWUP_EMBEDDED_WORKER="0",
    )
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and status is None:
            assert proc.poll() is None, f"the server ended:\n{log.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.3)
        assert status == 503, log.read_text()[-3000:]
        assert proc.poll() is None
        assert "Traceback" not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_read_only_sqlite_file_gives_a_clear_message_at_sign_in(monkeypatch, tmp_path: Path) -> None:
    from sqlmodel import Session

    from tests.factories import Factory

    path = tmp_path / "app.db"
    use_database(monkeypatch, f"sqlite:///{path}")
    db.migrate()
    with Session(db.get_engine()) as session:
        Factory(session).admin(email="anna@example.com", password="demo-password-1")
    forget_engine(f"sqlite:///{path}")
    # What a file the server may not write looks like (tests run as root, which ignores file modes).
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    use_database(monkeypatch, read_only)
    try:
        for password in ("demo-password-1", "wrong-password-1"):
            at = AppTest.from_file(APP, default_timeout=60).run()
            assert not at.exception
            at.text_input(key="signin_email").input("anna@example.com")
            at.text_input(key="signin_password").input(password)
            [submit] = [b for b in at.button if getattr(b, "form_id", "") == "signin_form"]
            submit.click().run()
            assert_outage_page(at, "dbdown.read_only")
            assert "auth_user" not in at.session_state
    finally:
        forget_engine(read_only)
