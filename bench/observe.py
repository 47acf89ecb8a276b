"""What the product did, read from its SQLite database (read-only, next to the running bot).

The outbox records when each effect was done, so "card posted" or "PRD posted" has a timestamp
without asking Slack; the sandbox's state confirms the messages exist.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def epoch(value: str | None) -> float | None:
    """A stored naive-UTC timestamp as seconds since the epoch."""
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


@dataclass
class Observer:
    db_path: Path

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._conn() as conn:
            return list(conn.execute(sql, args).fetchall())

    def scalar(self, sql: str, *args: Any) -> Any:
        rows = self.rows(sql, *args)
        return rows[0][0] if rows else None

    def goals_by_tag(self, tag: str) -> dict[str, sqlite3.Row]:
        """Goals whose brief carries `[<tag>-<n>]`, keyed by "start-<n>" as the load generator names them."""
        out = {}
        for row in self.rows(
            "SELECT id, brief, created_at, channel_id, thread_ts FROM goals WHERE brief LIKE ?", f"%[{tag}-%"
        ):
            n = row["brief"].rsplit(f"[{tag}-", 1)[1].split("]", 1)[0]
            out[f"start-{n}"] = row
        return out

    def posted_artifacts(self, phase: str) -> list[sqlite3.Row]:
        """Artifacts of `phase` shown in Slack (their post effect done), with their goal's channel,
        thread and brief, and when they were posted."""
        return self.rows(
            "SELECT a.id, a.goal_id, a.phase, a.version, a.task_id, a.sha256, a.message_ts, g.channel_id, "
            "g.thread_ts, g.brief, g.created_at, e.done_at AS posted_at FROM artifacts a "
            "JOIN goals g ON g.id = a.goal_id "
            "JOIN effects e ON e.kind = 'slack.post_artifact' AND e.status = 'done' "
            "AND json_extract(e.payload, '$.artifact_id') = a.id "
            "WHERE a.phase = ? AND a.message_ts IS NOT NULL AND e.done_at IS NOT NULL",
            phase,
        )

    def pending_work(self) -> dict[str, int]:
        """Effects not done yet, and agent jobs queued or running (0 everywhere = quiet)."""
        out = {
            f"effect:{r[0]}": r[1]
            for r in self.rows("SELECT kind, count(*) FROM effects WHERE status = 'pending' GROUP BY kind")
        }
        with contextlib.suppress(sqlite3.OperationalError):  # no jobs table in older versions of the product
            out.update(
                {
                    f"job:{r[0]}": r[1]
                    for r in self.rows(
                        "SELECT kind, count(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY kind"
                    )
                }
            )
        return out

    def failed_effects(self) -> list[sqlite3.Row]:
        return self.rows("SELECT key, kind, last_error FROM effects WHERE status = 'failed'")


def wait_for(check: Callable[[], T | None], *, timeout: float, interval: float = 0.05, what: str = "") -> T:
    """Poll `check` until it returns something truthy (bounded); the bench waits on other processes."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(interval)
