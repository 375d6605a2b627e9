"""Browser tests: the real server (`streamlit run app.py`) on a seeded SQLite file, driven by Debian's Chromium.

Skipped with a reason when /usr/bin/chromium is missing, unless FOLLOWUP_REQUIRE_BROWSER=1 (CI), which makes
that a failure. Screenshots go to test-artifacts/screenshots/, the server's log to test-artifacts/server.log.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# `chromium` and `browser` are fixtures of tests/conftest.py: the deploy tests drive the same one Playwright.
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DEMO_PASSWORD = "demo-password-1"
DEMO_CANDIDATES = 200
COOKIE = "followup_session"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"no healthy server at {url} after {seconds}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The app served by `streamlit run` on a free port, over a fresh database with the demo data."""
    ARTIFACTS.mkdir(exist_ok=True)
    db_file = tmp_path_factory.mktemp("browser") / "followup.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        FOLLOWUP_DATABASE_URL=f"sqlite:///{db_file}",
        FOLLOWUP_SECRET_KEY="browser-tests-secret-key-0123456789",
        FOLLOWUP_SECRETS_FILE=str(db_file.parent / "no-secrets.toml"),
        FOLLOWUP_LANGUAGE="zh",
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "seed-demo", "--candidates", str(DEMO_CANDIDATES)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    log = ARTIFACTS / "server.log"
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
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield {
            "url": url,
            "database_url": env["FOLLOWUP_DATABASE_URL"],
            "log": log,
            "settings": {k: v for k, v in env.items() if k.startswith("FOLLOWUP_")},
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_page(browser, server: dict, request: pytest.FixtureRequest) -> Iterator[Callable]:
    """Open a page in a fresh browser context (own cookies) with the given locale; closed after the test.

    When the test fails, each of its pages is saved as test-artifacts/screenshots/FAILED-<test>-<n>.png.
    """
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    contexts = []
    console: list[str] = []

    def _open(locale: str = "zh-CN"):  # a playwright Page
        context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1400}, base_url=server["url"])
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        return page

    yield _open
    failed = request.node.stash.get(FAILED, False)
    for n, context in enumerate(contexts):
        if failed:
            for page in context.pages:
                shot(page, f"FAILED-{request.node.name}-{n}")
        context.close()
    if failed and console:
        (ARTIFACTS / f"console-{request.node.name}.txt").write_text("\n".join(console))


def shot(page, name: str) -> None:
    """Save a screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"))


@pytest.fixture
def server_db(server: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Open a Session on the server's database, with the server's settings (time zone, secret key), to make the
    rows a flow starts from through the services, or to read what the browser did."""
    from services.platform import config
    from services.platform.db import make_engine, session_scope

    for name in [n for n in os.environ if n.startswith("FOLLOWUP_")]:
        monkeypatch.delenv(name)
    for name, value in server["settings"].items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    engine = make_engine(server["database_url"])

    yield lambda: session_scope(engine)
    engine.dispose()
    config.get_settings.cache_clear()
