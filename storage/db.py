"""Engine and transactions for SQLite and PostgreSQL with the same code.

SQLite needs care: pysqlite opens no transaction for a SELECT, so a read-then-write done by two
threads silently loses one update. We take pysqlite's implicit transaction handling away and
begin every transaction with BEGIN IMMEDIATE, which takes the write lock up front; WAL keeps
readers unblocked and busy_timeout makes writers of other processes queue instead of failing.
Within one process, the writes to a SQLite file go through its one writer (storage.writer): the
units of work take turns on one connection, each in a savepoint, and commit in batches.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session, create_engine

from storage.writer import writer_for

READ_ONLY = "orch_read_only"  # the connection execution option set by `read_session`
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON")


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


_T = TypeVar("_T")


async def from_loop(engine: Engine, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Call `fn` (which reads or writes through `engine`) from a coroutine.

    On SQLite it runs right there, on the loop: the database is a file this process reads and its
    one writer commits in batches, while a hop to a thread and back waits for the GIL behind every
    busy thread of the process (measured: with the outbox's own bookkeeping on the loop, 50 goals
    approved at once finished 3.5× slower than one instead of 4.3×). On PostgreSQL a round trip to
    the server is never made on the loop: it runs in a thread."""
    if engine.dialect.name != "postgresql":
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build an engine; for a file SQLite URL the parent folder is created."""
    if is_sqlite(url):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _install_sqlite_hooks(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_recycle=RECYCLE_SECONDS)
    _ping_after_idle(engine)
    return engine


# A pooled PostgreSQL connection is checked with a round trip only when it sat unused this long
# (a server restart or an idle timeout may have closed it meanwhile); one in steady use is not:
# `pool_pre_ping`'s `SELECT 1` on every checkout was an eighth of a busy worker's time. A connection
# that breaks in use is invalidated by SQLAlchemy and replaced at its next checkout.
PING_AFTER_IDLE_SECONDS = 10.0
RECYCLE_SECONDS = 1800  # and none is kept longer than this, whatever the server's timeouts


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()  # the ping's own transaction, so the caller's begins clean
        except Exception as exc:
            # The pool discards this connection and checks out another (SQLAlchemy's documented
            # pessimistic disconnect handling).
            raise DisconnectionError(
                f"a pooled connection idle for {time.monotonic() - since:.0f} s is gone"
            ) from exc


_IDLE_SINCE = "orch_idle_since"


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        for pragma in SQLITE_PRAGMAS:
            dbapi_conn.execute(f"PRAGMA {pragma}")

    # Savepoints (one per unit of work in the writer's batches, storage.writer) straight on the
    # driver too: through SQLAlchemy each SAVEPOINT and RELEASE was compiled anew, as much as the
    # rest of a small unit of work.
    dialect = engine.dialect

    def do_savepoint(connection: Any, name: str) -> None:
        _on_driver(connection, f'SAVEPOINT "{name}"')

    def do_release_savepoint(connection: Any, name: str) -> None:
        _on_driver(connection, f'RELEASE SAVEPOINT "{name}"')

    def do_rollback_to_savepoint(connection: Any, name: str) -> None:
        # After "database or disk is full" (or an I/O error) SQLite has rolled the whole transaction
        # back itself: the savepoint is gone with it, and that error, not "no such savepoint", is
        # the one the caller must see (the writer fails the rest of the batch).
        if not connection.connection.driver_connection.in_transaction:
            return
        _on_driver(connection, f'ROLLBACK TO SAVEPOINT "{name}"')

    dialect.do_savepoint = do_savepoint  # type: ignore[method-assign]
    dialect.do_release_savepoint = do_release_savepoint  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = do_rollback_to_savepoint  # type: ignore[method-assign]

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A `read_session` begins a deferred transaction: it reads a snapshot and never takes the write lock.
        statement = "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        # Straight on the driver: through `exec_driver_sql` the statement cost a quarter of an empty
        # transaction. Its errors ("database is locked") are still raised as SQLAlchemy's.
        _on_driver(conn, statement)


def _on_driver(conn: Any, statement: str) -> None:
    try:
        conn.connection.driver_connection.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    On a SQLite file the unit goes through the database's one writer (storage.writer): it runs in
    a savepoint of the writer's batch, which holds the write lock (BEGIN IMMEDIATE), and the block
    returns once the batch has committed. On PostgreSQL, callers that read and then write a row
    lock it with `SELECT … FOR UPDATE` (`with_for_update()`).
    """
    writer = writer_for(engine)
    if writer is None:
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
        return
    with (
        writer.unit() as conn,
        Session(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint") as session,
    ):
        try:
            yield session
            session.commit()  # releases this unit's savepoint; the writer commits the batch
        except BaseException:
            session.rollback()  # back to this unit's savepoint; the batch's other units stay
            raise


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for Core statements, through the database's writer on a SQLite file."""
    writer = writer_for(engine)
    if writer is None:
        with engine.begin() as conn:
            yield conn
        return
    with writer.unit() as conn, conn.begin_nested():
        yield conn


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads only; it never commits.

    On SQLite it begins with a plain (deferred) BEGIN, so a periodic scan neither waits for nor
    holds the write lock that `transaction` takes; WAL gives it a consistent snapshot. On
    PostgreSQL it is an ordinary read.
    """
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn, Session(bind=conn) as session:
        yield session


def ping(engine: Engine) -> None:
    """Open a connection and run the smallest query; raises when the database cannot be reached."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
