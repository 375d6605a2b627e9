"""The services behind every page, as each role that uses it, at 1k, 10k and 100k seeded candidates.

    python -m bench.pages                                    # SQLite at 1,000, 10,000 and 100,000 candidates
    python -m bench.pages --sizes 1000,10000 --repeat 10
    python -m bench.pages --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres   # PostgreSQL too
    python -m bench.pages --pages candidates,follow_up       # only some pages

Each size is seeded once (`seed_demo`, seed SEED) and kept: a SQLite file under ~/.cache/followup-bench/
(FOLLOWUP_BENCH_CACHE moves it), and on PostgreSQL a database per size (followup_bench_*) beside the one the URL
names. The cache key holds the size, the seed and a hash of services/platform/demo.py, so a changed demo seeds anew;
migrations added since run on the cached database when it is opened (delete the directory or the
followup_bench_* databases to reclaim space, or to seed again after editing a migration in place).
The app's clock is frozen at the moment the database was seeded, so a database seeded last week still has
interviews tomorrow and scorecards due.

By default the benchmark runs no ANALYZE: what the planner knows is what a freshly loaded database knows, before
the app's worker first refreshes the statistics (PostgreSQL's autovacuum may still analyze a table on its own, as
it would in production). With --app-statistics it first refreshes them on a copy as that worker does
(services.platform.db.refresh_statistics: SQLite's ANALYZE of the tables never analysed or grown tenfold and PRAGMA
optimize; PostgreSQL's ANALYZE and VACUUM where autovacuum is off) — a database the app has been running on.

For every page (services.platform.policy.PAGES), every demo role that may open it (admin@, recruiter@, manager@,
interviewer@example.com) and the filters people use, it calls the services the page calls on a normal render —
each call in its own session, as ui.common.call does — and prints the median and 95th percentile of the whole
render's service time, the SQL statements it issued (counted with a before_cursor_execute event), and for the
follow-up board and the candidate search the ratio to a hand-written SQL query returning the same rows, timed in
the same run. Rows over the 50 ms target are marked with `!`. A role a service refuses is listed as refused; a
render still running after --limit seconds (60) is stopped and listed as such.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

import services.platform.db as services_db
import services.registry  # noqa: F401 - every screen's My tasks providers
from models.common import Role, Stage, clock, utcnow
from models.user import User
from services.evaluate import evaluation
from services.follow_up import followup
from services.mail import outbox as mail
from services.mail import tasks
from services.pipeline import candidates, jobs
from services.platform import policy, users
from services.platform.config import get_settings
from services.platform.db import ROOT, make_engine, migrate, refresh_statistics, session_scope
from services.platform.demo import seed_demo
from services.platform.errors import DomainError

SEED = 1
TARGET_MS = 50.0
SLOW_SECONDS = 5.0  # a case slower than this is timed fewer times (see `measure`)
LIMIT = {"seconds": 60.0, "deadline": float("inf")}  # a render still running after this long is stopped
ROLES = ("admin@example.com", "recruiter@example.com", "manager@example.com", "interviewer@example.com")
CACHE = Path(os.environ.get("FOLLOWUP_BENCH_CACHE", Path.home() / ".cache" / "followup-bench"))


# --------------------------------------------------------------------------- the cached databases
def cache_key(size: int, seed: int = SEED) -> str:
    """Size, seed, and a hash of the demo's code: a changed demo seeds anew. A migration added since a database
    was seeded runs on it when it is opened, as it would on a production database (and its backfill is then
    what the benchmark reads); a migration edited in place does not — delete the cached database then."""
    digest = hashlib.sha1((ROOT / "services" / "platform" / "demo.py").read_bytes())
    return f"{size}_s{seed}_{digest.hexdigest()[:10]}"


def bench_engine(url: str) -> Engine:
    """An engine whose statements stop once the render they belong to has run LIMIT seconds (SQLite: a progress
    handler; PostgreSQL: statement_timeout), so that one pathological case cannot hold the benchmark for hours."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _limit(dbapi_conn: Any, _record: Any) -> None:
        if engine.dialect.name == "sqlite":
            dbapi_conn.set_progress_handler(lambda: int(time.perf_counter() > LIMIT["deadline"]), 100_000)
        else:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {int(LIMIT['seconds'] * 1000)}")
            dbapi_conn.commit()

    return engine


