"""The Alembic migrations build exactly the schema the SQLModel models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

import models  # noqa: F401 - registers every table
import services.platform.db
from models.user import User
from services.platform.db import DATABASE_SPECIFIC_INDEXES, alembic_config, migrate, session_scope
from tests.services.conftest import forget_engine

# Indexes that exist on purpose only in a migration, because SQLModel cannot describe them: PostgreSQL's GIN
# indexes of the search text's trigrams (0002) and characters (0016).
MIGRATION_ONLY_INDEXES = DATABASE_SPECIFIC_INDEXES


def _include_name(name: str | None, type_: str, _parents: dict) -> bool:
    if type_ == "table":
        return name != "alembic_version"
    if type_ == "index":
        return name not in MIGRATION_ONLY_INDEXES
    return True


def schema_diff(url: str) -> list:
    """What autogenerate would write for the database at `url` against the models: empty when they agree."""
    with services.platform.db.get_engine(url).connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False, "include_name": _include_name}
        )
        return compare_metadata(context, SQLModel.metadata)


def head_revision(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: str) -> str | None:
    with services.platform.db.get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_migrations_have_one_head_and_a_linear_history(blank_database_url) -> None:
    script = ScriptDirectory.from_config(alembic_config(blank_database_url))
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(len(r._all_down_revisions) <= 1 for r in revisions)


def test_upgrading_a_blank_database_yields_the_schema_of_the_models(blank_database_url) -> None:
    migrate(blank_database_url)
    assert current_revision(blank_database_url) == head_revision(blank_database_url)
    tables = set(inspect(services.platform.db.get_engine(blank_database_url)).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert schema_diff(blank_database_url) == []


def test_migrating_twice_is_harmless_and_keeps_the_data(blank_database_url) -> None:
    migrate(blank_database_url)
    engine = services.platform.db.get_engine(blank_database_url)
    with Session(engine) as session:
        session.add(User(email="kept@example.com", name="Kept", roles="admin"))
        session.commit()
    services.platform.db._migrated.discard(blank_database_url)  # run Alembic again, not only the in-process shortcut
    migrate(blank_database_url)
    migrate(blank_database_url)
    with Session(engine) as session:
        assert [u.email for u in session.exec(select(User))] == ["kept@example.com"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            head_revision(blank_database_url)
        ]
    assert schema_diff(blank_database_url) == []


def test_the_models_match_a_database_built_from_them_directly(blank_database_url) -> None:
    # The test fixtures build the schema with create_all; it must equal what the migrations build.
    engine = services.platform.db.get_engine(blank_database_url)
    SQLModel.metadata.create_all(engine)
    assert schema_diff(blank_database_url) == []


def test_the_configured_database_is_migrated_when_no_url_is_given(monkeypatch, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'configured.db'}"
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    services.platform.config.get_settings.cache_clear()
    try:
        migrate()
        assert current_revision(url) == head_revision(url)
    finally:
        forget_engine(url)


def test_the_upgrade_goes_on_without_the_right_to_create_pg_trgm(blank_database_url) -> None:
    """A managed PostgreSQL may refuse CREATE EXTENSION; then the search index is skipped, not the upgrade."""
    if not blank_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no extensions")
    blank = make_url(blank_database_url)
    role = f"{blank.database}_limited"
    owner = services.platform.db.get_engine(blank_database_url)
    with owner.begin() as conn:
        conn.execute(text("DROP EXTENSION IF EXISTS pg_trgm"))
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        # The role owns the schema it migrates, but may not create extensions in the database.
        conn.execute(text(f'CREATE SCHEMA app AUTHORIZATION "{role}"'))
    limited = blank.set(username=role, query={"options": "-csearch_path=app"}).render_as_string(hide_password=False)
    try:
        migrate(limited)
        assert current_revision(limited) == head_revision(limited)
        with services.platform.db.get_engine(limited).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM candidate")).scalar() == 0
            # The index of the search text's characters needs no extension (0016): short searches stay fast.
            assert conn.execute(
                text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'candidate' "
                    "AND indexname LIKE 'ix_candidate_search_%'"
                )
            ).scalars().all() == ["ix_candidate_search_chars"]
    finally:
        forget_engine(limited)
        with owner.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS app CASCADE"))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))


def test_0008_numbers_intent_history_and_pools_applications_already_in_the_talent_pool_stage(
    blank_database_url,
) -> None:
    """Data made before 0008 (reached by downgrading to 0005): each application's intents get versions 1, 2, …
    in order, and a person with an application in the talent_pool stage gets a pool entry with the move's reason."""
    from datetime import timedelta

    from alembic import command

    from models.candidate import Application
    from models.common import utcnow
    from models.followup import PoolEntry
    from services.follow_up import followup
    from services.pipeline import candidates
    from tests.factories import Factory

    migrate(blank_database_url)
    engine = services.platform.db.get_engine(blank_database_url)
    with session_scope(engine) as session:
        make = Factory(session)
        recruiter = make.user("recruiter")
        job = make.job(actor=recruiter)
        pooled = make.candidate(actor=recruiter, job=job)
        app = session.exec(select(Application).where(Application.candidate_id == pooled.id)).one()
        for version, interest in enumerate((4, 2), start=0):
            followup.record_intent(
                session=session,
                actor=recruiter,
                version=version,
                intent_in={"application_id": app.id, "interest": interest},
            )
        candidates.move_stage(
            session=session,
            actor=recruiter,
            application_id=app.id,
            to_stage="talent_pool",
            reason="强，但暂无名额",
            pool={"revisit_on": (utcnow() + timedelta(days=3)).date()},
        )
    cfg = alembic_config(blank_database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM poolentry"))  # as before 0008: the stage moved, the pool did not know
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT interest, version FROM intent ORDER BY id")).all() == [(4, 1), (2, 2)]
    with Session(engine) as session:
        [entry] = session.exec(select(PoolEntry)).all()
        assert (entry.candidate_id, entry.reason, entry.status, entry.added_by_id) == (
            pooled.id,
            "强，但暂无名额",
            "active",
            recruiter.id,
        )
        assert entry.revisit_on >= utcnow().date() + timedelta(days=14)
    assert schema_diff(blank_database_url) == []
