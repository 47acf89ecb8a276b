"""The gates awaiting approval as one read sees them: each goal with the current artifact of its
phase, who approved that version, and the reminder levels already recorded — a few set-based
queries whatever the number of gates, for the SLA sweep and the digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.jobs_models import Reminder
from storage.models import Approval, Artifact, Goal

_CHUNK = 500  # goal ids per IN (…) list, well under SQLite's bound-parameter limit
# The values of `GoalState.ACTIVE` and `PhaseStatus.AWAITING_APPROVAL` (bot.sop.phases), as stored.
ACTIVE = "active"
AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True)
class OpenGate:
    """A goal awaiting approval and the current artifact of its phase, as one read sees them."""

    goal_id: str
    phase: str
    artifact_id: int | None
    task_id: int
    version: int
    sha256: str
    since: datetime

    @property
    def tag(self) -> str:
        return f"{self.goal_id}:{self.phase}:{self.task_id}:v{self.version}"


_GATE_COLUMNS = (
    col(Goal.id),
    col(Goal.phase),
    col(Artifact.id),
    col(Artifact.task_id),
    col(Artifact.version),
    col(Artifact.sha256),
    col(Artifact.created_at),
)


def open_gates(
    session: Session, *, opened_by: datetime | None = None, channel: str | None = None
) -> list[OpenGate]:
    """Every gate awaiting approval with its current artifact, in goal order, in one query; with
    `opened_by`, only those whose artifact was stored at or before it; with `channel`, only its goals."""
    latest = (
        select(func.max(Artifact.id))
        .where(Artifact.goal_id == Goal.id, Artifact.phase == Goal.phase)
        .correlate(Goal)
        .scalar_subquery()
    )
    query = (
        core_select(*_GATE_COLUMNS)
        .join(Artifact, col(Artifact.id) == latest)
        .where(col(Goal.state) == ACTIVE, col(Goal.status) == AWAITING_APPROVAL)
        .order_by(col(Goal.id))
    )
    if opened_by is not None:
        query = query.where(col(Artifact.created_at) <= opened_by)
    if channel is not None:
        query = query.where(col(Goal.channel_id) == channel)
    return [OpenGate(*row) for row in session.connection().execute(query).all()]


def approvals_of(session: Session, gates: list[OpenGate]) -> dict[tuple[str, str], set[str]]:
    """Who approved each gate's current version, keyed by (goal id, sha256), in a few queries."""
    ids = sorted({g.goal_id for g in gates})
    found: dict[tuple[str, str], set[str]] = {}
    for chunk in range(0, len(ids), _CHUNK):
        rows = session.connection().execute(
            core_select(col(Approval.goal_id), col(Approval.artifact_sha256), col(Approval.by)).where(
                col(Approval.goal_id).in_(ids[chunk : chunk + _CHUNK]), col(Approval.decision) == "approve"
            )
        )
        for goal_id, sha, by in rows:
            found.setdefault((goal_id, sha), set()).add(by)
    return found


def recorded_keys(session: Session, gates: list[OpenGate], *, prefix: str) -> set[str]:
    """The keys of the reminder levels already recorded for these gates' goals, starting with `prefix`."""
    ids = sorted({g.goal_id for g in gates})
    found: set[str] = set()
    for chunk in range(0, len(ids), _CHUNK):
        found.update(
            session.exec(
                select(Reminder.key).where(
                    col(Reminder.goal_id).in_(ids[chunk : chunk + _CHUNK]),
                    col(Reminder.key).startswith(prefix),
                )
            ).all()
        )
    return found
