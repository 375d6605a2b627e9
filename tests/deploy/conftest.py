"""The deployment of README's "Deploy" section, started for real: PostgreSQL (a database of its own, reached through a
switchable TCP proxy), two app servers (`streamlit run`, no embedded worker), one `manage.py worker`, aiosmtpd for
the mail and nginx in front, configured from deploy/nginx/followup.conf.j2.

Skipped with a reason when nginx, PostgreSQL or Chromium is missing, unless FOLLOWUP_REQUIRE_DEPLOY=1 (CI), which
makes that a failure. Logs go to test-artifacts/deploy/.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from deploy.nginx import render_site, standalone_config
from services.platform.db import make_engine
from tests.browser.conftest import ARTIFACTS, shot
from tests.services.mail_server import SmtpServer, free_port, mail_env
from tests.services.test_database_unavailable import TcpSwitch

ROOT = Path(__file__).resolve().parents[2]
LOGS = ARTIFACTS / "deploy"
PG_SERVER = os.environ.get("FOLLOWUP_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "deploy-tests-secret-key-0123456789abcdef"
SERVER_NAMES = ("app1", "app2")


def missing(reason: str) -> None:
    """Skip, or fail when the deployment test is required (CI)."""
    if os.environ.get("FOLLOWUP_REQUIRE_DEPLOY") == "1":
        pytest.fail(f"FOLLOWUP_REQUIRE_DEPLOY=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        missing(
            "nginx is missing (Debian package `nginx`); the deploy topology test runs one in front of the app servers"
        )
    return str(found)


@dataclass
class Process:
    name: str
    proc: subprocess.Popen
    log: Path
    url: str = ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass
class Topology:
    url: str  # nginx, the address people use
    database_url: str  # through the switch
    direct_database_url: str  # straight to PostgreSQL, for the test's own checks
    switch: TcpSwitch
    smtp: SmtpServer
    servers: dict[str, Process]
    worker: Process
    nginx: Process
    env: dict[str, str] = field(default_factory=dict)

    def database(self):  # an Engine
        return make_engine(self.direct_database_url)


def start(name: str, args: list[str], env: dict[str, str]) -> Process:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, proc, log)


def status_of(url: str, timeout: float = 3) -> int | None:
    """The HTTP status of a GET (None when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # a local test URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_for(check: Callable[[], bool], what: str, seconds: float = 60, logs: tuple[Process, ...] = ()) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in logs:
            assert process.alive(), f"{process.name} ended:\n{process.log.read_text()[-3000:]}"
        if check():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.log.read_text()[-2000:]}" for p in logs)
    raise AssertionError(f"{what}: not after {seconds}s\n{tails}")


def app_server(name: str, env: dict[str, str]) -> Process:
    port = free_port()
    process = start(
        name,
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
        env | {"FOLLOWUP_SERVER_NAME": name},
    )
    process.url = f"http://127.0.0.1:{port}"
    return process


def warm_up(browser, servers) -> None:
    """Open the sign-in page on each app server directly once: a server's first run imports the whole app, which
    on a busy 2-core machine can take longer than a test waits for a page."""
    from playwright.sync_api import expect

    from services.platform.i18n import t

    context = browser.new_context(locale="zh-CN")
    try:
        for server in servers:
            page = context.new_page()
            page.goto(server.url + "/")
            expect(page.get_by_role("button", name=t("signin.submit", "zh"))).to_be_visible(timeout=90_000)
            page.close()
    finally:
        context.close()


@pytest.fixture(scope="module")
def topology(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Everything started and healthy; torn down (database dropped) at the end of the module."""
    nginx = nginx_binary()
    server = make_url(PG_SERVER)
    admin = make_engine(server.set(database="postgres").render_as_string(hide_password=False))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        missing(f"no PostgreSQL at {server.host}:{server.port} ({type(exc).__name__}); the deploy test needs one")
    name = f"deploy_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    direct = server.set(database=name).render_as_string(hide_password=False)
    switch = TcpSwitch((server.host or "127.0.0.1", server.port or 5432))
    switch.on()
    through = server.set(database=name, port=switch.port).render_as_string(hide_password=False)
    smtp = SmtpServer().start()
    tmp = tmp_path_factory.mktemp("deploy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        FOLLOWUP_DATABASE_URL=through,
        FOLLOWUP_SECRET_KEY=SECRET,
        FOLLOWUP_ENVIRONMENT="production",
        FOLLOWUP_SECRETS_FILE=str(tmp / "no-secrets.toml"),
        FOLLOWUP_LANGUAGE="zh",
        FOLLOWUP_EMBEDDED_WORKER="0",
        PYTHONUNBUFFERED="1",
        # One cookie secret for every app server, as deploy/ sets it: Streamlit signs its XSRF cookie with it.
        STREAMLIT_SERVER_COOKIE_SECRET="deploy-tests-cookie-secret-0123456789",
    )
    env.update(mail_env(smtp.port, mail_retry_seconds=2))
    processes: list[Process] = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "seed-demo", "--candidates", "30"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )
        servers = {n: app_server(n, env) for n in SERVER_NAMES}
        processes += servers.values()
        worker = start(
            "worker",
            [sys.executable, "manage.py", "worker"],
            env | {"FOLLOWUP_SERVER_NAME": "deploy-worker", "FOLLOWUP_WORKER_INTERVAL_SECONDS": "0.5"},
        )
        processes.append(worker)
        prefix = tmp / "nginx"
        prefix.mkdir()
        port = free_port()
        site = render_site(
            [s.url.removeprefix("http://") for s in servers.values()], listen=f"127.0.0.1:{port}", fail_timeout="5s"
        )
        (prefix / "nginx.conf").write_text(standalone_config(site, prefix))
        (LOGS / "nginx.conf").write_text((prefix / "nginx.conf").read_text())
        proxy = start(
            "nginx",
            [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "logs" / "error.log")],
            env,
        )
        processes.append(proxy)
        proxy.url = f"http://127.0.0.1:{port}"
        for s in servers.values():
            wait_for(lambda s=s: status_of(s.url + "/healthz") == 200, f"{s.name} healthy", logs=tuple(processes))
        wait_for(lambda: status_of(proxy.url + "/healthz") == 200, "nginx answering", logs=tuple(processes))
        warm_up(browser, servers.values())
        yield Topology(
            url=proxy.url,
            database_url=through,
            direct_database_url=direct,
            switch=switch,
            smtp=smtp,
            servers=servers,
            worker=worker,
            nginx=proxy,
            env=env,
        )
    finally:
        for process in reversed(processes):
            process.stop()
        for log in ("error.log", "access.log"):
            if (tmp / "nginx" / "logs" / log).exists():
                shutil.copy(tmp / "nginx" / "logs" / log, LOGS / f"nginx-{log}")
        smtp.stop()
        switch.off()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.engine.dispose()


@pytest.fixture
def open_page(browser, topology: Topology, request: pytest.FixtureRequest) -> Iterator[Callable]:
    """A page in a fresh browser context (own cookies) that reaches the app through nginx."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    contexts = []

    def _open(locale: str = "zh-CN"):  # a playwright Page
        context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1200}, base_url=topology.url)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else False
    for n, context in enumerate(contexts):
        if failed:
            for page in context.pages:
                shot(page, f"FAILED-deploy-{request.node.name}-{n}")
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report
