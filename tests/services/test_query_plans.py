"""How the databases run the list queries: SQLite's plans for the candidate filters (no scan of every candidate
per application), the planner statistics the app keeps current, and PostgreSQL's JIT left off."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from models.candidate import Application, Candidate
from models.common import Stage
from models.job import Job
from models.user import User
from services.mail.worker import Worker
from services.pipeline import candidates
from services.platform.db import make_engine, refresh_statistics, session_scope
from services.platform.demo import seed_demo
from tests.conftest import PG_URL


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A small demo database on SQLite, without statistics (as a new installation has)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'plans.db'}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine) as session:
        seed_demo(session=session, candidates=200)
    return engine


def _statements(engine: Engine, call, actor_email: str) -> list[tuple[str, object]]:
    """The SELECT statements a service call issues, with their parameters."""
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, params, _context, _many) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, params))

    with Session(engine) as session:
        actor = session.exec(select(User).where(User.email == actor_email)).one()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            call(session, actor)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    return statements


def _plan_of_search(engine: Engine, actor_email: str, **filters: object) -> list[str]:
    """SQLite's plan for the statement that picks the candidate ids of a filtered list."""
    statements = _statements(
        engine,
        lambda session, actor: candidates.search_candidates(session=session, actor=actor, **filters),
        actor_email,
    )  # type: ignore[arg-type]
    statement, params = next((s, p) for s, p in statements if s.lstrip().startswith("SELECT candidate.id"))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    return [row[-1] for row in rows]


def _job_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(Job.id).order_by(Job.id)).first() or 0


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("who", ["recruiter@example.com", "manager@example.com"])
def test_a_stage_filter_reads_candidate_ids_from_an_index_not_a_scan_per_candidate(
    seeded: Engine, stage: Stage, who: str
) -> None:
    plan = _plan_of_search(seeded, who, stage=stage)
    assert not any("CORRELATED" in line for line in plan), plan
    assert not any(line.startswith("SCAN candidate") for line in plan), plan
    assert any("SEARCH candidate USING INTEGER PRIMARY KEY" in line for line in plan), plan
    assert any(
        "SEARCH application USING" in line and "INDEX ix_application_" in line and "stage=?" in line for line in plan
    ), plan


@pytest.mark.parametrize("filters", [{"stage": Stage.offer}, {}], ids=["job and stage", "job"])
def test_a_job_filter_reads_the_job_stage_index(seeded: Engine, filters: dict) -> None:
    plan = _plan_of_search(seeded, "recruiter@example.com", job_id=_job_id(seeded), **filters)
    assert not any("CORRELATED" in line or line.startswith("SCAN candidate") for line in plan), plan
    assert any("ix_application_job_stage" in line for line in plan), plan


def test_a_manager_reaching_many_candidates_reads_the_newest_and_tests_each(seeded: Engine) -> None:
    """The demo's manager holds half the jobs: the newest candidates, each tested by one lookup in the
    (candidate_id, job_id) key, find the page within a few thousand read — no list of all of theirs first."""
    plan = _plan_of_search(seeded, "manager@example.com")
    assert any("SEARCH application USING" in line and "candidate_id=?" in line for line in plan), plan
    assert not any(line.startswith("SCAN application") for line in plan), plan


def test_a_manager_reaching_few_candidates_reads_their_jobs_applications(analysable: Engine) -> None:
    """A manager of one job with one application: their candidates are read from their jobs' applications (an
    index), not found by reading every candidate."""
    with Session(analysable) as session:
        manager = User(email="few@example.com", name="Few", roles="hiring_manager")
        session.add(manager)
        session.flush()
        job = Job(title="Small", hiring_manager_id=manager.id)
        session.add(job)
        session.flush()
        someone = session.exec(select(Candidate.id).limit(1)).one()
        session.add(Application(candidate_id=someone, job_id=job.id or 0))
        session.commit()
        few = session.get(User, manager.id)
        assert candidates.search_candidates(session=session, actor=few).total == 1
    plan = _plan_of_search(analysable, "few@example.com")
    assert not any("CORRELATED" in line or line.startswith("SCAN candidate") for line in plan), plan


