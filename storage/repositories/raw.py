"""Plain-row reads over a connection, for checks that walk whole tables (the audit log against the
state tables) without loading ORM objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from storage.audit import AuditEntry
from storage.models import Approval, Goal

_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
_GOALS = Goal.__table__  # type: ignore[attr-defined]
_APPROVALS = Approval.__table__  # type: ignore[attr-defined]

# (seq, action, goal id, phase, mode, artifact sha256, actor, payload as stored)
GoalEntry = tuple[int, str, str, str | None, str | None, str | None, str, str]


class StateRows:
    """The goals, approvals and goal audit entries as rows, read on the caller's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def has_state_tables(self) -> bool:
        """False on a database that holds only the audit log."""
        found = inspect(self.connection)
        return found.has_table("goals") and found.has_table("approvals")

    def goals(self) -> Iterator[Any]:
        """Every goal row, by id."""
        return iter(self.connection.execute(select(_GOALS).order_by(_GOALS.c.id)))

    def approvals(self) -> Iterator[Any]:
        """Every approval row, oldest first."""
        return iter(self.connection.execute(select(_APPROVALS).order_by(_APPROVALS.c.id)))

    def goal_entries(self) -> Iterator[GoalEntry]:
        """Every audit entry about a goal, in order, streamed in batches."""
        c = _AUDIT.c
        stmt = (
            select(c.seq, c.action, c.goal_id, c.phase, c.mode, c.artifact_sha256, c.actor, c.payload)
            .where(c.goal_id.is_not(None))
            .order_by(c.seq)
            .execution_options(yield_per=2000)
        )
        for row in self.connection.execute(stmt):
            yield tuple(row)  # type: ignore[misc]
