"""Agent jobs as use cases read them, and the SLA levels recorded per artifact version."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage import wakeups
from storage.jobs_models import Job, Reminder
from storage.models import Effect

ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Holding:
    """An unfinished job that holds back its goal's effects recorded after effect id `follows`:
    all of them, or (`in_order`, the Scaffold Check) all but its messages. `live`: running, or
    free to start (so what it holds will move)."""

    goal_id: str
    follows: int
    in_order: bool
    live: bool


def in_goal_order() -> ColumnElement[bool]:
    """A queued job may start: the commits (and other work) of its goal recorded before it are
    carried out. Its messages are not waited for: what the job records is posted after them in the
    goal's Slack lane anyway, and a draft need not wait for an approval's card to be redrawn."""
    earlier = and_(
        col(Effect.goal_id) == col(Job.goal_id),
        col(Effect.id) <= col(Job.follows),
        col(Effect.status) != "done",
        col(Effect.kind).not_like("slack.%"),
        col(Effect.kind).not_like("notify.%"),
    )
    return or_(col(Job.follows).is_(None), not_(exists().where(earlier)))


class Jobs:
    """The agent work queue's rows, as use cases read them (the queue itself is `bot.jobs.queue`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def keys_with_prefix(self, prefix: str) -> frozenset[str]:
        return frozenset(self.session.exec(select(Job.key).where(col(Job.key).startswith(prefix))).all())

    def exists(self, key: str) -> bool:
        return self.session.exec(select(Job.id).where(Job.key == key)).first() is not None

    def by_key(self, key: str) -> Job | None:
        return self.session.exec(select(Job).where(Job.key == key)).first()

    def add(
        self,
        *,
        key: str,
        kind: str,
        goal_id: str | None,
        now: datetime,
        payload: dict[str, Any],
        description: str = "",
        max_attempts: int = 3,
        follows: int | None = None,
        in_order: bool = False,
        not_before: datetime | None = None,
    ) -> Job | None:
        """Add a job in the caller's transaction and return it; None when one with this key exists."""
        if self.exists(key):
            return None
        job = Job(
            key=key,
            kind=kind,
            goal_id=goal_id,
            phase=payload.get("phase"),
            payload=dict(payload),
            description=description,
            max_attempts=max_attempts,
            follows=follows,
            in_order=in_order,
            not_before=not_before if not_before and not_before > now else None,
            created_at=now,
        )
        self.session.add(job)
        self.session.flush()
        wakeups.notify(self.session, wakeups.JOBS)  # PostgreSQL: wakes the job workers when this commits
        return job

    def holding(self, goal_ids: Iterable[str], *, every: bool = False) -> list[Holding]:
        """The unfinished jobs of these goals that hold back effects recorded after them: the
        `in_order` ones (the Scaffold Check), or, with `every`, all of them (a process that runs
        its jobs inline runs each where it was recorded, as the CLI always has)."""
        ids = list(goal_ids)
        if not ids:
            return []
        ready = in_goal_order()
        query = sa_select(
            col(Job.goal_id), col(Job.follows), col(Job.in_order), col(Job.status), ready
        ).where(col(Job.goal_id).in_(ids), col(Job.status).in_(ACTIVE))
        if not every:
            query = query.where(col(Job.in_order) == True)  # noqa: E712
        return [
            Holding(goal_id, follows or 0, bool(in_order), status == "running" or bool(ready))
            for goal_id, follows, in_order, status, ready in self.session.execute(query).all()
            if goal_id is not None
        ]

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