@pytest.mark.parametrize("filters", [{"q": "a"}, {"tag": "python"}], ids=["word", "tag"])
def test_a_managers_text_search_tests_their_jobs_per_candidate_found(seeded: Engine, filters: dict) -> None:
    """With a word or a tag every candidate is read for the text anyway: the manager's jobs are one lookup in the
    (candidate_id, job_id) key per candidate, not a list of every candidate of their jobs gathered first."""
    plan = _plan_of_search(seeded, "manager@example.com", **filters)
    assert any("SEARCH application USING" in line and "candidate_id=?" in line for line in plan), plan
    assert not any(line.startswith("SCAN application") for line in plan), plan


@pytest.fixture
def analysable(seeded: Engine, tmp_path: Path) -> Engine:
    """A copy of the small demo database (no statistics yet), to analyse without changing the plans the other tests
    read."""
    path = tmp_path / "copy.db"
    with seeded.connect() as conn, sqlite3.connect(path) as target:
        conn.connection.driver_connection.backup(target)  # type: ignore[union-attr]
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_sqlite_tables_never_analysed_are_analysed_then_those_whose_size_moved_tenfold(analysable: Engine) -> None:
    """Before SQLite 3.46 `PRAGMA optimize` on a new connection analyses nothing (it looks only at the tables that
    connection has queried): the tables are chosen by the app."""
    done = refresh_statistics(analysable)
    assert done[-1] == "optimize" and {"application", "candidate", "stagechange", "contact"} <= set(done), done
    with analysable.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'application'").scalar()
    assert refresh_statistics(analysable) == ["optimize"]  # nothing moved since
    with analysable.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE grown (id INTEGER PRIMARY KEY, note TEXT)")
        conn.exec_driver_sql("CREATE INDEX ix_grown_note ON grown (note)")
        conn.exec_driver_sql("INSERT INTO grown (note) VALUES ('a'), ('b'), ('c'), ('d'), ('e')")
    assert refresh_statistics(analysable) == ["grown", "optimize"]  # holds data, never analysed
    with analysable.begin() as conn:
        conn.exec_driver_sql("INSERT INTO grown (note) SELECT 'x' || value FROM json_each(json_array(1,2,3,4,5))")
    assert refresh_statistics(analysable) == ["optimize"]  # doubled: not worth it
    with analysable.begin() as conn:
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
            "INSERT INTO grown (note) SELECT 'y' || i FROM n"
        )
    assert refresh_statistics(analysable) == ["grown", "optimize"]  # 10 → 110 rows
    # The candidate filters keep their indexed plans once statistics exist.
    assert not any(
        "CORRELATED" in line for line in _plan_of_search(analysable, "recruiter@example.com", stage=Stage.hired)
    )
    plan = _plan_of_search(analysable, "recruiter@example.com", job_id=_job_id(analysable), stage=Stage.offer)
    assert not any("CORRELATED" in line or line.startswith("SCAN candidate") for line in plan), plan


def test_the_worker_refreshes_statistics_in_its_first_pass_with_rules_then_hourly(analysable: Engine) -> None:
    worker = Worker(analysable)
    first = worker.run_once(rules=True).analysed
    assert first[-1] == "optimize" and "application" in first, first
    assert worker.run_once(rules=True).analysed == []  # an hour has not passed
    assert worker.run_once(rules=False).analysed == []


@pytest.fixture
def pg_schema() -> Engine:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set FOLLOWUP_TEST_DATABASE_URL to run these tests on it")
    schema = "t_stats_" + str(abs(hash(PG_URL)) % 10**6)
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def test_postgresql_connections_run_without_jit_or_parallel_workers_keeping_url_options(pg_schema: Engine) -> None:
    with pg_schema.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
        assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
        assert conn.execute(text("SELECT current_schema()")).scalar().startswith("t_stats_")


