"""One writer per SQLite database: units of work take turns on one connection and commit in batches.

Each test makes a batch deterministically: a first unit holds the writer's connection until the
others are queued behind it (the writer's queue is observed, never slept on).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from storage.db import make_engine, read_session, transaction, write_connection
from storage.writer import Writer, writer_for

WAIT = 10.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with write_connection(engine) as conn:
        conn.execute(text("CREATE TABLE t (name TEXT PRIMARY KEY)"))
    writer = writer_for(engine)
    assert writer is not None
    writer.max_seconds = 60.0  # the tests decide when a batch ends, not the clock
    yield engine
    engine.dispose()


def _names(engine: Engine) -> set[str]:
    with read_session(engine) as session:
        return {row[0] for row in session.execute(text("SELECT name FROM t"))}


def _queued(writer: Writer, n: int) -> None:
    """Wait (bounded) until `n` units wait for the writer's connection."""
    done = threading.Event()

    def check() -> None:
        while not done.is_set():
            with writer._lock:
                if len(writer._turns) >= n:
                    done.set()
                    return
            done.wait(0.001)

    checker = threading.Thread(target=check)
    checker.start()
    checker.join(WAIT)
    done.set()
    with writer._lock:
        assert len(writer._turns) >= n, "the units did not queue for the writer"


class _Unit(threading.Thread):
    """A thread that runs one `transaction` inserting `name`, optionally running `inside` first."""

    def __init__(self, engine: Engine, name: str, inside: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.engine, self.unit_name, self.inside = engine, name, inside
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction(self.engine) as session:
                session.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": self.unit_name})
                if self.inside is not None:
                    self.inside()
        except BaseException as exc:
            self.error = exc


def _held(engine: Engine, name: str) -> tuple[_Unit, threading.Event, threading.Event]:
    """A unit that, once inside the writer, says so and waits to be let go."""
    entered, let_go = threading.Event(), threading.Event()

    def inside() -> None:
        entered.set()
        assert let_go.wait(WAIT)

    unit = _Unit(engine, name, inside)
    unit.start()
    assert entered.wait(WAIT)
    return unit, entered, let_go


def test_units_queued_behind_one_another_commit_as_one_batch(engine: Engine) -> None:
    writer = writer_for(engine)
    assert writer is not None
    batches = writer.batches
    first, _, let_go = _held(engine, "a")
    others = [_Unit(engine, name) for name in ("b", "c", "d")]
    for unit in others:
        unit.start()
    _queued(writer, 3)
    let_go.set()
    for unit in (first, *others):
        unit.join(WAIT)
        assert unit.error is None
    assert _names(engine) == {"a", "b", "c", "d"}
    assert writer.batches == batches + 1


def test_a_unit_that_fails_is_rolled_back_alone_and_its_caller_gets_its_error(engine: Engine) -> None:
    writer = writer_for(engine)
    assert writer is not None
    first, _, let_go = _held(engine, "a")

    def fail() -> None:
        raise ValueError("this unit is refused")

    failing = _Unit(engine, "b", fail)
    failing.start()
    _queued(writer, 1)
    last = _Unit(engine, "c")
    last.start()
    _queued(writer, 2)
    let_go.set()
    for unit in (first, failing, last):
        unit.join(WAIT)
    assert isinstance(failing.error, ValueError)
    assert first.error is None and last.error is None
    assert _names(engine) == {"a", "c"}


def test_no_unit_returns_before_its_batch_is_committed(engine: Engine) -> None:
    writer = writer_for(engine)
    assert writer is not None
    first = _Unit(engine, "a")
    # The second unit queues behind the first and holds the connection once it has it: the batch
    # (with the first unit in it) stays open, so the first unit's caller must still be waiting.
    holder, entered, let_go = None, threading.Event(), threading.Event()
    gate = threading.Event()

    def hold() -> None:
        entered.set()
        assert let_go.wait(WAIT)

    def first_inside() -> None:
        nonlocal holder
        holder = _Unit(engine, "b", hold)
        holder.start()
        _queued(writer, 1)
        gate.set()

    first.inside = first_inside
    first.start()
    assert gate.wait(WAIT) and entered.wait(WAIT)
    assert _names(engine) == set()  # "a" is in the open batch, not committed
    assert first.is_alive()  # so its caller has not been told it is done
    let_go.set()
    first.join(WAIT)
    assert holder is not None
    holder.join(WAIT)
    assert first.error is None and holder.error is None
    assert _names(engine) == {"a", "b"}


def test_a_batch_the_database_rolled_back_fails_every_unit_in_it(engine: Engine) -> None:
    writer = writer_for(engine)
    assert writer is not None
    first, _, let_go = _held(engine, "a")

    def lose_the_transaction() -> None:
        # What SQLite does on a full disk or an I/O error: the whole transaction is rolled back.
        raw = writer._batch.conn.connection.driver_connection  # type: ignore[union-attr]
        raw.execute("ROLLBACK")

    last = _Unit(engine, "b", lose_the_transaction)
    last.start()
    _queued(writer, 1)
    let_go.set()
    for unit in (first, last):
        unit.join(WAIT)
    assert isinstance(first.error, OperationalError)
    assert last.error is not None
    assert _names(engine) == set()
    with transaction(engine) as session:  # the writer goes on with a new batch
        session.execute(text("INSERT INTO t (name) VALUES ('after')"))
    assert _names(engine) == {"after"}


def test_a_write_transaction_inside_another_on_one_thread_is_refused_at_once(engine: Engine) -> None:
    with transaction(engine) as session:
        session.execute(text("INSERT INTO t (name) VALUES ('outer')"))
        with pytest.raises(RuntimeError, match="inside another"), transaction(engine):
            pass
    assert _names(engine) == {"outer"}


def test_another_process_waits_for_the_batch_and_then_writes(engine: Engine, tmp_path: Path) -> None:
    """The write lock is SQLite's own: a connection outside the writer (another process) queues
    behind the batch with its busy timeout and writes once the batch has committed."""
    with transaction(engine) as session:
        session.execute(text("INSERT INTO t (name) VALUES ('ours')"))
    other = sqlite3.connect(tmp_path / "w.db", timeout=WAIT, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (name) VALUES ('theirs')")
        other.execute("COMMIT")
    finally:
        other.close()
    assert _names(engine) == {"ours", "theirs"}


def test_postgresql_and_in_memory_sqlite_have_no_writer() -> None:
    assert writer_for(make_engine("sqlite://")) is None
    assert writer_for(make_engine("postgresql://nobody@127.0.0.1:1/none")) is None
