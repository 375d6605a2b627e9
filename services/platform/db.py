"""The engine, sessions and schema migrations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from services.platform.config import ROOT, create_private_file, get_settings, make_private_dir

if TYPE_CHECKING:
    from alembic.config import Config

# Indexes made by hand in migrations for one database only (not in the models); autogenerate must ignore them.
DATABASE_SPECIFIC_INDEXES = {"ix_candidate_search_trgm", "ix_candidate_search_chars"}

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_migrate_lock = threading.Lock()  # one upgrade at a time per process (start-up, a page, /healthz)
_migrated: set[str] = set()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # DB-API objects are untyped
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Read the file through memory-mapped I/O (up to 2 GiB, the whole database at 100k candidates): reads then
    # copy nothing into each connection's own page cache. My tasks at 100k: 115 → 83 ms.
    cur.execute("PRAGMA mmap_size=2147483648")
    cur.close()


def make_engine(url: str) -> Engine:
    """A new engine for `url`; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            # Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
            make_private_dir(Path(path).parent)
            create_private_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A database host that does not answer must not hold a page (or /healthz) for minutes. JIT off: the app's
    # queries are short, and compiling them cost more than it saved (My tasks: 23 of 39 ms; the board: 1.4 s
    # of JIT for 0.2 s of work at 100k candidates). No parallel workers either: starting them cost more than they
    # shared (a manager's one-letter search at 100k: 89 ms in parallel, 71 ms alone; the page 123 → 56 ms), and
    # the app serves many short queries at once, not one long one. Options given in the URL are kept. (Plans stay
    # PostgreSQL's to cache: planning every run for its values cost the interview list and the board 10-13 ms
    # more each at 100k; the one statement whose plan depends on a value, the text search, writes it in —
    # candidates.text_matches.)
    parsed = make_url(url)
    ours = "-c jit=off -c max_parallel_workers_per_gather=0"
    given = parsed.query.get("options", "")  # a tuple where the URL gives it more than once
    options = " ".join(x for x in (*((given,) if isinstance(given, str) else given), ours) if x)
    # TCP keepalives: a database host that vanished without closing its connections (power loss, a dropped route)
    # is noticed within about a minute, instead of a query — the worker's, a page's — waiting on it for ever.
    keepalives = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
    return create_engine(
        parsed.difference_update_query(["options"]),
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"connect_timeout": 5, "options": options, **keepalives},
    )


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: the configured database)."""
    url = url or get_settings().effective_database_url
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def upsert_insert(bind: Engine | Any) -> Any:
    """The dialect's INSERT, the one with ON CONFLICT (`on_conflict_do_nothing/do_update`), for `bind`'s database."""
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A Session for one unit of work (a user action, a worker's step, a command): committed when the block ends,
    rolled back when it raises. Services only flush, so several of them called in one scope commit together or
    not at all."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """`session.begin_nested()`: what the block writes is undone alone when it raises (a duplicate key, a lost
    race), and the caller's transaction goes on.

    On SQLite the transaction is begun first: Python's sqlite3 only sends BEGIN before an INSERT/UPDATE/DELETE,
    and a SAVEPOINT outside a transaction starts one of its own, which its RELEASE then commits — the block's
    writes would be committed at once, whatever the caller decides later. IMMEDIATE: the block is about to write,
    and a read in it must not take a snapshot that another writer makes stale before this one writes (SQLite
    refuses that write as "database is locked" instead of waiting, and a lost race would not read as one)."""
    session.flush()
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    with session.begin_nested():
        yield


def include_object(_obj: object, name: str | None, type_: str, _reflected: bool, _compare_to: object) -> bool:
    """Alembic autogenerate filter: leave the database-specific indexes alone."""
    return not (type_ == "index" and name in DATABASE_SPECIFIC_INDEXES)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def migrate(url: str | None = None) -> None:
    """Upgrade the database schema to the newest migration (idempotent, once per process per URL)."""
    from alembic import command

    url = url or get_settings().effective_database_url
    with _lock:
        if url in _migrated:
            return
    with _migrate_lock:
        with _lock:
            if url in _migrated:
                return
        engine = get_engine(url)
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with _lock:
            _migrated.add(url)


def database_problem(exc: BaseException) -> str | None:
    """What a database error means for the people using the app: "read_only" (the file or server refuses
    writes), "unavailable" (cannot connect, connection lost, pool exhausted) or None (a bug, not an outage)."""
    from sqlalchemy import exc as sa_exc

    text = str(getattr(exc, "orig", None) or exc).lower()
    if isinstance(exc, sa_exc.DBAPIError) and ("readonly" in text or "read-only" in text):
        return "read_only"
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return "unavailable"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "unavailable"
    return None


def database_ready(url: str | None = None) -> bool:
    """True when the database answers and is migrated (migrating it now if it just came back)."""
    from sqlalchemy import text

    try:
        migrate(url)
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach it means not ready
        if database_problem(exc) is None and not isinstance(exc, OSError):
            raise
        return False
    return True


def refresh_statistics(engine: Engine | None = None) -> list[str]:
    """Keep the query planner's statistics current, as each database advises; returns what was analysed.

    SQLite: the tables never analysed that hold data, and those whose size moved tenfold since their last ANALYZE
    (SQLite 3.46's own rule for `PRAGMA optimize`), are analysed within `analysis_limit` (a bounded sample per index:
    milliseconds at 100k candidates); then `PRAGMA optimize` (its documentation: run it periodically on long-lived
    connections). Before 3.46, `PRAGMA optimize` on a new connection analyses only tables that connection has
    already queried — nothing at all in the worker's pass — so the tables are chosen here.
    PostgreSQL: autovacuum does this; where it is turned off, what it would have done is done here: the tables
    changed by more than its threshold (50 rows + 10 %) since their last ANALYZE are analysed, and those past its
    VACUUM thresholds (dead rows: 50 + 20 %; rows inserted: 1000 + 20 %) are vacuumed and analysed — and so are
    tables holding data that were never analysed or vacuumed (a restored or copied database starts with no
    statistics, no change counts and no page marked all-visible)."""
    from sqlalchemy import text

    engine = engine or get_engine()
    if engine.dialect.name == "sqlite":
        return _refresh_sqlite_statistics(engine)
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        if conn.execute(text("SHOW autovacuum")).scalar() == "on":
            return []
        found = conn.execute(
            text(
                "SELECT s.relname, "
                # autovacuum's own triggers: dead rows, rows inserted since the last VACUUM (which marks pages
                # all-visible: without it no index-only scan skips the table, 31 → 9 ms for the job list at 100k)
                "s.n_dead_tup > 50 + 0.2 * s.n_live_tup OR s.n_ins_since_vacuum > 1000 + 0.2 * s.n_live_tup "
                "OR (s.last_vacuum IS NULL AND s.last_autovacuum IS NULL AND pg_relation_size(s.relid) > 0) "
                "FROM pg_stat_user_tables s "
                "WHERE s.schemaname = current_schema() AND (s.n_mod_since_analyze > 50 + 0.1 * s.n_live_tup "
                "OR s.n_dead_tup > 50 + 0.2 * s.n_live_tup OR s.n_ins_since_vacuum > 1000 + 0.2 * s.n_live_tup "
                "OR ((s.last_analyze IS NULL AND s.last_autoanalyze IS NULL "
                "     OR s.last_vacuum IS NULL AND s.last_autovacuum IS NULL) AND pg_relation_size(s.relid) > 0)) "
                "ORDER BY s.relname"
            )
        ).all()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name, vacuum in found:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{name}"' if vacuum else f'ANALYZE "{name}"')
    return [name for name, _ in found]


SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index (SQLite's advice: 100-1000)


def _refresh_sqlite_statistics(engine: Engine) -> list[str]:
    """SQLite's half of `refresh_statistics`: the tables analysed, then "optimize"."""
    with engine.connect() as conn:
        conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        tables = [
            name
            for (name,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        analysed: dict[str, int] = {}
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").first():
            # Each row's stat begins with the table's row count as analysed.
            analysed = {
                name: int(rows or 0)
                for name, rows in conn.exec_driver_sql(
                    "SELECT tbl, max(CAST(stat AS INTEGER)) FROM sqlite_stat1 GROUP BY tbl"
                )
            }
        stale = []
        for name in tables:
            # The highest rowid: the table's size without counting it (ids only grow; a WITHOUT ROWID table has none).
            try:
                size = conn.exec_driver_sql(f'SELECT max(rowid) FROM "{name}"').scalar() or 0
            except Exception:  # no rowid: left to PRAGMA optimize
                continue
            before = analysed.get(name)
            if size and (before is None or size > 10 * max(before, 1) or 10 * size < before):
                stale.append(name)
        for name in stale:
            conn.exec_driver_sql(f'ANALYZE "{name}"')
        conn.exec_driver_sql("PRAGMA optimize")
        conn.commit()
    return [*stale, "optimize"]