def test_postgresql_tables_changed_a_lot_are_analysed_when_autovacuum_is_off(pg_schema: Engine) -> None:
    with pg_schema.begin() as conn:
        conn.execute(text("CREATE TABLE big (id int); CREATE TABLE small (id int)"))
        conn.execute(text("INSERT INTO big SELECT generate_series(1, 500); INSERT INTO small VALUES (1)"))
    # The statistics collector reports changes after the transaction, not always at once.
    with pg_schema.connect() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        autovacuum = conn.execute(text("SHOW autovacuum")).scalar()
    if autovacuum == "on":
        assert refresh_statistics(pg_schema) == []  # the database's own daemon does it
        return
    assert refresh_statistics(pg_schema) == ["big", "small"]  # never analysed, both hold data
    with pg_schema.connect() as conn:
        # Vacuumed too, as autovacuum would have (never vacuumed): its pages marked all-visible for index-only scans.
        assert conn.execute(
            text(
                "SELECT last_analyze IS NOT NULL AND last_vacuum IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'big' AND schemaname = current_schema()"
            )
        ).scalar()
    assert refresh_statistics(pg_schema) == []  # nothing changed since
    with pg_schema.begin() as conn:
        conn.execute(text("INSERT INTO big SELECT generate_series(1, 500); INSERT INTO small VALUES (2)"))
    with pg_schema.connect() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
    # 500 changes > 50 + 10 %; one row more in `small` is not worth an ANALYZE.
    assert refresh_statistics(pg_schema) == ["big"]


def test_postgresql_tables_never_analysed_are_analysed_though_no_changes_are_counted(pg_schema: Engine) -> None:
    """A copied database (CREATE DATABASE … TEMPLATE) has data but no statistics and no change counts, and its
    catalogue still says zero pages: analysed all the same."""
    with pg_schema.begin() as conn:
        conn.execute(text("CREATE TABLE copied (id int); INSERT INTO copied SELECT generate_series(1, 20)"))
    with pg_schema.connect() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        autovacuum = conn.execute(text("SHOW autovacuum")).scalar()
        conn.execute(text("SELECT pg_stat_reset_single_table_counters('copied'::regclass)"))
        assert conn.execute(text("SELECT relpages FROM pg_class WHERE oid = 'copied'::regclass")).scalar() == 0
    assert refresh_statistics(pg_schema) == ([] if autovacuum == "on" else ["copied"])


# --------------------------------------------------------------------------- the board, My tasks: newest rows
def _plans(engine: Engine, call, actor_email: str) -> list[str]:
    """Every plan line of every SELECT the call issues (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN)."""
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    lines = []
    with engine.connect() as conn:
        for statement, params in _statements(engine, call, actor_email):
            lines += [
                str(row[-1] if engine.dialect.name == "sqlite" else row[0])
                for row in conn.exec_driver_sql(explain + statement, params).all()
            ]
    return lines


def _board(session: Session, actor: User) -> object:
    from services.follow_up import followup

    return followup.follow_up_board(session=session, actor=actor)


def _my_tasks(session: Session, actor: User) -> object:
    from services.mail import tasks

    return tasks.my_tasks(session=session, actor=actor)


# What the padded tables (contact, outboxmessage; intent by its application) must never be read as. The other
# tables stay small in this fixture, where a sequential scan is the right plan.
SLOW_ON_POSTGRESQL = (
    "Seq Scan on contact",
    "Seq Scan on outboxmessage",
    "Seq Scan on intent",
    "Index Scan Backward using ix_contact_at",
    "using outboxmessage_pkey",
    "using intent_pkey",
    "using contact_pkey",
)


