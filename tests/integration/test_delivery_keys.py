"""A delivery key is taken once: on SQLite and PostgreSQL, by one statement."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.services.dedupe import first_time
from storage.db import read_session
from storage.models import ProcessedDelivery

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_key_is_taken_the_first_time_only(engine: Engine) -> None:
    assert first_time(engine, "event:Ev1", NOW) is True
    assert first_time(engine, "event:Ev1", NOW) is False
    assert first_time(engine, "event:Ev2", NOW) is True
    with read_session(engine) as session:
        rows = session.exec(select(ProcessedDelivery).order_by(ProcessedDelivery.key)).all()
    assert [(r.key, r.at.replace(tzinfo=UTC) if r.at.tzinfo is None else r.at) for r in rows] == [
        ("event:Ev1", NOW),
        ("event:Ev2", NOW),
    ]


def test_the_same_key_delivered_at_once_is_taken_by_one(engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(lambda _: first_time(engine, "view:V1:h1", NOW), range(16)))
    assert taken.count(True) == 1 and taken.count(False) == 15
