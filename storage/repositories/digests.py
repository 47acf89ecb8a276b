"""What the daily digest reads of one channel, and the digests already posted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.jobs_models import DigestRun, Job
from storage.models import Approval, Goal

# What the digest shows of a goal (the full rows carry JSON task lists it does not need).
_GOAL_COLUMNS = (
    col(Goal.id),
    col(Goal.title),
    col(Goal.phase),
    col(Goal.state),
    col(Goal.requester),
    col(Goal.approvers),
    col(Goal.updated_at),
)


class Digests:
    def __init__(self, session: Session) -> None:
        self.session = session

    def posted(self, key: str) -> bool:
        return self.session.exec(select(DigestRun.id).where(DigestRun.key == key)).first() is not None

    def last_scheduled(self, *, channel: str) -> datetime | None:
        """When the channel's last scheduled digest was sent."""
        return self.session.exec(
            select(DigestRun.sent_at)
            .where(DigestRun.channel == channel, DigestRun.kind == "scheduled")
            .order_by(col(DigestRun.sent_at).desc())
        ).first()

    def add(self, *, key: str, channel: str, kind: str, local_date: str | None, now: datetime) -> None:
        self.session.add(DigestRun(key=key, channel=channel, kind=kind, local_date=local_date, sent_at=now))

    def goals_of(self, *, channel: str) -> list[Any]:
        """The channel's goals by id, as rows of id, title, phase, state, requester, approvers and
        updated_at."""
        return list(
            self.session.connection()
            .execute(
                core_select(*_GOAL_COLUMNS).where(col(Goal.channel_id) == channel).order_by(col(Goal.id))
            )
            .all()
        )

    def jobs_of(self, *, channel: str, statuses: Sequence[str]) -> list[Job]:
        """The jobs of the channel's goals in these states."""
        ids = select(Goal.id).where(Goal.channel_id == channel)  # a subquery: no list of parameters
        return list(
            self.session.exec(
                select(Job).where(col(Job.goal_id).in_(ids), col(Job.status).in_(list(statuses)))
            ).all()
        )

    def approvals_since(self, *, channel: str, since: datetime) -> list[Approval]:
        """Approvals given on the channel's goals at or after `since`, oldest first."""
        ids = select(Goal.id).where(Goal.channel_id == channel)
        return list(
            self.session.exec(
                select(Approval)
                .where(
                    col(Approval.goal_id).in_(ids), Approval.decision == "approve", col(Approval.at) >= since
                )
                .order_by(col(Approval.id))
            ).all()
        )

    def channels(self) -> list[str]:
        """Every channel that has goals, sorted."""
        found = self.session.exec(
            select(Goal.channel_id).where(col(Goal.channel_id).is_not(None)).distinct()
        ).all()
        return sorted(c for c in found if c)
