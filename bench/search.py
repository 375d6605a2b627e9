"""Candidate search alone, with more kinds of search than bench.pages: 1k, 10k and 100k candidates.

    python -m bench.search                    # SQLite
    python -m bench.search --postgres URL     # also on PostgreSQL (a database per size, kept)
    python -m bench.search --sizes 1000,10000 --repeat 30

Uses bench.pages' cached databases (seeded once, never ANALYZEd, the clock frozen at the seed) and its timing.
Prints the median and 95th-percentile time of one search_candidates call (capped count + first page of 25 rows,
what the Candidates page runs) and the SQL statements it issued. Target: under 50 ms at 100k.
"""

from __future__ import annotations

import argparse

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bench.pages import TARGET_MS, StatementCounter, measure, postgres_database, sqlite_database
from models.common import Stage, clock
from models.user import User
from services.pipeline import candidates

QUERIES: list[tuple[str, dict]] = [
    ("first page, no filter", {}),
    ("name '王'", {"q": "王"}),
    ("english name 'emma'", {"q": "emma"}),
    ("email fragment 'cand12'", {"q": "cand12"}),
    ("phone digits '0000 12'", {"q": "0000 12"}),
    ("no match 'zzzz'", {"q": "zzzz"}),
    ("stage = offer", {"stage": Stage.offer}),
    ("stage = interviewing, '李'", {"stage": Stage.interviewing, "q": "李"}),
    ("tag 'python' + source", {"tag": "python", "source": "referral"}),
    ("page 3 of '李'", {"q": "李", "page": 3}),
]


def run(label: str, engine: Engine, size: int, repeat: int) -> None:
    with Session(engine, expire_on_commit=False) as session:
        recruiter = session.exec(select(User).where(User.email == "recruiter@example.com")).one()
        manager = session.exec(select(User).where(User.email == "manager@example.com")).one()
    print(f"\n{label}: {size:,} candidates")
    print(f"  {'search':34} {'median ms':>10} {'p95 ms':>8} {'SQL':>4} {'hits':>6}")
    worst = 0.0
    counter = StatementCounter(engine)
    for name, params in QUERIES + [("hiring manager, first page", {"_actor": manager})]:
        params = dict(params)
        actor = params.pop("_actor", recruiter)

        def call(actor: User = actor, params: dict = params) -> candidates.SearchResult:
            with Session(engine, expire_on_commit=False) as session:
                return candidates.search_candidates(session=session, actor=actor, **params)

        before = counter.count
        median, p95, result, runs = measure(call, repeat)
        statements = (counter.count - before) // runs
        worst = max(worst, median)
        hits = f"{result.total}+" if result.capped else str(result.total)
        mark = "!" if median > TARGET_MS else " "
        print(f"{mark} {name:34} {median:10.1f} {p95:8.1f} {statements:4d} {hits:>6}", flush=True)
    counter.stop()
    print(
        f"  slowest median: {worst:.1f} ms ({'meets' if worst <= TARGET_MS else 'MISSES'} the "
        f"{TARGET_MS:.0f} ms target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL to run the same searches on")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        databases = [("SQLite", sqlite_database(size))]
        if args.postgres:
            databases.append(("PostgreSQL", postgres_database(args.postgres, size)))
        for label, database in databases:
            with database as (engine, seeded_at):
                clock.freeze(seeded_at)
                try:
                    run(label, engine, size, args.repeat)
                finally:
                    clock.freeze(None)


if __name__ == "__main__":
    main()
