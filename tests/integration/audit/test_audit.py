"""The audit log on real SQLite files and, when ORCH_TEST_POSTGRES_URL is set, real PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage.audit import (
    GENESIS_HASH,
    AuditEntry,
    append_audit,
    entry_hash,
    iter_entries,
    tail,
    verify_chain,
)
from storage.db import transaction
from tests.integration.audit.support import row as _row
from tests.integration.audit.support import tamper as _tamper

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def _append_many(engine: Engine, count: int, *, goal_id: str = "G-0001", start: int = 0) -> None:
    with transaction(engine) as session:
        for i in range(count):
            append_audit(
                session,
                actor=f"U{i:04d}",
                action="artifact.approved" if i % 2 else "goal.started",
                goal_id=goal_id,
                phase="prd",
                artifact_sha256=f"{i:064x}",
                request_id=f"req-{i}",
                payload={"i": i},
                at=T0 + timedelta(seconds=start + i),
            )


def test_appended_entries_form_an_intact_chain(engine: Engine) -> None:
    _append_many(engine, 10)
    result = verify_chain(engine)
    assert result.ok and result.checked == 10 and result.first_bad_seq is None
    with Session(engine) as session:
        entries = list(iter_entries(session))
    assert [e.seq for e in entries] == list(range(1, 11))
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(entries))


def test_an_empty_log_verifies(engine: Engine) -> None:
    assert verify_chain(engine).ok and verify_chain(engine).checked == 0


def test_timestamps_come_back_timezone_aware_in_utc(engine: Engine) -> None:
    paris = timezone(timedelta(hours=2))
    with transaction(engine) as session:
        append_audit(
            session, actor="bot", action="goal.started", at=datetime(2024, 5, 1, 11, 30, 0, 123456, paris)
        )
    with Session(engine) as session:
        (entry,) = tail(session, 1)
    assert entry.at == datetime(2024, 5, 1, 9, 30, 0, 123456, UTC)
    assert entry.at.utcoffset() == timedelta(0)
    assert verify_chain(engine).ok


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"), transaction(engine) as session:
        append_audit(session, actor="bot", action="goal.started", at=datetime(2024, 5, 1, 9, 30))


def test_payload_and_justification_are_stored_redacted(engine: Engine) -> None:
    with transaction(engine) as session:
        append_audit(
            session,
            actor="U0ADMIN",
            action="mode.elevated",
            mode="network",
            justification="needs the registry; token xoxb-0000000000-0000000000000-FAKEfakeFAKEfake",
            payload={"env": {"OPENAI_API_KEY": "sk-FAKEfake0000FAKEfake0000FAKEfake"}, "count": 2},
            at=T0,
        )
    with Session(engine) as session:
        (entry,) = tail(session, 1)
    assert "FAKEfake" not in entry.payload + (entry.justification or "")
    assert entry.payload_dict() == {"count": 2, "env": {"OPENAI_API_KEY": "[REDACTED:api_key]"}}
    assert entry.justification == "needs the registry; token xoxb-[REDACTED:slack_token]"
    assert verify_chain(engine).ok


def test_an_entry_rolls_back_with_the_state_change_it_records(engine: Engine) -> None:
    _append_many(engine, 2)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        append_audit(session, actor="bot", action="goal.started", at=T0)
        raise RuntimeError("the state change failed")
    _append_many(engine, 1)
    result = verify_chain(engine)
    assert result.ok and result.checked == 3


def test_iter_entries_filters_by_goal_and_time_and_tail_returns_the_latest(engine: Engine) -> None:
    _append_many(engine, 4, goal_id="G-0001")
    _append_many(engine, 3, goal_id="G-0002", start=10)
    with Session(engine) as session:
        assert [e.seq for e in iter_entries(session, goal_id="G-0002")] == [5, 6, 7]
        assert [e.seq for e in iter_entries(session, since=T0 + timedelta(seconds=3))] == [4, 5, 6, 7]
        assert [e.seq for e in iter_entries(session, since=T0 + timedelta(seconds=11))] == [6, 7]
        assert [e.seq for e in iter_entries(session, goal_id="G-0001", limit=2)] == [1, 2]
        assert [e.seq for e in tail(session, 3)] == [5, 6, 7]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"],
    ids=["update", "delete"],
)
def test_the_database_refuses_updates_and_deletes(engine: Engine, statement: str) -> None:
    _append_many(engine, 3)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert verify_chain(engine).ok


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_postgres_refuses_truncate(engine: Engine) -> None:
    _append_many(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE audit_log")
    assert verify_chain(engine).checked == 2


def test_verify_names_an_edited_entry(engine: Engine) -> None:
    _append_many(engine, 10)
    _tamper(engine, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5")
    result = verify_chain(engine)
    assert (result.ok, result.first_bad_seq, result.kind, result.checked) == (False, 5, "edited", 4)


def test_verify_names_an_entry_edited_and_rehashed_by_its_successor(engine: Engine) -> None:
    _append_many(engine, 10)
    forged = {**_row(engine, 5), "actor": "mallory"}
    _tamper(
        engine,
        "UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 5",
        params={"h": entry_hash(forged)},
    )
    result = verify_chain(engine)
    assert (result.first_bad_seq, result.kind) == (5, "edited")
    assert "entry 6 links to a different hash" in (result.reason or "")


def test_verify_names_a_deleted_entry(engine: Engine) -> None:
    _append_many(engine, 10)
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 5")
    result = verify_chain(engine)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 5, "deleted")


def test_verify_names_a_deleted_first_entry(engine: Engine) -> None:
    _append_many(engine, 3)
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 1")
    result = verify_chain(engine)
    assert (result.first_bad_seq, result.kind, result.checked) == (1, "deleted", 0)


def test_verify_names_an_inserted_entry(engine: Engine) -> None:
    _append_many(engine, 10)
    # A careful forger: room is made at 5 and the forged entry links and hashes correctly, so
    # only the renumbered entries after it give it away.
    fields = {**_row(engine, 5), "seq": 5, "actor": "mallory", "prev_hash": _row(engine, 4)["hash"]}
    fields["hash"] = entry_hash(fields)
    _tamper(
        engine,
        "UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 5",
        "UPDATE audit_log SET seq = -seq WHERE seq < 0",
    )
    with engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), [fields])  # type: ignore[attr-defined]
    result = verify_chain(engine)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 5, "inserted")


def test_verify_names_reordered_entries(engine: Engine) -> None:
    _append_many(engine, 10)
    _tamper(
        engine,
        "UPDATE audit_log SET seq = -1 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = 6",
        "UPDATE audit_log SET seq = 6 WHERE seq = -1",
    )
    result = verify_chain(engine)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 5, "reordered")


def test_verify_works_inside_a_session_and_across_batches(engine: Engine) -> None:
    _append_many(engine, 23)
    with transaction(engine) as session:
        result = verify_chain(session, batch_size=5)
    assert result.ok and result.checked == 23
    _tamper(engine, "UPDATE audit_log SET payload = '{}' WHERE seq = 21")
    assert verify_chain(engine, batch_size=5).first_bad_seq == 21


def test_concurrent_appends_keep_one_unbroken_chain(engine: Engine) -> None:
    threads, per_thread = 16, 25
    barrier = threading.Barrier(threads, timeout=30)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction(engine) as session:
                    append_audit(
                        session,
                        actor=f"U{n:02d}",
                        action="job.ran",
                        payload={"i": i},
                        at=T0 + timedelta(seconds=i),
                    )
        except BaseException as exc:  # handed to the main thread, which fails the test with it
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    deadline = time.monotonic() + 120
    for thread in pool:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in pool), "appends did not finish in time"
    assert errors == []
    result = verify_chain(engine)
    assert result.ok and result.checked == threads * per_thread
    with Session(engine) as session:
        seen = {(e.actor, e.payload_dict()["i"]) for e in iter_entries(session)}
    assert len(seen) == threads * per_thread


def test_verifying_a_long_chain_checks_every_entry(engine: Engine) -> None:
    # Rows are written directly (hashes computed the same way) to keep the test fast. How fast
    # verification is, is a bench figure (`python -m bench --only audit_verify`).
    n, prev, rows = 20_000, GENESIS_HASH, []
    for seq in range(1, n + 1):
        fields: dict[str, Any] = {
            "seq": seq,
            "at": T0 + timedelta(microseconds=seq),
            "actor": "bot",
            "action": "job.ran",
            "goal_id": "G-0001",
            "phase": None,
            "artifact_sha256": None,
            "mode": None,
            "justification": None,
            "request_id": None,
            "run_id": f"run-{seq}",
            "payload": "{}",
            "prev_hash": prev,
        }
        fields["hash"] = prev = entry_hash(fields)
        rows.append(fields)
    with engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), rows)  # type: ignore[attr-defined]
    result = verify_chain(engine)
    assert result.ok and result.checked == n


def test_the_hash_of_an_entry_is_stable() -> None:
    # Changing how entries are hashed would break every chain already written: this pins it.
    fields = {
        "seq": 1,
        "at": T0,
        "actor": "U0123",
        "action": "goal.started",
        "goal_id": "G-0001",
        "phase": None,
        "artifact_sha256": None,
        "mode": None,
        "justification": None,
        "request_id": "req-1",
        "run_id": None,
        "payload": '{"brief":"café"}',
        "prev_hash": GENESIS_HASH,
    }
    canonical = (
        '{"action":"goal.started","actor":"U0123","artifact_sha256":null,'
        '"at":"2024-05-01T09:30:00.000000+00:00","goal_id":"G-0001","justification":null,"mode":null,'
        '"payload":"{\\"brief\\":\\"café\\"}","phase":null,"prev_hash":"' + GENESIS_HASH + '",'
        '"request_id":"req-1","run_id":null,"seq":1}'
    )
    assert entry_hash(fields) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert entry_hash(fields) == "89fcd453ef342119e714d3c3708ddde194e9ba55ffd18d7999c40f594bd1ab16"
    assert entry_hash(fields) == entry_hash({**fields, "at": T0.astimezone(timezone(timedelta(hours=2)))})
