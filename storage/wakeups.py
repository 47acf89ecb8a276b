"""PostgreSQL LISTEN/NOTIFY: wake the processes that share a queue when work is added to it.

A writer calls `notify` in the transaction that adds the work; PostgreSQL delivers the
notification when that transaction commits (never for one rolled back). Every process that shares
the queue holds one connection of its own that LISTENs (`listen`), so an idle worker starts on new
work at once instead of polling for it. The payload is the writer's schema: deployments (or test
schemas) on one server share a channel name, and a listener only wakes for its own schema.

A notification is a hint, not a record: one sent while a listener's connection is down is lost,
so every consumer keeps a slow poll as well. On SQLite these helpers do nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

INBOX = "orch_inbox"  # a request was appended to the Slack inbox (storage.inbox)
JOBS = "orch_jobs"  # an agent job was queued (bot.jobs.queue)
_NOTIFY = text("SELECT pg_notify(:channel, current_schema())")


def notify(conn: Any, channel: str) -> None:
    """Announce new work on `channel` in the transaction of `conn` (a Connection or a Session)."""
    dialect = conn.get_bind().dialect if hasattr(conn, "get_bind") else conn.dialect
    if dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"channel": channel})


async def listen(
    url: URL, channel: str, wake: Callable[[], None], *, up: Callable[[bool], None], retry: float = 1.0
) -> None:
    """LISTEN on `channel` and call `wake()` for each notification of this schema, until cancelled.

    `up(True)` once listening (and `wake()` then too, for what was added before), `up(False)` when the
    connection is lost; it is opened again after `retry` seconds. The connection is psycopg's
    asynchronous one, so waiting on it never blocks the event loop.
    """
    import psycopg
    from psycopg import sql

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                found = await (await conn.execute("SELECT current_schema()")).fetchone()
                schema = found[0] if found else None
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                up(True)
                wake()
                async for note in conn.notifies():
                    if note.payload == schema:
                        wake()
        except Exception as exc:  # the consumer polls meanwhile
            log.warning("not listening on %s (%s); trying again in %.0f s", channel, exc, retry)
        finally:
            up(False)
        await asyncio.sleep(retry)