def _seed(engine: Engine, size: int, seed: int) -> datetime:
    started = time.perf_counter()
    with session_scope(engine) as session:
        counts = seed_demo(session=session, candidates=size, seed=seed)
    counts.pop("kept", None)
    print(f"  seeded {size:,} candidates in {time.perf_counter() - started:.0f} s: {counts}", flush=True)
    return utcnow()


@contextmanager
def sqlite_database(size: int, seed: int = SEED, copy: bool = False) -> Iterator[tuple[Engine, datetime]]:
    """The cached SQLite database of `size` candidates (seeded on first use) and when it was seeded; with `copy`,
    a copy of it (to change, e.g. to analyse, leaving the cache as a new installation's)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"sqlite_{cache_key(size, seed)}.db"
    meta = path.with_suffix(".json")
    if not meta.exists():  # written last: a file without it is a seed that did not finish
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        migrate(f"sqlite:///{path}")
        engine = make_engine(f"sqlite:///{path}")
        seeded_at = _seed(engine, size, seed)
        with engine.connect() as conn:  # the seed is in the write-ahead log (1.3 GB at 100k): into the file
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        meta.write_text(json.dumps({"seeded_at": seeded_at.isoformat(), "size": size, "seed": seed}))
    seeded_at = datetime.fromisoformat(json.loads(meta.read_text())["seeded_at"])
    migrate(f"sqlite:///{path}")  # the migrations added since it was seeded
    if copy:
        with sqlite3.connect(path) as source, sqlite3.connect(path.with_suffix(".copy.db")) as target:
            source.backup(target)
        path = path.with_suffix(".copy.db")
    engine = bench_engine(f"sqlite:///{path}")
    try:
        yield engine, seeded_at
    finally:
        engine.dispose()
        if copy:  # 1.3 GB at 100k: not kept
            for made in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                made.unlink(missing_ok=True)


@contextmanager
def postgres_database(url: str, size: int, seed: int = SEED, copy: bool = False) -> Iterator[tuple[Engine, datetime]]:
    """A database beside `url`'s holding `size` candidates (seeded on first use), and when it was seeded; the
    time is kept as the database's comment, written once the seed has committed. (A database, not a schema:
    the pg_trgm extension the migrations create lives in one schema, which other schemas would not see.)"""
    name = "followup_bench_" + re.sub(r"[^a-z0-9_]", "_", cache_key(size, seed).lower())
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        with admin.connect() as conn:
            comment = conn.execute(
                text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not comment:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        if not comment:
            migrate(target)
            engine = make_engine(target)
            seeded_at = _seed(engine, size, seed)
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{seeded_at.isoformat()}'"))
            comment = seeded_at.isoformat()
        migrate(target)  # the migrations added since it was seeded
        if copy:  # a copy to change (e.g. to analyse), leaving the cached database as a new installation's
            services_db.get_engine(target).dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_copy"'))
                conn.execute(text(f'CREATE DATABASE "{name}_copy" TEMPLATE "{name}"'))
            target = make_url(url).set(database=f"{name}_copy").render_as_string(hide_password=False)
        engine = bench_engine(target)
        try:
            yield engine, datetime.fromisoformat(comment)
        finally:
            engine.dispose()
            if copy:  # not kept
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_copy"'))
    finally:
        admin.engine.dispose()


# --------------------------------------------------------------------------- what each page calls
@dataclass
class Sample:
    """Ids a person would click through to: picked once per database with plain queries."""

    users: dict[str, User]
    job_id: int  # an open job of manager@
    owner_id: int  # recruiter@
    candidate_id: int  # a recruiter@ candidate of manager@'s job with more than one application
    application_id: int  # an open application of a recruiter@ candidate on manager@'s job (the board's detail)
    app_candidate_id: int
    pool_candidate_id: int
    interview_id: int  # an interview interviewer@ sat on, ended
    debrief_id: int  # an application on manager@'s job interviewer@ submitted a scorecard for
    message_id: int
    round_id: int


def pick_sample(engine: Engine) -> Sample:
    with Session(engine, expire_on_commit=False) as session:
        people = {u.email: u for u in session.exec(select(User))}

        def one(sql: str, **params: Any) -> int:
            return session.execute(text(sql), params).scalar() or 0  # type: ignore[call-overload]

        manager, recruiter = people["manager@example.com"].id, people["recruiter@example.com"].id
        interviewer = people["interviewer@example.com"].id
        job_id = one("SELECT min(id) FROM job WHERE hiring_manager_id = :m AND status = 'open'", m=manager)
        app = session.execute(
            text(  # type: ignore[call-overload]
                "SELECT a.id, a.candidate_id FROM application a JOIN candidate c ON c.id = a.candidate_id "
                "WHERE a.job_id = :j AND c.owner_id = :r AND a.stage IN ('interviewing', 'decision_pending', 'offer') "
                "ORDER BY a.id DESC LIMIT 1"
            ),
            {"j": job_id, "r": recruiter},
        ).first() or (0, 0)
        return Sample(
            users={email: people[email] for email in ROLES},
            job_id=job_id,
            owner_id=recruiter,
            candidate_id=one(
                "SELECT max(a.candidate_id) FROM application a JOIN candidate c ON c.id = a.candidate_id "
                "WHERE a.job_id = :j AND c.owner_id = :r AND "
                "(SELECT count(*) FROM application b WHERE b.candidate_id = a.candidate_id) > 1",
                j=job_id,
                r=recruiter,
            ),
            application_id=app[0],
            app_candidate_id=app[1],
            pool_candidate_id=one("SELECT max(candidate_id) FROM poolentry"),
            interview_id=one(
                "SELECT max(i.id) FROM interview i JOIN interviewpanelist p ON p.interview_id = i.id "
                "WHERE p.user_id = :u AND i.status = 'scheduled' AND i.ends_at < :now",
                u=interviewer,
                now=utcnow(),
            ),
            debrief_id=one(
                "SELECT max(s.application_id) FROM scorecard s JOIN application a "
                "ON a.id = s.application_id WHERE a.job_id = :j AND s.status = 'submitted' "
                "AND s.interviewer_id = :u",
                j=job_id,
                u=interviewer,
            ),
            message_id=one("SELECT max(id) FROM outboxmessage"),
            round_id=one("SELECT min(id) FROM interviewround"),
        )


Call = tuple[Callable[..., Any], dict[str, Any]]


@dataclass
class Case:
    page: str  # the page's file name under pages/
    label: str  # the filter or the row picked
    calls: Callable[[Sample, User], list[Call]]
    roles: tuple[str, ...] = ROLES
    raw: Callable[[Sample, User], tuple[str, dict[str, Any]]] | None = field(default=None)


def _search(**filters: Any) -> Callable[[Sample, User], list[Call]]:
    def calls(s: Sample, _user: User) -> list[Call]:
        values = {k: (v(s) if callable(v) else v) for k, v in filters.items()}
        return [
            (users.list_users, {"role": Role.recruiter, "active_only": True}),
            (candidates.filter_jobs, {}),
            (
                candidates.search_candidates,
                {
                    "page": 1,
                    "page_size": 25,
                    "q": "",
                    "job_id": None,
                    "stage": None,
                    "owner_id": None,
                    "source": None,
                    "tag": None,
                }
                | values,
            ),
        ]

    return calls


def _board(owner: bool = False) -> Callable[[Sample, User], list[Call]]:
    def calls(s: Sample, _user: User) -> list[Call]:
        owner_id = s.owner_id if owner else None
        return [
            (users.list_users, {"role": Role.recruiter, "active_only": True}),
            (followup.follow_up_board, {"now": utcnow(), "owner_id": owner_id, "offset": 0}),
            (followup.survey_summary, {"by": "job"}),
            (followup.survey_overall, {}),
        ]

    return calls


def _without_actor(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A service that takes no actor (the page has checked the role), called like the others."""

    def call(*, session: Session, actor: User, **kwargs: Any) -> Any:  # the common signature
        return fn(session=session, **kwargs)

    return call


