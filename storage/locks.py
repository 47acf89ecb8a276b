"""PostgreSQL advisory locks, namespaced per schema, for work several replicas share.

Two-key locks `(namespace, id)`: the namespace is derived from the current schema, so separate
deployments (or test schemas) on one server never contend, and ids of different tables are kept
apart by using a different namespace offset per use. On SQLite there is one process (or one
machine with file locks elsewhere), and these helpers grant every request.

The scheduler's lock (`scheduler_lock`, for `bot.jobs.leader`) is held for as long as a process
leads rather than for a block: an advisory lock on a connection kept open on PostgreSQL, an
exclusive lock on a file beside the database on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from storage.db import is_sqlite

_NAMESPACES: dict[str, int] = {}
SCHEDULER = 0  # offsets added to the schema's namespace
EFFECTS = 1
REPOSITORIES = 2  # writes to one repository on the Git host (bot.forge.delivery)


class LockTimeout(Exception):
    """The advisory lock was not free within the time given."""


def key_of(name: str) -> int:
    """A 31-bit lock key for a name (a repository's owner/name)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


@contextmanager
def hold(engine: Engine, offset: int, key: int, *, timeout: float) -> Iterator[None]:
    """Hold the advisory lock `(namespace + offset, key)` for the block, waiting up to `timeout`
    seconds for it (PostgreSQL; elsewhere it is granted at once and the caller locks a file).

    The wait is the server's own (`lock_timeout`), and the lock belongs to the session, so a process
    that dies while holding it lets it go when its connection drops."""
    if engine.dialect.name != "postgresql":
        yield
        return
    ns = lock_namespace(engine, offset)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        conn.execute(text(f"SET lock_timeout = {max(1, int(timeout * 1000))}"))
        try:
            conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": ns, "key": key})
        except OperationalError as exc:
            raise LockTimeout(f"advisory lock ({ns}, {key}) not free within {timeout:g}s") from exc
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": ns, "key": key})
    finally:
        conn.close()


def lock_namespace(engine: Engine, offset: int = 0) -> int:
    """A 31-bit number naming this deployment's schema (plus `offset`), for two-key advisory locks."""
    url = engine.url.render_as_string(hide_password=True)
    if url not in _NAMESPACES:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        _NAMESPACES[url] = zlib.crc32(f"orch:{schema}".encode()) & 0x3FFFFFFF
    return _NAMESPACES[url] + offset


@asynccontextmanager
async def claim_async(engine: Engine, offset: int, key: int) -> AsyncIterator[bool]:
    """Hold the advisory lock `(namespace + offset, key)` for the block if nobody else holds it.

    Yields False (and holds nothing) when another session has it; the lock belongs to a session,
    so if this process dies PostgreSQL releases it when the connection drops. The connection is
    checked out, locked, unlocked and given back in a worker thread, so a slow pool or server never
    stops the event loop (the outbox's lanes).

    A cancel while the lock is being taken or given back does not leak the session: the thread
    finishes its step, and the connection (with its lock) is released all the same.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    taking = asyncio.ensure_future(asyncio.to_thread(_acquire, engine, offset, key))
    try:
        conn, ns, got = await asyncio.shield(taking)
    except asyncio.CancelledError:
        taking.add_done_callback(lambda done: _release_when_taken(done, key))
        raise
    try:
        yield got
    finally:
        await asyncio.shield(asyncio.ensure_future(asyncio.to_thread(_release, conn, ns, key, got)))


def _acquire(engine: Engine, offset: int, key: int) -> tuple[Connection, int, bool]:
    ns = lock_namespace(engine, offset)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": ns, "key": key}).scalar_one()
        )
    except BaseException:
        conn.close()
        raise
    return conn, ns, got


def _release(conn: Connection, ns: int, key: int, got: bool) -> None:
    try:
        if got:
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": ns, "key": key})
    finally:
        conn.close()


def _release_when_taken(taking: asyncio.Future[tuple[Connection, int, bool]], key: int) -> None:
    if taking.cancelled() or taking.exception() is not None:
        return
    conn, ns, got = taking.result()
    threading.Thread(target=_release, args=(conn, ns, key, got), daemon=True).start()


# -- the scheduler's lock (bot.jobs.leader) ------------------------------------------------------


class FileLock:
    """An exclusive `fcntl` lock on a file: the kernel drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        import fcntl

        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def still_held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        import fcntl

        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class SessionAdvisoryLock:
    """A session-level `pg_try_advisory_lock((namespace + offset), 0)` on a connection kept open
    while it is held: PostgreSQL releases it when the session ends, however the process ends."""

    def __init__(self, engine: Engine, offset: int = SCHEDULER) -> None:
        self.engine = engine
        self.offset = offset
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return True
        ns = lock_namespace(self.engine, self.offset)
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:ns, 0)"), {"ns": ns}).scalar_one())
        except SQLAlchemyError:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """The lock lives as long as its session: check the session is still there."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(SQLAlchemyError):
            self._conn.execute(
                text("SELECT pg_advisory_unlock(:ns, 0)"), {"ns": lock_namespace(self.engine, self.offset)}
            )
            self._conn.close()
        self._conn = None


class AlwaysHeld:
    """An in-memory SQLite database lives in one process: that process leads."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def scheduler_lock(engine: Engine) -> FileLock | SessionAdvisoryLock | AlwaysHeld:
    """The lock whose holder runs the scheduler: an advisory lock on PostgreSQL, a file beside the
    SQLite database, and none to take for an in-memory database (one process)."""
    if not is_sqlite(engine):
        return SessionAdvisoryLock(engine, SCHEDULER)
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        return AlwaysHeld()
    return FileLock(Path(database).with_name(Path(database).name + ".scheduler.lock"))
