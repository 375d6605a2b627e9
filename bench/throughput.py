"""Page runs per second of one app server process, against Streamlit's defaults measured in the same run.

    python -m bench.throughput                                  # bench.pages' cached 10k SQLite database
    python -m bench.throughput --database sqlite:////path/app.db --seconds 60 --sessions 3
    python -m bench.throughput --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_x

Starts one `streamlit run app.py` (no embedded worker) twice on the same database: first with Streamlit's
default runner settings (the baseline: a full garbage collection after every script run), then with the app's
own `.streamlit/config.toml`. Each time, `--sessions` light clients (bench.load's WebSocket client, signed in with
the real session cookie, admins and recruiters in turn) ask for page runs back to back for `--seconds`: My
tasks, Candidates, Follow-up, Jobs, Talent pool and one candidate's page, in turn. Prints per configuration: page
runs, runs per second, the server's CPU seconds (from /proc), runs per CPU-second and CPU milliseconds per run,
its memory after the load; then the ratio. Runs per CPU-second is what one process can serve when the machine
has nothing else to do: the 2-core machine also runs the clients, so wall-clock runs per second understate it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.load import SECRET, Session, _cookie_from_start, _free_port, _ticket, _wait_healthy

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ("my_tasks", ""),
    ("candidates", ""),
    ("follow_up", ""),
    ("jobs", ""),
    ("talent_pool", ""),
    ("candidates", "id={candidate}"),
]
ACCOUNTS = ["admin@example.com", "recruiter@example.com"]


@dataclass
class Figures:
    runs: int
    seconds: float
    cpu: float
    rss_mib: int
    errors: int

    def line(self, label: str) -> str:
        return (
            f"{label:34s} {self.runs:5d} runs in {self.seconds:5.1f} s  {self.runs / self.seconds:6.2f} runs/s  "
            f"CPU {self.cpu:5.1f} s  {self.runs / self.cpu:6.2f} runs/CPU-s  {self.cpu / self.runs * 1000:6.1f} "
            f"ms CPU/run  RSS {self.rss_mib} MiB  errors {self.errors}"
        )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def _candidate_id(database_url: str) -> int:
    from sqlmodel import Session as DbSession
    from sqlmodel import func, select

    from models.candidate import Candidate
    from services.platform.db import get_engine

    with DbSession(get_engine(database_url)) as db:
        return db.exec(select(func.max(Candidate.id))).one() or 1


async def _load(base: str, database_url: str, sessions: int, seconds: float, candidate: int) -> tuple[int, int]:
    errors = 0

    async def person(index: int, until: float) -> int:
        nonlocal errors
        ticket = await asyncio.to_thread(_ticket, database_url, ACCOUNTS[index % len(ACCOUNTS)])
        tab = Session(base, await asyncio.to_thread(_cookie_from_start, base, ticket))
        await tab.connect()
        await tab.run()
        runs = 0
        while time.monotonic() < until:
            page, query = PAGES[(runs + index) % len(PAGES)]
            result = await tab.run(page, query.format(candidate=candidate))
            errors += bool(result.exceptions) or not result.signed_in
            runs += 1
        await tab.close()
        return runs

    return sum(await asyncio.gather(*(person(i, time.monotonic() + seconds) for i in range(sessions)))), errors


def measure(database_url: str, *, sessions: int, seconds: float, defaults: bool, workdir: Path) -> Figures:
    """One server on `database_url`: warmed up for a few seconds, then loaded for `seconds`."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        FOLLOWUP_DATABASE_URL=database_url,
        FOLLOWUP_SECRET_KEY=SECRET,
        FOLLOWUP_EMBEDDED_WORKER="0",
        FOLLOWUP_SECRETS_FILE=str(workdir / "none.toml"),
        STREAMLIT_SERVER_COOKIE_SECRET="bench-throughput-cookie-secret-0123456789",
    )
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
    ]
    if defaults:
        command += ["--runner.postScriptGC", "true"]
    log = (workdir / f"server-{port}.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        candidate = _candidate_id(database_url)
        asyncio.run(_load(base, database_url, sessions, min(5.0, seconds), candidate))  # warm-up
        cpu, started = _cpu_seconds(server.pid), time.monotonic()
        runs, errors = asyncio.run(_load(base, database_url, sessions, seconds, candidate))
        return Figures(
            runs=runs,
            seconds=time.monotonic() - started,
            cpu=_cpu_seconds(server.pid) - cpu,
            rss_mib=_rss_mib(server.pid),
            errors=errors,
        )
    finally:
        server.terminate()
        server.wait(20)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="database URL (default: bench.pages' cached SQLite demo of --size)")
    parser.add_argument("--size", type=int, default=10000, help="candidates in the default database")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sessions", type=int, default=3)
    args = parser.parse_args()
    os.environ["FOLLOWUP_SECRET_KEY"] = SECRET  # the tickets this process issues must be the servers' own
    with ExitStack() as stack:
        url = args.database
        if not url:
            from bench.pages import sqlite_database

            engine, _seeded_at = stack.enter_context(sqlite_database(args.size))
            url = engine.url.render_as_string(hide_password=False)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        before = measure(url, sessions=args.sessions, seconds=args.seconds, defaults=True, workdir=tmp)
        after = measure(url, sessions=args.sessions, seconds=args.seconds, defaults=False, workdir=tmp)
    print(f"database {url}, {args.sessions} sessions, {args.seconds:.0f} s each")
    print(before.line("Streamlit defaults (baseline)"))
    print(after.line("the app's configuration"))
    print(f"ratio: {(after.runs / after.cpu) / (before.runs / before.cpu):.2f}x page runs per CPU-second")


if __name__ == "__main__":
    main()
