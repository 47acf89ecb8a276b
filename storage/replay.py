"""Request bodies the front door has already taken, remembered for the replay window.

Slack never retries a slash command or an interaction, so the same signed body arriving twice is
a replay: the first one counts, the others are refused. What is remembered is the sha256 of the
body, which also catches a body re-signed with a fresh timestamp (the signature changes, the body
and its trigger_id do not). It lives where the inbox lives (a sibling SQLite file, or the main
PostgreSQL database), so a web process and its worker, or several web replicas, share it; rows older
than the window are dropped as new ones come in, so the table stays small.
"""

from __future__ import annotations

import hashlib
import threading
import time

from sqlalchemy import Column, Float, Index, String, Table, delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.inbox import inbox_url, metadata

# A signed request is accepted while its timestamp is within 5 minutes of now, either side: the
# same bytes can come back for up to 10 minutes after they were first seen.
WINDOW_SECONDS = 600.0
PRUNE_EVERY = 200  # requests between two deletions of expired rows

seen_table = Table(
    "slack_seen_requests",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("seen_at", Float, nullable=False),
    Index("ix_slack_seen_requests_seen_at", "seen_at"),
)


class SeenRequests:
    """`first_time(body)` is True once per body within the window."""

    def __init__(self, engine: Engine, window: float = WINDOW_SECONDS) -> None:
        self.engine = engine
        self.window = window
        self._count = 0
        self._lock = threading.Lock()
        metadata.create_all(engine, tables=[seen_table])  # the main database has it from its migrations

    @classmethod
    def open(cls, database_url: str, main: Engine) -> SeenRequests:
        """Next to the inbox; on an in-memory SQLite database (tests), in the main one."""
        try:
            url = inbox_url(database_url)
        except ValueError:
            return cls(main)
        if url == database_url:
            return cls(main)
        return cls(make_engine(url))

    def first_time(self, body: bytes, *, now: float | None = None) -> bool:
        digest = hashlib.sha256(body).hexdigest()
        at = time.time() if now is None else now
        with self._lock:
            self._count += 1
            prune = self._count % PRUNE_EVERY == 1
        try:
            with self.engine.begin() as conn:
                if prune:
                    conn.execute(delete(seen_table).where(seen_table.c.seen_at < at - self.window))
                conn.execute(insert(seen_table), {"digest": digest, "seen_at": at})
        except IntegrityError:
            return self._expired_then_taken(digest, at)
        return True

    def _expired_then_taken(self, digest: str, at: float) -> bool:
        """A digest older than the window is forgotten: take the body as new (it cannot be signed
        validly any more anyway, so this only matters for a clock far off)."""
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(seen_table).where(
                    seen_table.c.digest == digest, seen_table.c.seen_at < at - self.window
                )
            ).rowcount
            if not gone:
                return False
            conn.execute(insert(seen_table), {"digest": digest, "seen_at": at})
        return True
