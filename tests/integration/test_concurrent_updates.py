"""Concurrent read-modify-write updates lose nothing, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage.db import make_engine, transaction
from storage.migrate import upgrade
from storage.models import Counter

THREADS, UPDATES = 16, 25


def hammer(engine: Engine, name: str) -> int:
    with transaction(engine) as session:
        session.add(Counter(name=name, value=0))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(UPDATES):
                with transaction(engine) as session:
                    row = session.exec(select(Counter).where(Counter.name == name).with_for_update()).one()
                    row.value = row.value + 1  # read, then write: the classic lost-update shape
                    session.add(row)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[0]
    with transaction(engine) as session:
        return session.exec(select(Counter.value).where(Counter.name == name)).one()


def test_sqlite_loses_no_concurrent_update(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    assert hammer(engine, "rmw") == THREADS * UPDATES


@pytest.mark.postgres
def test_postgres_loses_no_concurrent_update(postgres_url: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = make_engine(postgres_url + ("&" if "?" in postgres_url else "?")
                             + f"options=-csearch_path%3D{schema}")
        upgrade(engine)
        assert hammer(engine, "rmw") == THREADS * UPDATES
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
