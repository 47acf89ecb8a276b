"""Alembic environment: uses the engine handed over by storage.migrate, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.audit
import storage.deployment  # the deployment's identity
import storage.jobs_models  # the scheduler's tables (registers them on the metadata)
import storage.models
import storage.runs_models  # noqa: F401 - agent_runs (paused agent runs)
from storage.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")
    # SQLite transactions begin with BEGIN IMMEDIATE (storage.db); Alembic runs inside one.
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
