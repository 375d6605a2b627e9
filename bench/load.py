"""Load: N people at once against one and two app servers behind nginx on PostgreSQL.

    python -m bench.load --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_load [--seed 100000]
    python -m bench.load --database ... --servers 1,2 --sessions 5,10,20,40 [--think 1.0] [--repeat 1]

Starts the app servers (`streamlit run`, no embedded worker) and nginx from deploy/nginx/followup.conf.j2 on free
ports, over the given PostgreSQL database (seeded with `manage.py seed-demo --candidates N` first when it holds no
candidate and --seed is given). Browsers would measure themselves (twenty Chromium pages on two cores spend more
CPU than the server), so each simulated person is a light client speaking Streamlit's own protocol: a WebSocket
to /_stcore/stream carrying the session cookie, `BackMsg.rerun_script` with the page, query string and widget
states a browser would send, and the `ForwardMsg`s back until `script_finished`. Each person:

  sign in     a one-time ticket exchanged at /session/start (the real cookie route), then the first run
  my tasks    the My tasks page
  candidates  the candidate list
  search      a search typed into it (the text input's widget state)
  candidate   one candidate's page (?id=…)
  follow-up   the follow-up board

with --think seconds between steps (a person reading; 0 = as fast as the server answers). Prints p50/p95 per step
for each number of sessions, the app servers' memory per open session (their RSS growth over the sessions they
hold), and the largest N whose p95 stays under 1 s in every step, for one and for two servers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("sign in", "my tasks", "candidates", "search", "candidate", "follow-up")
ACCOUNT = "recruiter@example.com"
SECRET = "bench-load-secret-key-0123456789abcdef"
TARGET_SECONDS = 1.0


# --- the protocol -----------------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    widgets: dict[str, str] = field(default_factory=dict)  # user key → widget id
    exceptions: list[str] = field(default_factory=list)
    signed_in: bool = True
    texts: list[str] = field(default_factory=list)  # headings and captions, to check the page is the one asked for


def _walk_ids(message, found: dict[str, str]) -> None:  # a protobuf message
    """Every widget id in an element (they end with the widget's user key: `$$ID-<hash>-<key>`)."""
    from google.protobuf.message import Message

    for descriptor, value in message.ListFields():
        if descriptor.name == "id" and isinstance(value, str) and value.startswith("$$ID-"):
            found[value.rsplit("-", 1)[-1]] = value
        elif isinstance(value, Message):
            _walk_ids(value, found)
        elif descriptor.type == descriptor.TYPE_MESSAGE:  # a repeated field of messages
            for item in value:
                _walk_ids(item, found)


class Session:
    """One browser tab: a WebSocket to Streamlit and the page it shows."""

    def __init__(self, base: str, cookie: str, locale: str = "zh-CN") -> None:
        self.base = base
        self.cookie = cookie
        self.locale = locale
        self.ws = None
        self.pages: dict[str, str] = {}  # url path → page script hash
        self.page_hash = ""

    async def connect(self) -> None:
        import websockets

        url = self.base.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(
            url,
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=60,
            additional_headers={"Cookie": self.cookie},
            ping_interval=None,
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(self, page: str = "", query: str = "", widgets: dict[str, str] | None = None) -> Run:
        """Ask for a script run as the browser does and wait for it to finish; `widgets`: widget id → text."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        back = BackMsg()
        state = back.rerun_script
        state.query_string = query
        state.page_name = page
        state.page_script_hash = self.pages.get(page, self.page_hash if not page else "")
        state.context_info.timezone = "Asia/Shanghai"
        state.context_info.locale = self.locale
        state.context_info.url = f"{self.base}/{page}" + (f"?{query}" if query else "")
        for widget_id, value in (widgets or {}).items():
            item = state.widget_states.widgets.add()
            item.id = widget_id
            item.string_value = value
        started = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        result = Run(0.0)
        while True:
            data = await asyncio.wait_for(self.ws.recv(), 120)
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in message.navigation.app_pages}
                self.page_hash = message.navigation.page_script_hash
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                what = element.WhichOneof("type")
                if what == "exception":
                    result.exceptions.append(element.exception.message[:200])
                elif what == "heading":
                    result.texts.append(element.heading.body)
                elif what == "markdown":
                    result.texts.append(element.markdown.body[:200])
                _walk_ids(element, result.widgets)
            elif kind == "script_finished":
                if message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                break
        result.seconds = time.perf_counter() - started
        result.signed_in = "signin_email" not in result.widgets
        return result


# --- one person ---------------------------------------------------------------------------------------------------


def _ticket(database_url: str, email: str) -> str:
    from sqlmodel import select

    from models.user import User
    from services.platform import auth
    from services.platform.db import get_engine, session_scope

    with session_scope(get_engine(database_url)) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        return auth.issue_ticket(session=db, user=user)


def _cookie_from_start(base: str, ticket: str) -> str:
    """GET /session/start like the browser (no redirect followed); the Set-Cookie values as a Cookie header."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"{base}/session/start?ticket={urllib.parse.quote(ticket)}&next=/")
    try:
        response = opener.open(request, timeout=60)
    except urllib.error.HTTPError as exc:  # the 303 arrives as an "error" without a redirect handler
        response = exc
    cookies = [value.split(";", 1)[0] for name, value in response.headers.items() if name.lower() == "set-cookie"]
    if not any(c.startswith("followup_session=") for c in cookies):
        raise RuntimeError(f"no session cookie from /session/start ({response.status})")
    return "; ".join(cookies)


async def person(
    base: str,
    database_url: str,
    candidate_id: int,
    think: float,
    timings: dict[str, list[float]],
    errors: list[str],
    holding: list[Session],
    start: asyncio.Event,
) -> None:
    await start.wait()
    await asyncio.sleep(random.uniform(0, think))  # people do not all click in the same millisecond
    began = time.perf_counter()
    ticket = await asyncio.to_thread(_ticket, database_url, ACCOUNT)
    cookie = await asyncio.to_thread(_cookie_from_start, base, ticket)
    tab = Session(base, cookie)
    await tab.connect()
    holding.append(tab)
    first = await tab.run()
    timings["sign in"].append(time.perf_counter() - began)
    if not first.signed_in:
        errors.append("not signed in after /session/start")
        return
    plan = [
        ("my tasks", "my_tasks", "", None),
        ("candidates", "candidates", "", None),
        ("search", "candidates", "", "王"),
        ("candidate", "candidates", f"id={candidate_id}", None),
        ("follow-up", "follow_up", "", None),
    ]
    from services.platform.i18n import t

    titles = {
        "my tasks": t("nav.my_tasks", "zh"),
        "candidates": t("nav.candidates", "zh"),
        "search": t("nav.candidates", "zh"),
        "follow-up": t("nav.follow_up", "zh"),
    }
    search_id = ""
    for step, page, query, typed in plan:
        await asyncio.sleep(think)
        widgets = {search_id: typed} if typed and search_id else None
        if typed and not search_id:
            errors.append("no search box on the candidates page")
        run = await tab.run(page, query, widgets)
        timings[step].append(run.seconds)
        errors.extend(f"{step}: {e}" for e in run.exceptions)
        # The page asked for was drawn: its title (the candidate's page has the person's name instead).
        if step in titles and titles[step] not in run.texts:
            errors.append(f"{step}: the page title {titles[step]!r} is missing")
        if step == "candidate" and titles["candidates"] in run.texts:
            errors.append("candidate: the list showed instead of the candidate")
        if page == "candidates" and not typed:
            search_id = run.widgets.get("cand_q", search_id)


# --- the servers --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (streamlit runs in one process), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _wait_healthy(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=3) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} not healthy after {seconds}s")


class Deployment:
    """`count` app servers and nginx in front, on `database_url`; stopped by `close()`."""

    def __init__(self, count: int, database_url: str, workdir: Path) -> None:
        from deploy.nginx import render_site, standalone_config

        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
        env.update(
            FOLLOWUP_DATABASE_URL=database_url,
            FOLLOWUP_SECRET_KEY=SECRET,
            FOLLOWUP_EMBEDDED_WORKER="0",
            FOLLOWUP_SECRETS_FILE=str(workdir / "none.toml"),
            STREAMLIT_SERVER_COOKIE_SECRET="bench-load-cookie-secret-0123456789",
        )
        self.servers: list[tuple[subprocess.Popen, str]] = []
        for n in range(count):
            port = _free_port()
            log = (workdir / f"app{n + 1}.log").open("w")
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
                env=env | {"FOLLOWUP_SERVER_NAME": f"app{n + 1}"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.servers.append((proc, f"127.0.0.1:{port}"))
        prefix = workdir / f"nginx{count}"
        prefix.mkdir(exist_ok=True)
        self.port = _free_port()
        site = render_site([address for _, address in self.servers], listen=f"127.0.0.1:{self.port}")
        (prefix / "nginx.conf").write_text(standalone_config(site, prefix))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "logs" / "error.log")]
        )
        for _, address in self.servers:
            _wait_healthy(f"http://{address}")
        _wait_healthy(self.url)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        return sum(_rss_kib(proc.pid) for proc, _ in self.servers)

    def close(self) -> None:
        for proc in [self.nginx, *(p for p, _ in self.servers)]:
            proc.terminate()
        for proc in [self.nginx, *(p for p, _ in self.servers)]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- the measurement ----------------------------------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _round(
    base: str, database_url: str, sessions: int, candidate_id: int, think: float
) -> tuple[dict[str, list[float]], list[str], list[Session]]:
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    holding: list[Session] = []
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(person(base, database_url, candidate_id, think, timings, errors, holding, start))
        for _ in range(sessions)
    ]
    start.set()
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            errors.append(f"{type(outcome).__name__}: {outcome}")
    return timings, errors, holding


