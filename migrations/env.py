"""Alembic environment: runs on the connection the app hands over, or on the configured URL."""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def _run(connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several app servers may start at once; only one migrates, the others wait for it.
        connection.execute(text("SELECT pg_advisory_xact_lock(727001)"))
    from services.platform.db import include_object

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from services.platform.db import get_engine

    with get_engine(config.attributes.get("database_url")).begin() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("Offline SQL generation is not supported; run `python manage.py migrate`.")
run_migrations_online()
