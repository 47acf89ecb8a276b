"""Where a goal's current gate stands: the artifact awaiting a decision, who approved it, who may
still approve it, and when the decision is due (the artifact's post time plus the approval SLA).

Read-only; shared by the goal card, the progress message and the App Home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.sop.phases import Decision, GoalState, PhaseStatus
from storage.db import read_session
from storage.models import Approval, Artifact, Goal
from storage.repositories import Approvals, Artifacts
from storage.sessions import Engine, Session

_CHUNK = 500  # goal ids per IN (…) list, well under SQLite's bound-parameter limit


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
    return Artifacts(session).current(goal)


def approvals_of(session: Session, artifact: Artifact) -> list[Approval]:
    return Approvals(session).of_version(artifact.goal_id, artifact.sha256)


def awaiting(goal: Goal) -> bool:
    """Whether the goal waits on a decision, so its gate's approvals matter."""
    return goal.state == GoalState.ACTIVE and goal.status == PhaseStatus.AWAITING_APPROVAL


def gate_of(
    goal: Goal,
    artifact: Artifact | None,
    decisions: Iterable[tuple[str, str]],
    *,
    approvers: Iterable[str],
    allow_self_approval: bool,
    sla_hours: float,
    due_at: Callable[[str, datetime], datetime] | None = None,
) -> Gate:
    """The gate from what was read: the current artifact and the `(by, decision)` pairs taken on
    its version, oldest first. Pure, so the single and the batched reads apply the same rules."""
    if artifact is None or not awaiting(goal):
        return Gate(artifact)
    approved = [by for by, decision in decisions if decision == Decision.APPROVE.value]
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
    decisions = (
        [(a.by, a.decision) for a in approvals_of(session, artifact)]
        if artifact is not None and awaiting(goal)
        else []
    )
    return gate_of(
        goal,
        artifact,
        decisions,
        approvers=approvers,
        allow_self_approval=allow_self_approval,
        sla_hours=sla_hours,
        due_at=due_at,
    )


def gates_of(
    session: Session,
    goals: Sequence[Goal],
    *,
    approvers: Iterable[str],
    allow_self_approval: bool,
    sla_hours: float,
    due_at: Callable[[str, datetime], datetime] | None = None,
) -> dict[str, Gate]:
    """The current gate of each goal by goal id, as `gate` gives it, in two queries per chunk of
    goals whatever their number. Each gate's artifact has only the columns above loaded: read its
    content, if ever needed, through another session."""
    approvers = list(approvers)
    artifacts: dict[str, Artifact] = {}
    decisions: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for chunk in range(0, len(goals), _CHUNK):
        ids = [g.id for g in goals[chunk : chunk + _CHUNK]]
        found = Artifacts(session).current_of_goals(goal_ids=ids)
        artifacts.update((a.goal_id, a) for a in found)
        shas = sorted({a.sha256 for a in found})
        if not shas:
            continue
        for goal_id, sha, by, decision in Approvals(session).decisions_on_versions(goal_ids=ids, shas=shas):
            decisions.setdefault((goal_id, sha), []).append((by, decision))
    gates: dict[str, Gate] = {}
    for goal in goals:
        artifact = artifacts.get(goal.id)
        gates[goal.id] = gate_of(
            goal,
            artifact,
            decisions.get((goal.id, artifact.sha256), []) if artifact is not None else [],
            approvers=approvers,
            allow_self_approval=allow_self_approval,
            sla_hours=sla_hours,
            due_at=due_at,
        )
    return gates


def decisions_on(engine: Engine, goal_id: str, sha256: str) -> list[Approval]:
    """Every decision taken on one artifact version (by its sha256), oldest first."""
    with read_session(engine) as session:
        return Approvals(session).of_version(goal_id, sha256)
