"""PostgreSQL advisory locks, namespaced per schema, for work several replicas share.

Two-key locks `(namespace, id)`: the namespace is derived from the current schema, so separate
deployments (or test schemas) on one server never contend, and ids of different tables are kept
apart by using a different namespace offset per use. On SQLite there is one process (or one
machine with file locks elsewhere), and these helpers grant every request.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

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
