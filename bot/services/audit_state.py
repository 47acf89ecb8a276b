"""Replay the audit log and compare what it implies with the state tables.

An intact chain proves the log was not rewritten, not that the state tables agree with it: a
goal's mode set to full-access, or an approval row inserted, with SQL leaves the chain as it was.
Every change of mode, phase and state, and every decision, is written to the log in the same
transaction as the change itself, so the log's last word on each must match the tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.sop.phases import Decision, GoalState
from storage.db import READ_ONLY
from storage.repositories import StateRows
from storage.sessions import Engine

ACTION_OF_DECISION = {
    Decision.APPROVE.value: "artifact.approved",
    Decision.REQUEST_CHANGES.value: "artifact.changes_requested",
    Decision.REJECT.value: "artifact.rejected",
}
STATE_OF_ACTION = {
    "goal.done": GoalState.DONE.value,
    "artifact.rejected": GoalState.REJECTED.value,
    "goal.cancelled": GoalState.CANCELLED.value,
}
PHASE_ACTIONS = {"goal.started", "phase.entered", "goal.done"}


@dataclass
class _Replayed:
    """One goal as its audit entries describe it; each value with the seq that set it."""

    started: int
    mode: tuple[str | None, int]
    phase: tuple[str | None, int]
    state: tuple[str, int]


@dataclass
class StateReport:
    goals: int = 0
    approvals: int = 0
    problems: list[str] = field(default_factory=list)
    skipped: bool = False  # the state tables are not there (an audit-only database)


def check_state(engine: Engine) -> StateReport:
    """Every mismatch between the replayed log and the goals and approvals tables, named."""
    # A read-only transaction: one consistent snapshot, and on SQLite no write lock held meanwhile.
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        rows = StateRows(conn)
        if not rows.has_state_tables():
            return StateReport(skipped=True)
        goals, decisions = _replay(rows)
        report = StateReport()
        for goal in rows.goals():
            report.goals += 1
            report.problems.extend(_compare_goal(goal, goals.pop(goal.id, None)))
        for goal_id, replayed in sorted(goals.items()):
            report.problems.append(
                f"goal {goal_id}: the audit log started it (entry {replayed.started}) but the goals table has no such goal"
            )
        for row in rows.approvals():
            report.approvals += 1
            action = ACTION_OF_DECISION.get(row.decision, f"artifact.{row.decision}")
            seqs = decisions.get((row.goal_id, action, row.artifact_sha256, row.by))
            if seqs:
                seqs.pop(0)
                continue
            report.problems.append(
                f"approval row {row.id} for {row.goal_id} {row.phase} v{row.artifact_version} "
                f"({row.decision} by {row.by}) has no {action} entry"
            )
        for (goal_id, action, _sha, actor), seqs in decisions.items():
            report.problems.extend(
                f"audit entry {seq} ({action} on {goal_id} by {actor}) has no approval row" for seq in seqs
            )
    return report


def _replay(
    rows: StateRows,
) -> tuple[dict[str, _Replayed], dict[tuple[str, str, str | None, str], list[int]]]:
    goals: dict[str, _Replayed] = {}
    decisions: dict[tuple[str, str, str | None, str], list[int]] = {}
    for seq, action, goal_id, phase, mode, sha, actor, payload in rows.goal_entries():
        if action == "goal.started":
            goals[goal_id] = _Replayed(seq, (mode, seq), (phase, seq), (GoalState.ACTIVE.value, seq))
            continue
        replayed = goals.get(goal_id)
        if action in ACTION_OF_DECISION.values():
            decisions.setdefault((goal_id, action, sha, actor), []).append(seq)
        if replayed is None:
            continue
        if action == "mode.granted":
            replayed.mode = (_payload(payload).get("requested_mode") or mode, seq)
        if action in PHASE_ACTIONS:
            replayed.phase = (phase, seq)
        if action in STATE_OF_ACTION:
            replayed.state = (STATE_OF_ACTION[action], seq)
    return goals, decisions


def _payload(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _compare_goal(goal: Any, replayed: _Replayed | None) -> list[str]:
    if replayed is None:
        return [f"goal {goal.id}: in the goals table, but the audit log has no goal.started entry for it"]
    problems = []
    for what, now, (said, seq) in (
        ("mode", goal.mode, replayed.mode),
        ("phase", goal.phase, replayed.phase),
        ("state", goal.state, replayed.state),
    ):
        if now != said:
            problems.append(
                f"goal {goal.id}: {what} is {now} but the audit log's last {what} change (entry {seq}) says {said}"
            )
    return problems
