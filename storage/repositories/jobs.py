"""Agent jobs as use cases read them, and the SLA levels recorded per artifact version."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.jobs_models import Job, Reminder


class Jobs:
    """The agent work queue's rows, as use cases read them (the queue itself is `bot.jobs.queue`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_goal(self, goal_id: str, statuses: Sequence[str]) -> list[Job]:
        return list(
            self.session.exec(
                select(Job)
                .where(Job.goal_id == goal_id, col(Job.status).in_(list(statuses)))
                .order_by(col(Job.id))
            ).all()
        )

    def get(self, job_id: int) -> Job | None:
        return self.session.get(Job, job_id)

    def with_status(self, *, status: str) -> list[Job]:
        return list(self.session.exec(select(Job).where(Job.status == status).order_by(col(Job.id))).all())

    def queued_before(self, *, cutoff: datetime) -> list[Job]:
        """Jobs still queued that were created at or before `cutoff`."""
        return list(
            self.session.exec(select(Job).where(Job.status == "queued", col(Job.created_at) <= cutoff)).all()
        )

    def running(self) -> list[Job]:
        return list(self.session.exec(select(Job).where(Job.status == "running")).all())

    def running_for_update(self, job_id: int) -> Job | None:
        """The job, row-locked, while it is still running (else None)."""
        return self.session.exec(
            select(Job).where(Job.id == job_id, Job.status == "running").with_for_update()
        ).first()

    def newest(self, *, status: str | None = None, goal_id: str | None = None, limit: int = 200) -> list[Job]:
        """Newest first, of one status and one goal when given."""
        query = select(Job).order_by(col(Job.id).desc()).limit(limit)
        if status:
            query = query.where(Job.status == status)
        if goal_id:
            query = query.where(Job.goal_id == goal_id)
        return list(self.session.exec(query).all())

    def newest_of_kinds(self, *, goal_id: str, kinds: Sequence[str]) -> Job | None:
        """The goal's newest job of these kinds."""
        return self.session.exec(
            select(Job)
            .where(Job.goal_id == goal_id, col(Job.kind).in_(list(kinds)))
            .order_by(col(Job.id).desc())
            .limit(1)
        ).first()


class Reminders:
    """The SLA levels (and renewed requests) recorded once per artifact version."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def exists(self, key: str) -> bool:
        return self.session.exec(select(Reminder.id).where(Reminder.key == key)).first() is not None

    def recipients_for(self, goal_id: str, phase: str, version: int) -> list[tuple[str, ...]]:
        rows = self.session.exec(
            select(Reminder).where(
                Reminder.goal_id == goal_id, Reminder.phase == phase, Reminder.version == version
            )
        ).all()
        return [tuple(r.recipients or []) for r in rows]

    def add(
        self,
        *,
        key: str,
        level: str,
        goal_id: str,
        phase: str,
        version: int | None,
        recipients: Sequence[str],
        now: datetime,
    ) -> bool:
        """Record the level once; False when it is already recorded."""
        if self.exists(key):
            return False
        self.session.add(
            Reminder(
                key=key,
                level=level,
                goal_id=goal_id,
                phase=phase,
                version=version,
                recipients=list(recipients),
                sent_at=now,
            )
        )
        self.session.flush()
        return True

    def recorded(self, *, keys: Collection[str]) -> set[str]:
        """Which of these keys are recorded."""
        if not keys:
            return set()
        return set(self.session.exec(select(Reminder.key).where(col(Reminder.key).in_(list(keys)))).all())
