"""What decisions and views read back from the audit log (it is written through `storage.audit`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
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
