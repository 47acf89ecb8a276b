"""A migrated database for a test: a SQLite file, or a throwaway PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy.engine import Engine

from storage.db import make_engine
from storage.migrate import upgrade


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@contextmanager
def migrated_database(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> Iterator[tuple[Engine, str]]:
    """(engine, url) of a migrated database of `kind` ("sqlite" or "postgres"), dropped afterwards.

    PostgreSQL needs ORCH_TEST_POSTGRES_URL (the `postgres_url` fixture skips with the reason)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'orch.db'}"
        engine = make_engine(url)
        upgrade(engine)
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
    upgrade(engine)
    try:
        yield engine, url
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
