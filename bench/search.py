"""Candidate search + first page at 1k, 10k and 100k candidates.

    python -m bench.search                    # SQLite (a temp file)
    python -m bench.search --postgres URL     # also on PostgreSQL (a temporary schema)
    python -m bench.search --sizes 1000,10000 --repeat 30

Prints the median and 95th-percentile time of one search_candidates call (count + first page of 25 rows,
exactly what the Candidates page runs) for typical searches. Target: under 50 ms at 100k.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.common import Stage
from models.user import User
from services import candidates
from services.db import make_engine, migrate
from services.demo import seed_demo

QUERIES: list[tuple[str, dict]] = [
    ("first page, no filter", {}),
    ("name '王'", {"q": "王"}),
    ("english name 'emma'", {"q": "emma"}),
    ("email fragment 'cand123'", {"q": "cand123"}),
    ("phone digits '0000 12'", {"q": "0000 12"}),
    ("no match 'zzzz'", {"q": "zzzz"}),
    ("stage = offer", {"stage": Stage.offer}),
    ("tag 'python' + source", {"tag": "python", "source": "referral"}),
    ("page 3 of '李'", {"q": "李", "page": 3}),
]


@contextmanager
def sqlite_db() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@contextmanager
def postgres_db(url: str, size: int) -> Iterator[Engine]:
    schema = f"bench_{size}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
    scoped = url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    migrate(scoped)
    engine = make_engine(scoped)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def measure(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm caches once
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def run(label: str, engine: Engine, size: int, repeat: int) -> None:
    with Session(engine, expire_on_commit=False) as session:
        start = time.perf_counter()
        seed_demo(session=session, candidates=size, seed=1)
        seeded = time.perf_counter() - start
        if engine.dialect.name == "postgresql":
            session.exec(text("ANALYZE"))  # type: ignore[call-overload]
        else:
            session.exec(text("ANALYZE"))  # type: ignore[call-overload]
        session.commit()
        recruiter = session.exec(select(User).where(User.email == "recruiter@example.com")).one()
        manager = session.exec(select(User).where(User.email == "manager@example.com")).one()
    print(f"\n{label}: {size:,} candidates (seeded in {seeded:.1f}s)")
    print(f"  {'search':34} {'median ms':>10} {'p95 ms':>8} {'hits':>6}")
    worst = 0.0
    for name, params in QUERIES + [("hiring manager, first page", {"_actor": manager})]:
        params = dict(params)
        actor = params.pop("_actor", recruiter)
        with Session(engine, expire_on_commit=False) as session:
            result = candidates.search_candidates(session=session, actor=actor, **params)

            def call(session: Session = session, actor: User = actor, params: dict = params) -> object:
                return candidates.search_candidates(session=session, actor=actor, **params)

            median, p95 = measure(call, repeat)
        worst = max(worst, median)
        hits = f"{result.total}+" if result.capped else str(result.total)
        print(f"  {name:34} {median:10.1f} {p95:8.1f} {hits:>6}")
    print(f"  slowest median: {worst:.1f} ms ({'meets' if worst < 50 else 'MISSES'} the 50 ms target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL to run the same searches on")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        with sqlite_db() as engine:
            run("SQLite", engine, size, args.repeat)
        if args.postgres:
            with postgres_db(args.postgres, size) as engine:
                run("PostgreSQL", engine, size, args.repeat)


if __name__ == "__main__":
    main()