def _interviews(s: Sample, user: User) -> list[Call]:
    found: list[Call] = [(evaluation.my_interviews, {})]
    if user.has_role(Role.admin, Role.recruiter):  # the planning tab renders too
        today = utcnow().astimezone(get_settings().tz).date()
        monday = datetime.combine(
            today - timedelta(days=today.weekday()), datetime.min.time(), tzinfo=get_settings().tz
        )
        found += [
            (users.list_users, {"active_only": True}),
            (evaluation.list_rounds, {}),
            (evaluation.schedulable_applications, {}),
            (evaluation.list_interviews, {"start": monday, "end": monday + timedelta(days=7)}),
        ]
    return found


STAGE_CASES = [Case("candidates", f"stage={stage.value}", _search(stage=stage)) for stage in Stage]
CASES: list[Case] = [
    Case("my_tasks", "", lambda s, u: [(tasks.my_tasks, {"now": utcnow()})]),
    Case("interviews", "", _interviews),
    Case("follow_up", "", _board(), raw=lambda s, u: board_sql(owner_id=None)),
    Case(
        "follow_up",
        "owner=recruiter@",
        _board(owner=True),
        roles=("admin@example.com",),
        raw=lambda s, u: board_sql(owner_id=s.owner_id),
    ),
    Case(
        "follow_up",
        "open a row",
        lambda s, u: [
            (followup.list_contacts, {"candidate_id": s.app_candidate_id}),
            (followup.latest_intent, {"application_id": s.application_id}),
            (followup.intent_history, {"application_id": s.application_id}),
            (followup.drafts_for_application, {"application_id": s.application_id}),
            (followup.pool_entry, {"candidate_id": s.app_candidate_id}),
        ],
    ),
    Case("candidates", "no filter", _search(), raw=lambda s, u: search_sql(u)),
    *STAGE_CASES[:2],
    Case("candidates", "stage=offer", _search(stage=Stage.offer), raw=lambda s, u: search_sql(u, stage="offer")),
    *STAGE_CASES[3:],
    Case("candidates", "job", _search(job_id=lambda s: s.job_id), raw=lambda s, u: search_sql(u, job_id=s.job_id)),
    Case("candidates", "job+stage=interviewing", _search(job_id=lambda s: s.job_id, stage=Stage.interviewing)),
    Case("candidates", "word '王'", _search(q="王"), raw=lambda s, u: search_sql(u, q="王")),
    Case("candidates", "word 'emma'", _search(q="emma")),
    Case(
        "candidates",
        "owner=recruiter@",
        _search(owner_id=lambda s: s.owner_id),
        raw=lambda s, u: search_sql(u, owner_id=s.owner_id),
    ),
    Case("candidates", "tag python+source", _search(tag="python", source="referral")),
    Case(
        "candidates",
        "open a candidate",
        lambda s, u: [(candidates.get_candidate_detail, {"candidate_id": s.candidate_id})],
    ),
    Case(
        "jobs",
        "status=open",
        lambda s, u: [
            (users.list_users, {"role": Role.hiring_manager, "active_only": True}),
            (jobs.list_jobs, {"status": "open"}),
        ],
    ),
    Case(
        "talent_pool",
        "",
        lambda s, u: [
            (followup.job_families, {}),
            (followup.count_pool, {"q": "", "tag": "", "job_family": ""}),
            (followup.search_pool, {"q": "", "tag": "", "job_family": "", "offset": 0, "limit": 200}),
            (followup.poolable_candidates, {"q": ""}),
        ],
    ),
    Case("talent_pool", "open a row", lambda s, u: [(followup.pool_drafts, {"candidate_id": s.pool_candidate_id})]),
    Case("outbox", "", lambda s, u: [(mail.drafts_waiting_for, {}), (mail.list_outbox, {"status": None, "page": 1})]),
    Case("outbox", "open a message", lambda s, u: [(mail.get_message, {"message_id": s.message_id})]),
    Case(
        "scorecard",
        "",
        lambda s, u: [(evaluation.open_scorecard, {"interview_id": s.interview_id})],
        roles=("interviewer@example.com",),
    ),
    Case("debrief", "", lambda s, u: [(evaluation.debrief, {"application_id": s.debrief_id})]),
    Case("users", "", lambda s, u: [(users.list_users, {})]),
    Case(
        "rounds",
        "",
        lambda s, u: [
            (jobs.list_jobs, {}),
            (evaluation.list_rounds, {}),
            (_without_actor(evaluation.criteria_for), {"round_id": s.round_id, "job_id": None}),
        ],
    ),
]


