"""The Slack inbox: requests a web process has acknowledged and left to a worker process.

When `orch serve --role web` and `orch worker` run apart, the web process verifies a request,
runs its listener up to the `ack()`, appends the verified body here and only then answers Slack:
an acknowledged request is never only in memory. The worker reads the inbox in id order, runs
the same listener to its end, and records the id as done in the main database.

On SQLite the inbox is a file of its own next to the main database (`orch.db` → `orch.inbox.db`),
so that the web process is its only writer and never waits for the main database's write lock
while Slack waits for an answer; the worker only reads it (WAL: readers do not block the writer)
and prunes it now and then. On PostgreSQL both tables live in the main database.

On PostgreSQL several workers (on several machines) share one inbox: a worker claims rows with
`SELECT … FOR UPDATE SKIP LOCKED` and marks them claimed, renewing the claim while it runs them;
the claim of a worker that died ages past `CLAIM_LEASE_SECONDS` and another worker takes the row.
Requests of one goal (the same `goal_key`) run one after the other in id order, whichever worker
runs them: a row is claimed only when no earlier row of its key is still to do. Each append sends
a `NOTIFY` (delivered at commit) that wakes the waiting workers (storage.wakeups).
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url

from storage.db import SQLITE_PRAGMAS, is_sqlite, make_engine, write_connection
from storage.wakeups import INBOX, notify

metadata = MetaData()

# The table the web process appends to (the inbox database).
inbox_table = Table(
    "slack_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", Float, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("body", Text, nullable=False),
    # Requests of one goal run in id order (None: in no particular order); see the module's docstring.
    Column("goal_key", String(200), nullable=True),
    # PostgreSQL only: which worker runs the request, since when (renewed), and when it finished.
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", Float, nullable=True),
    Column("done_at", Float, nullable=True),
    Index(
        "ix_slack_inbox_undone",
        "id",
        postgresql_where=text("done_at IS NULL"),
        sqlite_where=text("done_at IS NULL"),
    ),
    Index(
        "ix_slack_inbox_undone_goal",
        "goal_key",
        "id",
        postgresql_where=text("done_at IS NULL"),
        sqlite_where=text("done_at IS NULL"),
    ),
    sqlite_autoincrement=True,  # ids are never reused, even after a prune
)

# What the worker has finished (the main database).
done_table = Table(
    "slack_inbox_done",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("done_at", Float, nullable=False),
)

_ITEM_COLUMNS = (
    inbox_table.c.id,
    inbox_table.c.received_at,
    inbox_table.c.content_type,
    inbox_table.c.body,
    inbox_table.c.goal_key,
)
# Marking done on PostgreSQL: the inbox row (what `claim` reads) and the done table in one
# statement (a data-modifying WITH runs whether or not the outer statement reads it).
_PG_MARK_DONE = text(
    "WITH marked AS (UPDATE slack_inbox SET done_at = :at WHERE id = ANY(CAST(:ids AS integer[])) AND done_at IS NULL) "
    "INSERT INTO slack_inbox_done (id, done_at) SELECT unnest(CAST(:ids AS integer[])), :at "
    "ON CONFLICT (id) DO NOTHING"
)
_SQLITE_MARK_DONE = sqlite_insert(done_table).on_conflict_do_nothing(index_elements=["id"])

KEEP_DONE_SECONDS = 24 * 3600  # a done request is kept a day (for `orch doctor`-style inspection)
# A claim not renewed for this long is a dead worker's: another worker runs the request again (the
# services are idempotent for a repeated delivery). Workers renew theirs every quarter of it.
CLAIM_LEASE_SECONDS = 60.0


@dataclass(frozen=True)
class InboxItem:
    id: int
    received_at: float
    content_type: str
    body: str
    goal_key: str | None = None


def inbox_url(database_url: str) -> str:
    """Where the inbox lives: a sibling SQLite file, or the same PostgreSQL database."""
    if not is_sqlite(database_url):
        return database_url
    url = make_url(database_url)
    if not url.database or url.database == ":memory:":
        raise ValueError("a web/worker split needs a file database (the two processes share it)")
    path = Path(url.database)
    return str(url.set(database=str(path.with_name(f"{path.stem}.inbox{path.suffix or '.db'}"))))


class Inbox:
    """Append (web process) and read (worker process) verified Slack requests."""

    def __init__(self, engine: Engine, main: Engine) -> None:
        self.engine = engine  # the inbox
        self.main = main  # where the worker records what it finished
        self._insert = insert(inbox_table)
        self._raw: sqlite3.Connection | None = None  # the web process's own connection (SQLite)
        self._raw_lock = threading.Lock()
        # A datagram to this socket wakes a waiting worker at once (it polls as well, more slowly).
        self.wake_path: str | None = None
        if is_sqlite(engine) and engine is not main and engine.url.database:
            self.wake_path = str(Path(engine.url.database).with_suffix(".wake"))
        self._waker: socket.socket | None = None
        if engine is not main:  # the sibling SQLite file; the main database has both from its migrations
            metadata.create_all(engine, tables=[inbox_table])
            _add_missing_columns(engine)

    @property
    def shared(self) -> bool:
        """Whether several workers can share this inbox (PostgreSQL: rows are claimed)."""
        return self.engine.dialect.name == "postgresql"

    @classmethod
    def open(cls, database_url: str, main: Engine) -> Inbox:
        url = inbox_url(database_url)
        engine = main if url == database_url else make_engine(url)
        return cls(engine, main)

    # -- the web process -------------------------------------------------------------------------

    def put(
        self, body: str, content_type: str, *, now: float | None = None, goal_key: str | None = None
    ) -> int:
        """Append one verified request; returns its id once it is committed.

        `goal_key` names what the request must run in order with (its goal, or its thread).

        It runs on the web process's request loop while Slack waits, so on SQLite it is one
        autocommitted INSERT on a connection of its own (~20 µs; through the pooled engine and a
        transaction it was ~200 µs).
        """
        received = time.time() if now is None else now
        if is_sqlite(self.engine) and self.engine is not self.main:
            with self._raw_lock:
                if self._raw is None:
                    self._raw = sqlite3.connect(
                        str(self.engine.url.database),
                        isolation_level=None,
                        check_same_thread=False,
                        timeout=30,
                    )
                    for pragma in SQLITE_PRAGMAS:  # the same settings as every engine's connections
                        self._raw.execute(f"PRAGMA {pragma}")
                cursor = self._raw.execute(
                    "INSERT INTO slack_inbox (received_at, content_type, body, goal_key) VALUES (?, ?, ?, ?)",
                    (received, content_type, body, goal_key),
                )
                assert cursor.lastrowid is not None
            self.wake()
            return int(cursor.lastrowid)
        with self.engine.begin() as conn:
            result = conn.execute(
                self._insert,
                {"received_at": received, "content_type": content_type, "body": body, "goal_key": goal_key},
            )
            key = result.inserted_primary_key
            notify(conn, INBOX)  # PostgreSQL: wakes the workers when this commits
        assert key is not None
        self.wake()
        return int(key[0])

    def wake(self) -> None:
        """Tell a worker listening on this machine that there is something new (best effort)."""
        if self.wake_path is None:
            return
        try:
            if self._waker is None:
                self._waker = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._waker.setblocking(False)
            self._waker.sendto(b"!", self.wake_path)
        except OSError:  # no worker listening, or its queue is full: it will poll
            pass

    # -- the worker process ----------------------------------------------------------------------

    def pending(self, after: int, limit: int = 200) -> tuple[list[InboxItem], int]:
        """Requests with an id above `after` that are not done, oldest first, and the last id looked at."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(inbox_table).where(inbox_table.c.id > after).order_by(inbox_table.c.id).limit(limit)
            ).all()
        if not rows:
            return [], after
        done = self.done_among(r.id for r in rows)
        items = [
            InboxItem(r.id, r.received_at, r.content_type, r.body, r.goal_key)
            for r in rows
            if r.id not in done
        ]
        return items, int(rows[-1].id)

    def claim(
        self,
        worker: str,
        limit: int,
        *,
        now: float | None = None,
        lease: float = CLAIM_LEASE_SECONDS,
        done: Iterable[int] = (),
    ) -> list[InboxItem]:
        """Claim up to `limit` requests for `worker` (PostgreSQL), oldest first.

        A row is taken when it is not done, nobody holds a live claim on it, and no earlier row of
        its goal key is still to do (claimed or not): so a goal's requests run one at a time, in
        order, across workers. Rows another worker is claiming at this moment are skipped, not
        waited for; the earlier-row check reads them anyway, so ordering holds during that race.

        `done` are requests the worker finished since its last claim: they are marked done in the
        same transaction, before the rows are chosen (so the next request of a goal just finished
        can be taken at once), and the two cost one commit instead of one each.
        """
        finished = list(done)
        if limit <= 0 and not finished:
            return []
        at = time.time() if now is None else now
        row, earlier = inbox_table.alias("i"), inbox_table.alias("e")
        before = exists().where(
            earlier.c.goal_key == row.c.goal_key, earlier.c.id < row.c.id, earlier.c.done_at.is_(None)
        )
        # One statement: the oldest rows free to take, locked (others' locked ones skipped), and
        # marked ours; RETURNING gives them back in no particular order, so they are sorted here.
        chosen = (
            select(row.c.id)
            .where(
                row.c.done_at.is_(None),
                or_(row.c.claimed_at.is_(None), row.c.claimed_at < at - lease),
                or_(row.c.goal_key.is_(None), ~before),
            )
            .order_by(row.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=row)
            .scalar_subquery()
        )
        query = (
            update(inbox_table)
            .where(inbox_table.c.id.in_(chosen))
            .values(claimed_by=worker, claimed_at=at)
            .returning(*_ITEM_COLUMNS)
        )
        with self.engine.begin() as conn:
            if finished:
                self._mark_done(conn, finished, at)
            rows = conn.execute(query).all() if limit > 0 else []
        return sorted((InboxItem(*r) for r in rows), key=lambda item: item.id)

    def renew(self, worker: str, ids: Iterable[int], *, now: float | None = None) -> None:
        """Renew `worker`'s claims on these requests (it still runs them)."""
        wanted = list(ids)
        if not wanted:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(inbox_table)
                .where(
                    inbox_table.c.id.in_(wanted),
                    inbox_table.c.claimed_by == worker,
                    inbox_table.c.done_at.is_(None),
                )
                .values(claimed_at=time.time() if now is None else now)
            )

    def release(self, worker: str, ids: Iterable[int]) -> None:
        """Give back `worker`'s claims on requests it did not finish (it is stopping)."""
        wanted = list(ids)
        if not wanted:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(inbox_table)
                .where(inbox_table.c.id.in_(wanted), inbox_table.c.claimed_by == worker)
                .values(claimed_by=None, claimed_at=None)
            )

    def done_among(self, ids: Iterable[int]) -> set[int]:
        wanted = list(ids)
        if not wanted:
            return set()
        with self.main.connect() as conn:
            return set(conn.execute(select(done_table.c.id).where(done_table.c.id.in_(wanted))).scalars())

    def mark_done(self, item_id: int, *, now: float | None = None) -> None:
        self.mark_done_many([item_id], now=now)

    def mark_done_many(self, ids: Iterable[int], *, now: float | None = None) -> None:
        """Record these requests as done, in one transaction (twice is once)."""
        wanted = sorted(set(ids))
        if not wanted:
            return
        at = time.time() if now is None else now
        with write_connection(self.main) as conn:
            self._mark_done(conn, wanted, at)

    def _mark_done(self, conn: Connection, ids: list[int], at: float) -> None:
        if conn.dialect.name == "postgresql":
            # One round trip: the rows of the inbox (what `claim` reads) and the done table.
            conn.execute(_PG_MARK_DONE, {"ids": ids, "at": at})
            return
        conn.execute(_SQLITE_MARK_DONE, [{"id": i, "done_at": at} for i in ids])
        if self.engine is self.main:  # one database: the row says it too
            conn.execute(
                update(inbox_table)
                .where(inbox_table.c.id.in_(ids), inbox_table.c.done_at.is_(None))
                .values(done_at=at)
            )

    def resume_point(self) -> int:
        """The id after which a starting worker looks: below the oldest request not done yet."""
        with self.main.connect() as conn:
            newest_done = conn.execute(select(func.max(done_table.c.id))).scalar()
        if newest_done is None:
            return 0
        # A worker finishes requests out of order (several run at once), so look back over a window
        # for ones a crash left unfinished; done ones in it are filtered out by `pending`.
        return max(0, int(newest_done) - 10_000)

    def prune(self, *, now: float | None = None) -> int:
        """Drop requests done more than a day ago (from both tables); returns how many."""
        cutoff = (time.time() if now is None else now) - KEEP_DONE_SECONDS
        with self.main.connect() as conn:
            old = list(conn.execute(select(done_table.c.id).where(done_table.c.done_at < cutoff)).scalars())
        if not old:
            return 0
        for start in range(0, len(old), 500):
            chunk = old[start : start + 500]
            with self.engine.begin() as conn:
                conn.execute(delete(inbox_table).where(inbox_table.c.id.in_(chunk)))
        # Keep the newest done id: `resume_point` starts from it.
        keep = max(old)
        with write_connection(self.main) as conn:
            conn.execute(delete(done_table).where(done_table.c.id.in_(old), done_table.c.id != keep))
        return len(old)

    def counts(self) -> tuple[int, int]:
        """(requests in the inbox, of which done), for `orch doctor`."""
        with self.engine.connect() as conn:
            ids = list(conn.execute(select(inbox_table.c.id)).scalars())
        return len(ids), len(self.done_among(ids))


def _add_missing_columns(engine: Engine) -> None:
    """A sibling SQLite inbox made by an earlier version: add the columns it lacks (it has no
    migrations of its own). Two processes may race here; the loser finds the column there."""
    have = {c["name"] for c in inspect(engine).get_columns("slack_inbox")}
    for column in inbox_table.columns:
        if column.name in have:
            continue
        kind = column.type.compile(dialect=engine.dialect)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE slack_inbox ADD COLUMN {column.name} {kind}")
        except Exception:
            if column.name not in {c["name"] for c in inspect(engine).get_columns("slack_inbox")}:
                raise