def measure(
    deployment: Deployment, database_url: str, sessions: int, candidate_id: int, think: float, base: str | None = None
) -> tuple[dict[str, list[float]], list[str], int, float]:
    """One round of `sessions` people at once (through nginx, or straight to `base`); returns the timings, the
    errors, the servers' RSS in KiB while every session of the round is still open, and the round's seconds."""

    async def go() -> tuple[dict[str, list[float]], list[str], int, float]:
        began = time.perf_counter()
        timings, errors, holding = await _round(base or deployment.url, database_url, sessions, candidate_id, think)
        wall = time.perf_counter() - began
        rss = deployment.rss_kib()  # Streamlit keeps a session's state until its WebSocket closes
        for tab in holding:
            await tab.close()
        return timings, errors, rss, wall

    return asyncio.run(go())


def _candidates(database_url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from services.platform.db import get_engine, migrate

    migrate(database_url)
    with get_engine(database_url).connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM candidate")).scalar_one()
        first = conn.execute(text("SELECT min(id) FROM candidate")).scalar_one() or 0
    return count, first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL of the bench's own database")
    parser.add_argument("--seed", type=int, default=0, help="seed this many demo candidates into an empty database")
    parser.add_argument("--servers", default="1,2")
    parser.add_argument("--sessions", default="5,10,20,40")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a person's steps")
    args = parser.parse_args(argv)
    os.environ["FOLLOWUP_SECRET_KEY"] = SECRET  # tickets are keyed hashes: the bench and the servers share the key
    os.environ["FOLLOWUP_DATABASE_URL"] = args.database
    count, first = _candidates(args.database)
    if count == 0 and args.seed:
        print(f"seeding {args.seed} demo candidates (minutes) …", flush=True)
        subprocess.run(
            [sys.executable, "manage.py", "seed-demo", "--candidates", str(args.seed)],
            cwd=ROOT,
            env=os.environ | {"FOLLOWUP_DATABASE_URL": args.database},
            check=True,
        )
        count, first = _candidates(args.database)
    if count == 0:
        print("the database holds no candidate: pass --seed 100000", file=sys.stderr)
        return 2
    print(f"{count} candidates; think time {args.think}s; {os.cpu_count()} CPUs; steps: {', '.join(STEPS)}")
    best: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        for servers in [int(s) for s in args.servers.split(",")]:
            deployment = Deployment(servers, args.database, Path(tmp))
            try:
                for _, address in deployment.servers:  # warm up: every page imported once on each server
                    measure(deployment, args.database, 2, first, 0.0, base=f"http://{address}")
                time.sleep(2)
                baseline = deployment.rss_kib()
                print(
                    f"{servers} server(s): {baseline / 1024 / servers:.0f} MiB RSS per app server after warming up",
                    flush=True,
                )
                for sessions in [int(n) for n in args.sessions.split(",")]:
                    timings, errors, rss, wall = measure(deployment, args.database, sessions, first, args.think)
                    kib = (rss - baseline) / sessions  # an upper bound: it includes what the allocator keeps
                    worst = max((_p(timings[s], 0.95) for s in STEPS), default=float("inf"))
                    row = "  ".join(
                        f"{s} {_p(timings[s], 0.5) * 1000:5.0f}/{_p(timings[s], 0.95) * 1000:5.0f}" for s in STEPS
                    )
                    runs = sum(len(v) for v in timings.values())
                    print(
                        f"{servers} server(s) {sessions:3d} sessions  p50/p95 ms: {row}  "
                        f"memory/session {kib / 1024:.1f} MiB  {runs / wall:.1f} runs/s  errors {len(errors)}  "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                    for error in sorted(set(errors))[:5]:
                        print(f"    error: {error}")
                    if worst < TARGET_SECONDS and not errors and len(timings["follow-up"]) == sessions:
                        best[servers] = max(best.get(servers, 0), sessions)
                    elif worst > 5 * TARGET_SECONDS:
                        break  # far past the target: more sessions only take longer
            finally:
                deployment.close()
    for servers in [int(s) for s in args.servers.split(",")]:
        print(
            f"largest N with p95 < {TARGET_SECONDS:.0f} s in every step: {best.get(servers, 0)} on {servers} "
            "server(s) (load is the machine's 1-minute load average: other work on it counts too)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