# --------------------------------------------------------------------------- hand-written SQL to compare with
def board_sql(owner_id: int | None) -> tuple[str, dict[str, Any]]:
    """The board's first page for an admin in one statement: a page of the applications whose feedback clock
    runs (oldest first), then a page of the others, each with its last contact, newest intent and newest mail's
    state. The clock reads the kept `candidate.heard_at`, as the service does."""
    owner = "AND c.owner_id = :owner" if owner_id else ""
    sql = f"""
    WITH board AS (
      SELECT a.id AS app_id, a.candidate_id, c.name, j.title, a.stage, a.stage_changed_at, o.name AS owner,
             c.heard_at,
             (SELECT max(i.ends_at) FROM interview i WHERE i.application_id = a.id AND i.status = 'scheduled'
                AND i.ends_at <= :now) AS ended
      FROM application a JOIN candidate c ON c.id = a.candidate_id JOIN job j ON j.id = a.job_id
      LEFT JOIN "user" o ON o.id = c.owner_id
      WHERE a.stage IN ('interviewing', 'decision_pending', 'offer') AND c.anonymised_at IS NULL {owner}
    ), clocked AS (
      SELECT b.*, CASE WHEN b.ended IS NOT NULL AND (b.heard_at IS NULL OR b.heard_at < b.ended)
                  THEN 1 ELSE 0 END AS running
      FROM board b
    ), listed AS (
      SELECT * FROM (SELECT * FROM clocked WHERE running = 1 ORDER BY ended, app_id LIMIT :limit) r
      UNION ALL
      SELECT * FROM (SELECT * FROM clocked WHERE running = 0 ORDER BY stage_changed_at DESC, app_id DESC
                     LIMIT :limit) q
    )
    SELECT l.*,
      (SELECT max(k.at) FROM contact k WHERE k.candidate_id = l.candidate_id) AS last_contact,
      (SELECT k.outcome || '|' || coalesce(CAST(k.next_contact_at AS TEXT), '') FROM contact k
         WHERE k.candidate_id = l.candidate_id ORDER BY k.id DESC LIMIT 1) AS last_outcome,
      (SELECT CAST(n.interest AS TEXT) || '|' || n.offers FROM intent n WHERE n.application_id = l.app_id
         ORDER BY n.id DESC LIMIT 1) AS intent,
      (SELECT m.status || '|' || CAST(m.attempts AS TEXT) FROM outboxmessage m
         WHERE m.candidate_id = l.candidate_id AND m.status NOT IN ('draft', 'cancelled')
         ORDER BY m.id DESC LIMIT 1) AS newest_mail
    FROM listed l"""
    return sql, {"now": utcnow(), "limit": followup.BOARD_PAGE} | ({"owner": owner_id} if owner_id else {})


