"""The outbox: a row per side effect, written in the state change's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from storage.models import Effect


class Effects:
    """The outbox: a row per side effect, recorded in the state change's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def exists(self, key: str) -> bool:
        return self.session.exec(select(Effect.id).where(Effect.key == key)).first() is not None

    def add(
        self,
        *,
        key: str,
        kind: str,
        goal_id: str | None,
        now: datetime,
        payload: dict[str, Any],
        not_before: datetime | None = None,
    ) -> bool:
        """Record an effect; a key already recorded is a no-op (False)."""
        if self.exists(key):
            return False
        self.session.add(
            Effect(
                key=key,
                kind=kind,
                goal_id=goal_id,
                payload=payload,
                created_at=now,
                not_before=not_before if not_before and not_before > now else None,
            )
        )
        return True

    def keys_with_prefix(self, prefix: str) -> frozenset[str]:
        return frozenset(
            self.session.exec(select(Effect.key).where(col(Effect.key).startswith(prefix))).all()
        )

    def count_with_prefix(self, prefix: str) -> int:
        return self.session.exec(
            select(func.count()).select_from(Effect).where(col(Effect.key).startswith(prefix))
        ).one()

    def newest(
        self, *, status: str | None = None, goal_id: str | None = None, limit: int = 50
    ) -> list[Effect]:
        """Newest first; `status` pending|done|failed, or `waiting` (pending after a failure)."""
        query = select(Effect).order_by(col(Effect.id).desc()).limit(limit)
        if status == "waiting":
            query = query.where(Effect.status == "pending", col(Effect.failing_since).is_not(None))
        elif status:
            query = query.where(Effect.status == status)
        if goal_id:
            query = query.where(Effect.goal_id == goal_id)
        return list(self.session.exec(query).all())

    def failing_for_goal(self, goal_id: str) -> list[Effect]:
        """The goal's failed effects and those waiting for their next attempt, oldest first."""
        return list(
            self.session.exec(
                select(Effect)
                .where(Effect.goal_id == goal_id)
                .where(
                    or_(
                        col(Effect.status) == "failed",
                        and_(col(Effect.status) == "pending", col(Effect.failing_since).is_not(None)),
                    )
                )
                .order_by(col(Effect.id))
            ).all()
        )
