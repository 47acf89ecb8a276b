"""What decisions and views read back from the audit log (it is written through `storage.audit`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from storage.audit import AuditEntry


class AuditReads:
    """What decisions read back from the audit log (it is written through `storage.audit`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def payloads(self, action: str, sha256: str) -> list[dict[str, Any]]:
        rows = self.session.exec(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.artifact_sha256 == sha256)
        ).all()
        return [entry.payload_dict() for entry in rows]

    def newest(self, *, goal_id: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """The newest entries (of one goal, or all), newest first."""
        query = select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(limit)
        if goal_id:
            query = query.where(AuditEntry.goal_id == goal_id)
        return list(self.session.exec(query).all())

    def last_seq(self, goal_id: str) -> int | None:
        return self.session.exec(select(func.max(AuditEntry.seq)).where(AuditEntry.goal_id == goal_id)).one()

    def of_goal(
        self, *, goal_id: str, actions: Sequence[str] | None = None, since: datetime | None = None
    ) -> list[AuditEntry]:
        """The goal's entries (of these actions, at or after `since`), oldest first."""
        query = select(AuditEntry).where(AuditEntry.goal_id == goal_id).order_by(col(AuditEntry.seq))
        if actions is not None:
            query = query.where(col(AuditEntry.action).in_(list(actions)))
        if since is not None:
            query = query.where(col(AuditEntry.at) >= since)
        return list(self.session.exec(query).all())

    def newest_of(self, *, goal_id: str, actions: Sequence[str]) -> AuditEntry | None:
        """The goal's newest entry of these actions."""
        return self.session.exec(
            select(AuditEntry)
            .where(AuditEntry.goal_id == goal_id, col(AuditEntry.action).in_(list(actions)))
            .order_by(col(AuditEntry.seq).desc())
            .limit(1)
        ).first()

    def recent_for(self, *, actor: str, goal_ids: Sequence[str], limit: int) -> list[AuditEntry]:
        """The newest entries this person wrote or that concern these goals, newest first."""
        return list(
            self.session.exec(
                select(AuditEntry)
                .where(or_(col(AuditEntry.actor) == actor, col(AuditEntry.goal_id).in_(list(goal_ids))))
                .order_by(col(AuditEntry.seq).desc())
                .limit(limit)
            ).all()
        )

    def head_seq(self) -> int | None:
        """The sequence number of the newest entry, None on an empty log."""
        return self.session.exec(select(func.max(AuditEntry.seq))).one()