@pytest.mark.parametrize("who", ["admin@example.com", "recruiter@example.com"])
def test_sqlite_reads_the_boards_newest_rows_and_clocks_from_indexes(seeded: Engine, who: str) -> None:
    plan = _plans(seeded, _board, who)
    for table in ("contact", "outboxmessage", "intent", "interview"):
        assert not any(line.startswith(f"SCAN {table}") for line in plan), plan
    assert any("ix_contact_candidate_newest" in line for line in plan), plan
    assert any("ix_outbox_candidate_newest" in line for line in plan), plan
    assert any("ix_interview_application_status_end" in line for line in plan), plan


@pytest.mark.parametrize(
    "who", ["admin@example.com", "recruiter@example.com", "interviewer@example.com", "manager@example.com"]
)
def test_sqlite_reads_my_tasks_from_indexes(seeded: Engine, who: str) -> None:
    plan = _plans(seeded, _my_tasks, who)
    for table in ("contact", "outboxmessage", "interview", "interviewpanelist", "scorecard"):
        # A whole table (or whole index) read; the partial index of owed seats holds only the owed ones.
        assert not any(
            line.startswith(f"SCAN {table} ") or line == f"SCAN {table}"
            for line in plan
            if "ix_panelist_owed" not in line
        ), plan


@pytest.fixture(scope="module")
def pg_seeded() -> Engine:
    """A small demo in its own PostgreSQL schema, never analysed (as after a bulk import, before autovacuum)."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set FOLLOWUP_TEST_DATABASE_URL to run these tests on it")
    schema = "t_plans_" + str(abs(hash(PG_URL)) % 10**6)
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}")
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    SQLModel.metadata.create_all(engine)
    with session_scope(engine) as session:
        seed_demo(session=session, candidates=300)
    # PostgreSQL without statistics sizes a table by its pages: copies of every contact and mail (60 each) make
    # them large enough that the plans are those of a large database (the backward walks appeared at ~40k rows).
    with engine.begin() as conn:
        conn.execute(text(PADDING))
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


PADDING = """
INSERT INTO contact (candidate_id, application_id, channel, direction, outcome, summary, next_contact_at, at,
                     by_user_id)
 SELECT c.candidate_id, c.application_id, c.channel, c.direction, c.outcome, c.summary, c.next_contact_at, c.at,
        c.by_user_id
 FROM contact c, generate_series(1, 60);
INSERT INTO outboxmessage (idempotency_key, to_addrs, cc_addrs, subject, html, text, template, language, candidate_id,
  application_id, recipient_user_id, created_by_id, status, attempts, next_attempt_at, lease_until, claimed_by,
  last_error, message_id, created_at, sent_at, version)
 SELECT m.idempotency_key || ':' || g, m.to_addrs, m.cc_addrs, m.subject, m.html, m.text, m.template, m.language,
  m.candidate_id, m.application_id, m.recipient_user_id, m.created_by_id, m.status, m.attempts, m.next_attempt_at,
  m.lease_until, m.claimed_by, m.last_error, m.message_id || g, m.created_at, m.sent_at, m.version
 FROM outboxmessage m, generate_series(1, 60) g;
"""


@pytest.mark.parametrize("call", [_board, _my_tasks], ids=["board", "my tasks"])
@pytest.mark.parametrize("who", ["admin@example.com", "recruiter@example.com", "interviewer@example.com"])
def test_postgresql_without_statistics_reads_newest_rows_from_indexes_not_whole_tables(
    pg_seeded: Engine, call, who: str
) -> None:
    """Without statistics PostgreSQL walked whole tables backwards (by id or time) for each board row: 57 s at
    100k candidates. The plans must use the indexes that hold each candidate's rows in order."""
    if call is _board and who == "interviewer@example.com":
        pytest.skip("an interviewer has no board")
    plan = _plans(pg_seeded, call, who)
    # A read by primary key is slow only as a walk of the table: looking up given ids (Index Cond: id = …) is not.
    slow = [
        line
        for line, then in zip(plan, [*plan[1:], ""], strict=True)
        if any(s in line for s in SLOW_ON_POSTGRESQL) and "Index Cond: (id = " not in then
    ]
    assert not slow, "\n".join(plan)


