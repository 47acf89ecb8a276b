"""A database for a test: a SQLite file, or a throwaway PostgreSQL schema; migrated, or prepared
with just the tables a test of one room needs (`audit_only`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from storage.audit import AuditEntry, install_audit_guards
from storage.db import make_engine
from storage.migrate import upgrade

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]  # fixture params


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def audit_only(engine: Engine) -> None:
    """Just the audit log and its guards, as `storage.audit` sets them up (no migrations)."""
    SQLModel.metadata.create_all(engine, tables=[AuditEntry.__table__])  # type: ignore[attr-defined]
    with engine.begin() as conn:
        install_audit_guards(conn)


@contextmanager
def migrated_database(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, prepare: Callable[[Engine], None] = upgrade
) -> Iterator[tuple[Engine, str]]:
    """(engine, url) of a database of `kind` ("sqlite" or "postgres") made ready by `prepare` (by
    default: every migration), dropped afterwards.

    PostgreSQL needs ORCH_TEST_POSTGRES_URL (the `postgres_url` fixture skips with the reason)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'orch.db'}"
        engine = make_engine(url)
        prepare(engine)
        try:
            yield engine, url
        finally:
            engine.dispose()
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = with_search_path(base, schema)
    engine = make_engine(url)
    prepare(engine)
    try:
        yield engine, url
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
