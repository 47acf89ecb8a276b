"""Where a goal's current gate stands: the artifact awaiting a decision, who approved it, who may
still approve it, and when the decision is due (the artifact's post time plus the approval SLA).

Read-only; shared by the goal card, the progress message and the App Home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.sop.phases import Decision, GoalState, PhaseStatus
from storage.models import Approval, Artifact, Goal


@dataclass(frozen=True)
class Gate:
    artifact: Artifact | None  # the latest version of the current phase (None before the first draft)
    approved_by: list[str] = field(default_factory=list)  # approvals of that version, oldest first
    waiting_on: list[str] = field(default_factory=list)  # who may still approve it
    sla_due: datetime | None = None  # set while a decision is awaited

    @property
    def open(self) -> bool:
        return self.sla_due is not None


def current_artifact(session: Session, goal: Goal) -> Artifact | None:
    return session.exec(
        select(Artifact)
        .where(Artifact.goal_id == goal.id, Artifact.phase == goal.phase)
        .order_by(col(Artifact.id).desc())
    ).first()


def approvals_of(session: Session, artifact: Artifact) -> list[Approval]:
    return list(
        session.exec(
            select(Approval)
            .where(Approval.goal_id == artifact.goal_id, Approval.artifact_sha256 == artifact.sha256)
            .order_by(col(Approval.id))
        ).all()
    )


def gate(
    session: Session,
    goal: Goal,
    *,
    approvers: Iterable[str],
    allow_self_approval: bool,
    sla_hours: float,
    due_at: Callable[[str, datetime], datetime] | None = None,
) -> Gate:
    """The current gate of `goal`; `approvers` are the people and groups who may approve it.

    `due_at(phase, since)` gives the reminder time under the SLA policy (business hours); without
    it the due time is `sla_hours` of calendar time.
    """
    artifact = current_artifact(session, goal)
    awaiting = goal.state == GoalState.ACTIVE and goal.status == PhaseStatus.AWAITING_APPROVAL
    if artifact is None or not awaiting:
        return Gate(artifact)
    approved = [a.by for a in approvals_of(session, artifact) if a.decision == Decision.APPROVE.value]
    waiting = [
        who
        for who in dict.fromkeys(approvers)
        if who not in approved and (allow_self_approval or who != goal.requester)
    ]
    due = (
        due_at(goal.phase, artifact.created_at)
        if due_at
        else artifact.created_at + timedelta(hours=sla_hours)
    )
    return Gate(artifact, approved, waiting, due)


def decisions_on(engine: Engine, goal_id: str, sha256: str) -> list[Approval]:
    """Every decision taken on one artifact version (by its sha256), oldest first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Approval)
                .where(Approval.goal_id == goal_id, Approval.artifact_sha256 == sha256)
                .order_by(col(Approval.id))
            )
        )