def test_postgresql_without_statistics_looks_each_reminder_up_by_its_whole_key(pg_seeded: Engine) -> None:
    """Whether an item's reminder was raised is one lookup of the unique (rule, item_key, window, user_id): as an
    anti-join, PostgreSQL without statistics probed by (rule, user_id) alone — every reminder of that person for
    every item (3.3M index entries, 1.6 s a full pass at 100k)."""
    from services.mail.reminders import run_reminders

    run_reminders(engine=pg_seeded)  # raises what is due: the second pass tests every item against them
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, params, _context, _many) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "reminder" in statement:
            statements.append((statement, params))

    event.listen(pg_seeded, "before_cursor_execute", capture)
    try:
        run_reminders(engine=pg_seeded)
    finally:
        event.remove(pg_seeded, "before_cursor_execute", capture)
    assert statements
    with pg_seeded.connect() as conn:
        for statement, params in statements:
            plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, params).all()]
            lookups = [then for line, then in zip(plan, [*plan[1:], ""], strict=True) if " on reminder" in line]
            assert lookups and all("item_key" in cond and "user_id" in cond for cond in lookups), "\n".join(plan)


def test_postgresql_is_given_the_ids_of_a_walks_slice_as_an_array_it_can_count(pg_seeded: Engine) -> None:
    """A walk hands its slice of ids to PostgreSQL as one int[] parameter, which the planner takes as a constant
    array: it knows how many ids there are. Sent as text cast to int[], the cast stayed in the plan (array input
    is not folded), the planner guessed the number of ids, and planned the talent pool's picker (a slice of 4,000)
    to take 15 s at 100k candidates without statistics."""
    from sqlalchemy.dialects import postgresql

    from models.candidate import Candidate
    from services.platform.lists import among

    with Session(pg_seeded) as session:
        ids = list(session.exec(select(Candidate.id).order_by(Candidate.id).limit(120)).all())
        compiled = (
            select(Candidate.id).where(among(session, ids)(Candidate.id)).compile(dialect=postgresql.psycopg.dialect())
        )
        plan = "\n".join(
            row[0] for row in session.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        )
    assert "'{" + ",".join(map(str, ids)) + "}'::integer[]" in plan, plan
    assert "::text" not in plan, plan


def test_postgresql_never_serves_two_searches_with_one_generic_plan(pg_seeded: Engine) -> None:
    """psycopg prepares a statement on the server once it has run five times; PostgreSQL then may switch to one
    generic plan made without the values. With the LIKE pattern bound, every later search was served by a plan
    that ignored it and read every candidate's text (a manager's '王' at 100k: 58 ms, 14 ms planned for '王').
    The pattern is written into the statement, escaped: each search its own statement, its plan made for it.
    (The test runs as admin: a manager's differs only by the scope test.)"""
    words = ["王", "李", "张", "王磊", "o'neil", "100%", "a\\b", "陈", "刘", "emma"]
    with Session(pg_seeded) as session:
        admin = session.exec(select(User).where(User.email == "admin@example.com")).one()
        for _ in range(7):  # prepared at the fifth run of one text
            for word in words:
                candidates.search_candidates(session=session, actor=admin, q=word)
        prepared = (
            session.execute(
                text("SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%search_text LIKE%'")
            )
            .scalars()
            .all()
        )
    assert len(prepared) >= len(words), prepared  # the page's statement and the count's, for each word
    assert all("search_text LIKE '%" in statement for statement in prepared), prepared
    # The count's cap too: a generic plan not knowing it walked the whole id index for a manager's search.
    assert all("LIMIT 1001" in statement for statement in prepared if "ORDER BY candidate.id DESC" in statement)
    for word in ["o''neil", "100\\%", "a\\\\b"]:  # quotes doubled; LIKE's wildcards and backslash escaped
        assert any(f"'%{word}%'" in statement for statement in prepared), (word, prepared)
