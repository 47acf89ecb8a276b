"""The front door's memory of request bodies: once per window, shared by every process, bounded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from storage.db import make_engine
from storage.migrate import upgrade
from storage.replay import PRUNE_EVERY, WINDOW_SECONDS, SeenRequests, seen_table


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'orch.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_body_counts_once_per_window_across_processes_and_old_ones_are_pruned(database_url: str) -> None:
    main = make_engine(database_url)
    upgrade(main)
    web, other = SeenRequests.open(database_url, main), SeenRequests.open(database_url, make_engine(database_url))
    assert web.first_time(b"command=/orch&trigger_id=1", now=1000.0)
    assert not web.first_time(b"command=/orch&trigger_id=1", now=1001.0)
    assert not other.first_time(b"command=/orch&trigger_id=1", now=1002.0)  # another process sees it too
    assert other.first_time(b"command=/orch&trigger_id=2", now=1003.0)
    # Past the window a body is new again (it could no longer carry a valid signature anyway).
    assert web.first_time(b"command=/orch&trigger_id=1", now=1000.0 + WINDOW_SECONDS + 1)

    for n in range(PRUNE_EVERY):
        web.first_time(f"filler {n}".encode(), now=1000.0 + 3 * WINDOW_SECONDS)
    with web.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(seen_table)).scalar()
    assert left == PRUNE_EVERY  # the old rows went as the new ones came in
    main.dispose()
