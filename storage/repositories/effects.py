"""The outbox: a row per side effect, written in the state change's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_
from sqlmodel import Session, col, select

from storage.models import Effect, Goal


class Effects:
    """The outbox: a row per side effect, recorded in the state change's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def exists(self, key: str) -> bool:
        return self.session.exec(select(Effect.id).where(Effect.key == key)).first() is not None

    def by_key(self, key: str) -> Effect | None:
        """The effect recorded under `key` (an effect names another by its key)."""
        return self.session.exec(select(Effect).where(Effect.key == key)).first()

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

    def last_id(self, goal_id: str) -> int | None:
        """The id of the goal's last effect recorded so far (this transaction's included)."""
        self.session.flush()
        return self.session.exec(select(func.max(Effect.id)).where(Effect.goal_id == goal_id)).one()

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

    def get(self, effect_id: int) -> Effect | None:
        return self.session.get(Effect, effect_id)

    def newest_with_prefix(self, *, prefix: str) -> Effect | None:
        return self.session.exec(
            select(Effect).where(col(Effect.key).startswith(prefix)).order_by(col(Effect.id).desc())
        ).first()

    def unsettled_repo_keys(self, *, goal_id: str) -> list[str]:
        """The keys of the goal's repository effects not landed yet (pending or failed), delivery to
        the Git host left out."""
        return list(
            self.session.exec(
                select(Effect.key).where(
                    Effect.goal_id == goal_id,
                    col(Effect.kind).startswith("repo."),
                    Effect.kind != "repo.deliver",
                    col(Effect.status).in_(("pending", "failed")),
                )
            ).all()
        )

    def unlanded_repo_key_before(self, *, goal_id: str, before_id: int) -> str | None:
        """The key of a repository effect of the goal recorded before effect `before_id` that has
        not landed (pending or failed), if there is one."""
        return self.session.exec(
            select(Effect.key).where(
                Effect.goal_id == goal_id,
                col(Effect.kind).startswith("repo."),
                col(Effect.status).in_(("pending", "failed")),
                col(Effect.id) < before_id,
            )
        ).first()

    def repo_work_pending(self, *, goal_id: str) -> bool:
        """Whether a repository effect of the goal is still to run (delivery to the Git host left out)."""
        return (
            self.session.exec(
                select(Effect.id).where(
                    Effect.goal_id == goal_id,
                    Effect.status == "pending",
                    col(Effect.kind).startswith("repo."),
                    Effect.kind != "repo.deliver",
                )
            ).first()
            is not None
        )

    def unfinished_work_statuses(self, *, goal_id: str) -> set[str]:
        """The statuses (pending, failed) of the goal's effects other than messages that are not done:
        its commits, merges and agent work."""
        return set(
            self.session.exec(
                select(Effect.status).where(
                    Effect.goal_id == goal_id,
                    col(Effect.status).in_(("pending", "failed")),
                    col(Effect.kind).not_like("slack.%"),
                    col(Effect.kind).not_like("notify.%"),
                )
            ).all()
        )

    def repo_landed_after(self, *, goal_id: str, after: datetime) -> bool:
        """Whether one of the goal's repository effects was done after `after`."""
        return (
            self.session.exec(
                select(Effect.id).where(
                    Effect.goal_id == goal_id,
                    col(Effect.kind).startswith("repo."),
                    Effect.status == "done",
                    col(Effect.done_at) > after,
                )
            ).first()
            is not None
        )

    def needing_attention(self, *, cutoff: datetime, excluded_kinds: Sequence[str]) -> list[Effect]:
        """Failed effects, and those failing since before `cutoff`, of goals still open, oldest first."""
        return list(
            self.session.exec(
                select(Effect)
                .join(Goal, col(Goal.id) == col(Effect.goal_id))
                .where(col(Goal.state).not_in(("cancelled", "rejected")))
                .where(col(Effect.kind).not_in(list(excluded_kinds)))
                .where(
                    or_(
                        col(Effect.status) == "failed",
                        and_(col(Effect.status) == "pending", col(Effect.failing_since) <= cutoff),
                    )
                )
                .order_by(col(Effect.id))
            ).all()
        )

    def failed(self) -> list[Effect]:
        return list(
            self.session.exec(select(Effect).where(Effect.status == "failed").order_by(col(Effect.id))).all()
        )

    def failing_since_before(self, *, cutoff: datetime) -> list[Effect]:
        """Pending effects that have been failing since before `cutoff`, oldest first."""
        return list(
            self.session.exec(
                select(Effect)
                .where(Effect.status == "pending", col(Effect.failing_since) <= cutoff)
                .order_by(col(Effect.id))
            ).all()
        )

    def pending_of_goal(self, *, goal_id: str) -> list[Effect]:
        """The goal's pending effects, in the order they were recorded."""
        return list(
            self.session.exec(
                select(Effect)
                .where(Effect.goal_id == goal_id, Effect.status == "pending")
                .order_by(col(Effect.id))
            ).all()
        )

    def delete(self, *, key: str) -> None:
        """Remove the effect with this key (only a health probe's row is ever removed)."""
        self.session.execute(delete(Effect).where(col(Effect.key) == key))
