"""Repositories: the queries the use cases run, one class per family of tables.

Each is a thin object over the caller's `Session` (the caller owns the transaction): goals,
artifacts, approvals, effects (the outbox), reminders (recorded SLA levels), jobs and the audit
log's reads that decisions depend on. The services call these instead of writing SQL, and the pure
rules (`bot.sop.gates`) never see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, text
from sqlmodel import Session, col, select

from storage.audit import AuditEntry
from storage.jobs_models import Job, Reminder
from storage.models import Approval, Artifact, Effect, Goal, ProcessedDelivery

APPROVE = "approve"


class Counters:
    def __init__(self, session: Session) -> None:
        self.session = session

    def next_goal_number(self, floor: int = 0) -> int:
        """Atomically take the next goal number, always above `floor`."""
        return int(
            self.session.execute(
                text(
                    "INSERT INTO counters (name, value) VALUES ('goal', :first) "
                    "ON CONFLICT (name) DO UPDATE SET value = CASE WHEN counters.value >= :floor "
                    "THEN counters.value + 1 ELSE :first END RETURNING value"
                ),
                {"first": floor + 1, "floor": floor},
            ).scalar_one()
        )


class Goals:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, goal_id: str) -> Goal | None:
        return self.session.get(Goal, goal_id)

    def for_update(self, goal_id: str) -> Goal | None:
        """The goal, row-locked for the rest of the transaction."""
        return self.session.exec(select(Goal).where(Goal.id == goal_id).with_for_update()).first()

    def latest_from_slash(self, requester: str, channel_id: str | None, brief: str) -> str | None:
        """The id of this person's newest goal started with this text in this channel."""
        return self.session.exec(
            select(Goal.id)
            .where(
                Goal.requester == requester,
                Goal.channel_id == channel_id,
                Goal.brief == brief,
                Goal.source == "slash",
            )
            .order_by(col(Goal.created_at).desc(), col(Goal.id).desc())
            .limit(1)
        ).first()

    def save(self, goal: Goal) -> None:
        self.session.add(goal)

    def newest(
        self,
        *,
        requester: str | None = None,
        channel_id: str | None = None,
        active_only: bool = False,
        limit: int = 50,
    ) -> list[Goal]:
        query = select(Goal).order_by(col(Goal.created_at).desc()).limit(limit)
        if requester:
            query = query.where(Goal.requester == requester)
        if channel_id:
            query = query.where(Goal.channel_id == channel_id)
        if active_only:
            query = query.where(Goal.state == "active")
        return list(self.session.exec(query).all())


class Deliveries:
    """Idempotency keys of what was already taken (Slack deliveries, a start within its window)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def for_update(self, key: str) -> ProcessedDelivery | None:
        return self.session.exec(
            select(ProcessedDelivery).where(ProcessedDelivery.key == key).with_for_update()
        ).first()


class Artifacts:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, goal: Goal) -> Artifact | None:
        """The newest artifact of the goal's current phase."""
        return self.session.exec(
            select(Artifact)
            .where(Artifact.goal_id == goal.id, Artifact.phase == goal.phase)
            .order_by(col(Artifact.id).desc())
            .limit(1)
        ).first()

    def of_goal(self, goal_id: str) -> list[Artifact]:
        return list(
            self.session.exec(
                select(Artifact).where(Artifact.goal_id == goal_id).order_by(col(Artifact.id))
            ).all()
        )

    def with_sha(self, goal_id: str, sha256: str | None) -> list[Artifact]:
        return list(
            self.session.exec(
                select(Artifact).where(Artifact.goal_id == goal_id, Artifact.sha256 == sha256)
            ).all()
        )

    def version_with_sha(self, goal_id: str, sha256: str | None) -> int | None:
        return self.session.exec(
            select(Artifact.version).where(Artifact.goal_id == goal_id, Artifact.sha256 == sha256)
        ).first()

    def find(self, goal_id: str, phase: str, version: int, task_id: int) -> Artifact | None:
        return self.session.exec(
            select(Artifact).where(
                Artifact.goal_id == goal_id,
                Artifact.phase == phase,
                Artifact.version == version,
                Artifact.task_id == task_id,
            )
        ).first()

    def versions(self, goal_id: str, phase: str, task_id: int = 0) -> list[int]:
        return list(
            self.session.exec(
                select(Artifact.version).where(
                    Artifact.goal_id == goal_id, Artifact.phase == phase, Artifact.task_id == task_id
                )
            ).all()
        )

    def last_versions(self, goal_id: str) -> dict[tuple[str, int], int]:
        """The highest version per (phase, task id)."""
        rows = self.session.exec(
            select(Artifact.phase, Artifact.task_id, func.max(Artifact.version))
            .where(Artifact.goal_id == goal_id)
            .group_by(col(Artifact.phase), col(Artifact.task_id))
        ).all()
        return {(phase, task_id): version for phase, task_id, version in rows}

    def newest_text(self, goal_id: str, phase: str) -> str:
        row = self.session.exec(
            select(Artifact.content)
            .where(Artifact.goal_id == goal_id, Artifact.phase == phase)
            .order_by(col(Artifact.version).desc())
        ).first()
        return row or ""

    def other_ids(self, artifact: Artifact) -> list[int]:
        """The ids of the other versions of the same phase and task."""
        return [
            i
            for i in self.session.exec(
                select(Artifact.id).where(
                    Artifact.goal_id == artifact.goal_id,
                    Artifact.phase == artifact.phase,
                    Artifact.task_id == artifact.task_id,
                    col(Artifact.id) != artifact.id,
                )
            ).all()
            if i is not None
        ]

    def add(self, artifact: Artifact) -> Artifact:
        self.session.add(artifact)
        return artifact


class Approvals:
    def __init__(self, session: Session) -> None:
        self.session = session

    def approvers_of(self, goal_id: str, sha256: str) -> set[str]:
        """Who approved this version."""
        return set(
            self.session.exec(
                select(Approval.by).where(
                    Approval.goal_id == goal_id,
                    Approval.artifact_sha256 == sha256,
                    Approval.decision == APPROVE,
                )
            ).all()
        )

    def approvers_in_phase(self, goal_id: str, phase: str) -> list[str]:
        return list(
            self.session.exec(
                select(Approval.by).where(
                    Approval.goal_id == goal_id, Approval.phase == phase, Approval.decision == APPROVE
                )
            ).all()
        )

    def by_person(self, goal_id: str, by: str, decision: str) -> list[Approval]:
        """This person's decisions of this kind on the goal (a repeat is answered, not refused)."""
        return list(
            self.session.exec(
                select(Approval).where(
                    Approval.goal_id == goal_id, Approval.by == by, Approval.decision == decision
                )
            ).all()
        )

    def of_version(self, goal_id: str, sha256: str) -> list[Approval]:
        """Every decision on this version, oldest first."""
        return list(
            self.session.exec(
                select(Approval)
                .where(Approval.goal_id == goal_id, Approval.artifact_sha256 == sha256)
                .order_by(col(Approval.id))
            ).all()
        )

    def of_goal(self, goal_id: str) -> list[Approval]:
        return list(
            self.session.exec(
                select(Approval).where(Approval.goal_id == goal_id).order_by(col(Approval.id))
            ).all()
        )

    def add(self, approval: Approval) -> None:
        self.session.add(approval)
        self.session.flush()


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
