"""The reminder scan at size: first pass over a freshly seeded database, then the steady state (nothing new).

    python -m bench.reminders                                   # 100,000 candidates, SQLite and PostgreSQL
    python -m bench.reminders --candidates 10000 --databases sqlite --no-before
    python -m bench.reminders --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Starts every run from a copy of bench.pages' cached seed of N candidates (seeded on first use under
~/.cache/followup-bench/ or as a followup_bench_* database beside the one --pg-url names, migrated when opened,
never analysed) and runs the passes at the moment it was seeded. For the engine as it is and, unless --no-before,
the engine before issue 9 (bench/reminders_before.py), prints the first pass (seconds, SQL statements, reminders
raised), the passes that raise the rest of its backlog (each rule raises at most 2,000 a pass), and the steady
state: a worker's passes a minute apart, incremental (median and worst of --repeat, the most statements a pass
issued, reminders they raised), and the full pass a worker makes every ten minutes (median of 3), with the average
a minute they make together.
Targets at 100k: first pass <= 5 s, steady state <= 100 ms, on both databases.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.engine import Engine

import bench.reminders_before as before
import services.registry  # noqa: F401 - every screen's reminder rules
from bench.pages import postgres_database, sqlite_database
from services.mail.reminders import FULL_SCAN_EVERY, Scans, run_reminders
from services.platform.config import get_settings

Pass = Callable[..., dict[str, int]]
FULL_EVERY = int(FULL_SCAN_EVERY.total_seconds() // 60)
ENGINES: dict[str, Pass] = {"now": run_reminders, "before": before.run_reminders}


@contextmanager
def counted(engine: Engine) -> Iterator[list[int]]:
    seen = [0]

    def count(*_args: object) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def fresh_copy(database: str, candidates: int, pg_url: str) -> AbstractContextManager[tuple[Engine, datetime]]:
    """A copy of bench.pages' cached seed of `candidates` candidates (seeded on first use, migrated when opened,
    never analysed, no reminder raised yet), and when it was seeded: the passes run at that moment, so a seed
    made last week is as fresh as one made now."""
    if database == "sqlite":
        return sqlite_database(candidates, copy=True)
    return postgres_database(pg_url, candidates, copy=True)


def measure(engine: Engine, now: datetime, run: Pass, repeat: int, worker: bool) -> dict[str, float]:
    """The engine's passes as a worker makes them: with `worker`, the engine keeps its passes (`Scans`): the
    first and the catch-up are full, the steady passes incremental, and a full pass (every ten minutes) is timed
    apart; the engine before issue 9 made every pass in full."""
    settings = get_settings()
    scans = Scans() if worker else None

    def scan(**kw: object) -> dict[str, int]:
        return run(**kw, scans=scans) if scans is not None else run(**kw)

    with counted(engine) as first_statements:
        started = time.perf_counter()
        raised = scan(engine=engine, now=now, settings=settings)
        first = time.perf_counter() - started
    # A pass raises at most each rule's cap (2,000): the first pass over a fresh 100k database leaves a backlog,
    # which the next passes (the same minute) raise. Caught up first, so that the steady state is measured on a
    # database with nothing left over (the catch-up is reported apart).
    catch_up, caught = 0.0, 0
    for _ in range(20):
        started = time.perf_counter()
        backlog = sum(scan(engine=engine, now=now, settings=settings).values())
        catch_up += time.perf_counter() - started
        caught += backlog
        if not backlog:
            break
    # The worker's next passes, a minute apart: at 100k about one stale application a minute crosses into a
    # new reminder window, so a pass may raise one (statements: the most any pass issued).
    steady, statements, later = [], 0, 0
    for i in range(repeat):
        with counted(engine) as seen:
            started = time.perf_counter()
            again = scan(engine=engine, now=now + timedelta(minutes=i + 1), settings=settings)
            steady.append(time.perf_counter() - started)
        statements = max(statements, seen[0])
        later += sum(again.values())
    full = []  # the worker's full pass every ten minutes, with nothing new
    for i in range(3 if worker else 0):
        started = time.perf_counter()
        run(engine=engine, now=now + timedelta(minutes=repeat + i + 1), settings=settings)
        full.append(time.perf_counter() - started)
    return {
        "first_s": first,
        "first_statements": first_statements[0],
        "raised": sum(raised.values()),
        "catch_up_s": catch_up,
        "caught_up": caught,
        "steady_ms": statistics.median(steady) * 1000,
        "steady_worst_ms": max(steady) * 1000,
        "steady_statements": statements,
        "steady_raised": later,
        "full_ms": statistics.median(full) * 1000 if full else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="any database on the server: the bench creates its own beside it",
    )
    parser.add_argument("--repeat", type=int, default=7, help="steady-state passes (the engine before: 3)")
    parser.add_argument("--no-before", action="store_true", help="skip the engine before issue 9 (slow)")
    args = parser.parse_args()
    for database in args.databases.split(","):
        print(f"{database}: {args.candidates:,} candidates", flush=True)
        for name, run in ENGINES.items():
            if name == "before" and args.no_before:
                continue
            repeat = args.repeat if name == "now" else min(args.repeat, 3)
            with fresh_copy(database, args.candidates, args.pg_url) as (engine, seeded_at):
                figures = measure(engine, seeded_at, run, repeat, name == "now")
            print(
                f"  {name:6} first pass {figures['first_s']:6.2f} s  {figures['first_statements']:6} statements "
                f"{figures['raised']:6} reminders | the rest of its backlog {figures['catch_up_s']:.2f} s, "
                f"{figures['caught_up']} reminders | steady {figures['steady_ms']:7.1f} ms (worst "
                f"{figures['steady_worst_ms']:.1f}) {figures['steady_statements']:5} statements, "
                f"{figures['steady_raised']} reminders in {repeat} passes",
                flush=True,
            )
            if figures["full_ms"]:
                per_minute = (figures["steady_ms"] * (FULL_EVERY - 1) + figures["full_ms"]) / FULL_EVERY
                print(
                    f"  {'':6} a full pass (every {FULL_EVERY} min, nothing new) {figures['full_ms']:.1f} ms; "
                    f"a worker's average a minute {per_minute:.1f} ms",
                    flush=True,
                )
    print("\ntargets at 100k: first pass <= 5 s, steady <= 100 ms")


if __name__ == "__main__":
    main()