def search_sql(
    user: User, *, q: str = "", stage: str | None = None, job_id: int | None = None, owner_id: int | None = None
) -> tuple[str, dict[str, Any]]:
    """The ids of the first 1,001 matching candidates (count and first page of 25), newest first, for a
    recruiter or an admin (who see every candidate); the page's rows are then read by `search_rows`."""
    assert user.has_role(Role.admin, Role.recruiter), "the hand-written search is an unscoped one"
    where, params = ["c.anonymised_at IS NULL"], {"cap": candidates.COUNT_CAP + 1}
    if q:
        where.append("c.search_text LIKE :term ESCAPE '\\'")
        params["term"] = f"%{q.lower()}%"
    if owner_id:
        where.append("c.owner_id = :owner")
        params["owner"] = owner_id
    if stage or job_id:  # the candidates with such an application, read from the application side
        inner = (["a.stage = :stage"] if stage else []) + (["a.job_id = :job"] if job_id else [])
        where.append(f"c.id IN (SELECT a.candidate_id FROM application a WHERE {' AND '.join(inner)})")
        params |= ({"stage": stage} if stage else {}) | ({"job": job_id} if job_id else {})
    return f"SELECT c.id FROM candidate c WHERE {' AND '.join(where)} ORDER BY c.id DESC LIMIT :cap", params


