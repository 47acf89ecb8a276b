"""How an append is written: in the caller's transaction, stored exactly as SQLAlchemy stores the
same values, refused with SQLAlchemy's own errors. Real SQLite and, when ORCH_TEST_POSTGRES_URL is
set, real PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from storage.audit import AuditEntry, append_audit, entry_hash, tail, verify_chain
from storage.db import make_engine, transaction
from tests.support.databases import audit_only

T0 = datetime(2024, 5, 1, 11, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
TABLE = AuditEntry.__table__  # type: ignore[attr-defined]


def _prepare(engine: Engine) -> Engine:
    audit_only(engine)
    return engine


def _append(session: Session, i: int, **extra: Any) -> AuditEntry:
    return append_audit(
        session,
        actor=f"U{i:04d}",
        action="artifact.approved",
        at=T0 + timedelta(seconds=i),
        goal_id="G-0001",
        phase="prd",
        payload={"i": i, **extra},
    )


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Every row as the database holds it, `at` as text, in chain order."""
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(text("SELECT *, CAST(at AS TEXT) FROM audit_log ORDER BY seq"))
        ]


def test_an_entry_is_visible_to_queries_in_the_session_that_wrote_it(engine: Engine) -> None:
    with transaction(engine) as session:
        first = _append(session, 1)
        second = _append(session, 2, note="second")
        seen = session.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()  # type: ignore[arg-type]
        assert [(e.seq, e.hash) for e in seen] == [(1, first.hash), (2, second.hash)]
        assert tail(session, 1)[0].payload_dict() == {"i": 2, "note": "second"}
    # The returned entry is a detached copy of the row, with every field set.
    assert inspect(second).detached
    assert second.model_dump() == {**_row_dict(engine, 2)}
    assert second.prev_hash == first.hash and second.at == T0 + timedelta(seconds=2)


def _row_dict(engine: Engine, seq: int) -> dict[str, Any]:
    with Session(engine) as session:
        entry = session.get(AuditEntry, seq)
        assert entry is not None
        return entry.model_dump()


def test_an_append_stores_what_sqlalchemy_stores_for_the_same_values(engine: Engine) -> None:
    # Odd entries go in through SQLAlchemy Core with the table's own types (what the ORM wrote
    # before appends used the driver), even ones through `append_audit`: the same text comes out,
    # for a timestamp with and without microseconds.
    for at in (T0.replace(microsecond=0), T0):
        with Session(engine) as session:
            head = tail(session, 1)
        fields: dict[str, Any] = {
            "seq": len(_stored(engine)) + 1,
            "at": at,
            "actor": "U0001",
            "action": "artifact.approved",
            "goal_id": "G-0001",
            "phase": "prd",
            "artifact_sha256": None,
            "mode": None,
            "justification": None,
            "request_id": None,
            "run_id": None,
            "payload": '{"i":0}',
            "prev_hash": head[0].hash if head else "0" * 64,
        }
        with engine.begin() as conn:
            conn.execute(TABLE.insert(), [{**fields, "hash": entry_hash(fields)}])
        with transaction(engine) as session:
            append_audit(
                session,
                actor="U0001",
                action="artifact.approved",
                at=at,
                goal_id="G-0001",
                phase="prd",
                payload={"i": 0},
            )
    rows = _stored(engine)
    assert [row[0] for row in rows] == [1, 2, 3, 4]
    for core_row, appended_row in (rows[0:2], rows[2:4]):
        assert appended_row[1:-3] == core_row[1:-3]  # every column but seq and the two hashes
        assert appended_row[-1] == core_row[-1]  # `at`, as the database stored it
    assert rows[0][-1] != rows[2][-1]
    assert verify_chain(engine).ok


def test_a_forked_chain_is_refused_with_sqlalchemys_integrity_error(engine: Engine) -> None:
    # Plant a row whose hash is the one the next append will compute: the unique hash refuses it.
    head = "f" * 64
    upcoming = {
        "seq": 101,
        "at": T0 + timedelta(seconds=7),
        "actor": "U0007",
        "action": "artifact.approved",
        "goal_id": "G-0001",
        "phase": "prd",
        "artifact_sha256": None,
        "mode": None,
        "justification": None,
        "request_id": None,
        "run_id": None,
        "payload": '{"i":7}',
        "prev_hash": head,
    }
    planted = {**upcoming, "seq": 50, "prev_hash": "e" * 64, "hash": entry_hash(upcoming)}
    with engine.begin() as conn:
        conn.execute(TABLE.insert(), [planted, {**upcoming, "seq": 100, "hash": head}])
    with pytest.raises(IntegrityError), transaction(engine) as session:
        _append(session, 7)
    assert [row[0] for row in _stored(engine)] == [50, 100]


def test_appends_through_core_on_a_driver_with_named_parameters_write_the_same_chain(tmp_path: Path) -> None:
    # A driver whose parameter style is not positional takes the Core path: the same rows come out.
    positional = _prepare(make_engine(f"sqlite:///{tmp_path / 'positional.db'}"))
    named = _prepare(create_engine(f"sqlite:///{tmp_path / 'named.db'}", paramstyle="named"))
    assert named.dialect.paramstyle == "named"
    for eng in (positional, named):
        with Session(eng) as session:
            for i in range(3):
                _append(session, i, secret="hunter2-FAKE-0000fakeFAKE")
            session.commit()
    assert _stored(positional) == _stored(named)
    assert verify_chain(named).ok and verify_chain(named).checked == 3
    positional.dispose()
    named.dispose()


def test_a_locked_database_fails_with_sqlalchemys_operational_error(tmp_path: Path) -> None:
    path = tmp_path / "orch.db"
    engine = _prepare(make_engine(f"sqlite:///{path}"))
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _no_wait(dbapi_conn: Any, _record: Any) -> None:  # runs after the engine's own PRAGMAs
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"), transaction(engine) as session:
            _append(session, 1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with transaction(engine) as session:  # and the pooled connection is usable afterwards
        _append(session, 1)
    assert verify_chain(engine).checked == 1
    engine.dispose()


def test_timestamps_in_any_zone_are_stored_as_utc(engine: Engine) -> None:
    with transaction(engine) as session:
        entry = _append(session, 0)
    assert entry.at == T0.astimezone(UTC) and entry.at.tzinfo is UTC
    with Session(engine) as session:
        assert tail(session, 1)[0].at == T0