def run_raw(session: Session, page: str, sql: str, params: dict[str, Any]) -> list[int]:
    """Run a hand-written query (and for the search, read its first page's rows); the rows' application or
    candidate ids, to check they are the service's."""
    rows = session.execute(text(sql), params).all()  # type: ignore[call-overload]
    if page == "candidates":
        ids = [r[0] for r in rows][:25]
        if ids:
            marks = ", ".join(str(int(i)) for i in ids)
            session.execute(
                text(  # type: ignore[call-overload]
                    'SELECT c.*, u.name FROM candidate c LEFT JOIN "user" u ON u.id = c.owner_id '
                    f"WHERE c.id IN ({marks})"
                )
            ).all()
            session.execute(
                text(  # type: ignore[call-overload]
                    "SELECT a.candidate_id, a.stage, j.title FROM application a JOIN job j ON j.id = a.job_id "
                    f"WHERE a.candidate_id IN ({marks}) ORDER BY a.stage_changed_at DESC"
                )
            ).all()
        return ids
    return [r[0] for r in rows]


def service_ids(page: str, result: Any) -> list[int]:
    if page == "candidates":
        return [row["id"] for row in result.rows]
    return [row.application_id for row in result]


# --------------------------------------------------------------------------- timing
class StatementCounter:
    """Counts the SQL statements an engine sends (executemany counts once) and keeps their text."""

    def __init__(self, engine: Engine) -> None:
        self.count, self.engine, self.statements = 0, engine, []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        self.statements.append(statement)

    def stop(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any, int]:
    """Median and 95th percentile (nearest rank) in ms of `repeat` runs after one warm-up, the result, and how
    many times `fn` ran.

    A slow case is not run `repeat` times: once the runs have taken SLOW_SECONDS, three are enough, and a
    warm-up slower than that is the only run (its time is then both the median and the p95)."""
    start = time.perf_counter()
    result = fn()
    first = (time.perf_counter() - start) * 1000
    if first > SLOW_SECONDS * 1000:
        return first, first, result, 1
    times: list[float] = []
    while len(times) < repeat and (len(times) < 3 or sum(times) < SLOW_SECONDS * 1000):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, -(-len(times) * 95 // 100) - 1))]
    return statistics.median(times), p95, result, len(times) + 1


def render(engine: Engine, calls: list[Call], user: User) -> list[Any]:
    """Every call of one render, each in its own session (as ui.common.call does); their results."""
    results = []
    LIMIT["deadline"] = time.perf_counter() + LIMIT["seconds"]
    try:
        for fn, kwargs in calls:
            with Session(engine, expire_on_commit=False) as session:
                results.append(fn(session=session, actor=user, **kwargs))
    finally:
        LIMIT["deadline"] = float("inf")
    return results


def run(label: str, engine: Engine, seeded_at: datetime, size: int, repeat: int, pages: set[str] | None) -> None:
    clock.freeze(seeded_at)
    try:
        sample = pick_sample(engine)
        counter = StatementCounter(engine)
        print(
            f"\n{label}: {size:,} candidates — median and p95 of the render's services, SQL statements, "
            f"ratio to hand-written SQL ('!' over {TARGET_MS:.0f} ms)"
        )
        print(
            f"  {'page':12} {'filter':26} {'role':12} {'median ms':>9} {'p95 ms':>8} {'SQL':>4} {'raw ms':>7} "
            f"{'ratio':>6}"
        )
        worst: list[tuple[float, str]] = []
        for case in CASES:
            if pages and case.page not in pages:
                continue
            for email in case.roles:
                user = sample.users[email]
                if not any(rule.path == f"pages/{case.page}.py" for rule in policy.pages_for(user)):
                    continue
                calls = case.calls(sample, user)
                name = email.split("@")[0]
                try:
                    before = counter.count
                    median, p95, results, runs = measure(
                        lambda calls=calls, user=user: render(engine, calls, user), repeat
                    )
                    statements = (counter.count - before) // runs
                except DomainError as exc:
                    print(f"  {case.page:12} {case.label:26} {name:12} refused ({type(exc).__name__})")
                    continue
                except DBAPIError as exc:
                    if not stopped(exc):
                        raise
                    limit = f"> {LIMIT['seconds']:g} s"
                    print(f"! {case.page:12} {case.label:26} {name:12} {limit:>9} (stopped)", flush=True)
                    worst.append((LIMIT["seconds"] * 1000, f"{case.page} {case.label} as {name} (stopped)"))
                    continue
                raw_ms, ratio = "", ""
                if case.raw is not None and user.has_role(Role.admin, Role.recruiter):
                    raw_ms, ratio = compare(engine, case, sample, user, calls, results, repeat)
                mark = "!" if median > TARGET_MS else " "
                print(
                    f"{mark} {case.page:12} {case.label:26} {name:12} {median:9.1f} {p95:8.1f} {statements:4d} "
                    f"{raw_ms:>7} {ratio:>6}",
                    flush=True,
                )
                worst.append((median, f"{case.page} {case.label} as {name}"))
        counter.stop()
        slowest = max(worst, default=(0.0, "nothing"))
        print(
            f"  slowest: {slowest[1]}, {slowest[0]:.1f} ms "
            f"({'meets' if slowest[0] <= TARGET_MS else 'MISSES'} the {TARGET_MS:.0f} ms target)"
        )
    finally:
        clock.freeze(None)


COMPARED = (followup.follow_up_board, candidates.search_candidates)  # what the hand-written queries replace


def compare(
    engine: Engine, case: Case, sample: Sample, user: User, calls: list[Call], results: list[Any], repeat: int
) -> tuple[str, str]:
    """The hand-written query's median (ms) and the service's time as a multiple of it, both timed here; the
    ratio is marked '≠' if the query's rows are not the service's."""
    assert case.raw is not None
    sql, params = case.raw(sample, user)
    if case.page == "follow_up" and not user.has_role(Role.admin):
        sql, params = board_sql(owner_id=user.id)  # a recruiter's board holds their own candidates
    index = next(i for i, (fn, _) in enumerate(calls) if fn in COMPARED)

    def raw() -> list[int]:
        LIMIT["deadline"] = time.perf_counter() + LIMIT["seconds"]
        try:
            with Session(engine) as session:
                return run_raw(session, case.page, sql, params)
        finally:
            LIMIT["deadline"] = float("inf")

    try:
        raw_median, _, ids, _ = measure(raw, repeat)
        service_median, _, _, _ = measure(lambda: render(engine, calls[index : index + 1], user), repeat)
    except DBAPIError as exc:
        if not stopped(exc):
            raise
        return "stopped", ""
    service = service_ids(case.page, results[index])
    same = ids == service if case.page == "candidates" else sorted(ids) == sorted(service)
    return f"{raw_median:.1f}", f"{service_median / raw_median:.1f}x" + ("" if same else "≠")


def stopped(exc: DBAPIError) -> bool:
    """The statement was stopped by the benchmark's time limit (SQLite 'interrupted', PostgreSQL's timeout)."""
    return "interrupted" in str(exc.orig) or "statement timeout" in str(exc.orig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL; each size gets a database beside it")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: every page)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--app-statistics",
        action="store_true",
        help="first refresh the planner statistics as the app's worker does (services.platform.db."
        "refresh_statistics) — a database the app has been running on; by default none",
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=LIMIT["seconds"],
        help="seconds after which a render is stopped and reported as such",
    )
    args = parser.parse_args()
    LIMIT["seconds"] = args.limit
    pages = {p.strip() for p in args.pages.split(",") if p.strip()} or None
    for size in (int(s) for s in args.sizes.split(",")):
        if not args.no_sqlite:
            with sqlite_database(size, copy=args.app_statistics) as (engine, seeded_at):
                run("SQLite" + statistics_of(engine, args.app_statistics), engine, seeded_at, size, args.repeat, pages)
        if args.postgres:
            with postgres_database(args.postgres, size, copy=args.app_statistics) as (engine, seeded_at):
                run(
                    "PostgreSQL" + statistics_of(engine, args.app_statistics),
                    engine,
                    seeded_at,
                    size,
                    args.repeat,
                    pages,
                )


def statistics_of(engine: Engine, refresh: bool) -> str:
    """With --app-statistics, refresh the planner's statistics as the app's worker does (on a copy of the cached
    database); the run's label says which."""
    if not refresh:
        return " (no planner statistics)"
    done = refresh_statistics(engine)
    return f" (statistics as the app keeps them: {', '.join(done) or 'nothing to refresh'})"


if __name__ == "__main__":
    main()
