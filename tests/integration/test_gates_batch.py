"""The App Home reads every waiting goal's gate at once: the batched read gives exactly the gate
that the one-goal read gives, on real SQLite and PostgreSQL, in a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.services.gates import Gate, gate, gates_of
from storage.db import read_session
from storage.models import Approval, Artifact, Goal

NOW = datetime(2025, 3, 31, 9, 0, tzinfo=UTC)
APPROVERS = ["U_A", "U_B", "U_C", "U_D", "U_A"]


def _goal(
    goal_id: str,
    phase: str,
    *,
    status: str = "awaiting_approval",
    state: str = "active",
    requester: str = "U_REQ",
) -> dict[str, Any]:
    return {
        "id": goal_id,
        "title": goal_id,
        "brief": "b",
        "requester": requester,
        "phase": phase,
        "status": status,
        "state": state,
        "approvers": [],
        "spec_triggers": [],
        "tasks": [],
        "phase_started_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }


def _artifact(
    goal_id: str, phase: str, version: int, sha: str, *, task_id: int = 0, minutes: int = 0
) -> dict[str, Any]:
    return {
        "goal_id": goal_id,
        "phase": phase,
        "version": version,
        "task_id": task_id,
        "content": "c" * 1000,
        "sha256": sha,
        "created_at": NOW - timedelta(minutes=minutes),
    }


def _decision(goal_id: str, phase: str, sha: str, by: str, decision: str, minutes: int) -> dict[str, Any]:
    return {
        "goal_id": goal_id,
        "phase": phase,
        "artifact_version": 1,
        "artifact_sha256": sha,
        "decision": decision,
        "by": by,
        "at": NOW - timedelta(minutes=minutes),
    }


def _fill(engine: Engine) -> None:
    goals = [
        _goal("G-0001", "prd"),  # two versions, approvals on both and a request for changes
        _goal("G-0002", "prd", requester="U_A"),  # the requester is an approver
        _goal("G-0003", "prd", status="drafting"),  # not waiting on a decision
        _goal("G-0004", "task_list"),  # no artifact in its phase yet
        _goal("G-0005", "implementation"),  # one diff per task
        _goal("G-0006", "prd", state="cancelled"),
        _goal("G-0007", "prd"),  # the same content as G-0001's current version, approved nowhere
    ]
    artifacts = [
        _artifact("G-0001", "scaffold_check", 1, "s1", minutes=90),
        _artifact("G-0001", "prd", 1, "p1", minutes=60),
        _artifact("G-0001", "prd", 2, "p2", minutes=30),
        _artifact("G-0002", "prd", 1, "q1", minutes=20),
        _artifact("G-0003", "prd", 1, "r1", minutes=20),
        _artifact("G-0004", "prd", 1, "t1", minutes=20),
        _artifact("G-0005", "implementation", 1, "i1", task_id=1, minutes=50),
        _artifact("G-0005", "implementation", 1, "i2", task_id=2, minutes=40),
        _artifact("G-0006", "prd", 1, "c1", minutes=20),
        _artifact("G-0007", "prd", 1, "p2", minutes=10),
    ]
    decisions = [
        _decision("G-0001", "prd", "p1", "U_A", "approve", 50),
        _decision("G-0001", "prd", "p2", "U_C", "approve", 20),
        _decision("G-0001", "prd", "p2", "U_D", "request_changes", 19),
        _decision("G-0001", "prd", "p2", "U_B", "approve", 18),
        _decision("G-0002", "prd", "q1", "U_B", "approve", 10),
        _decision("G-0003", "prd", "r1", "U_B", "approve", 10),
        _decision("G-0005", "implementation", "i1", "U_C", "approve", 45),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Goal.__table__), goals)  # type: ignore[attr-defined]
        conn.execute(insert(Artifact.__table__), artifacts)  # type: ignore[attr-defined]
        conn.execute(insert(Approval.__table__), decisions)  # type: ignore[attr-defined]


def _seen(g: Gate) -> tuple[Any, ...]:
    a = g.artifact
    shown = (a.id, a.phase, a.version, a.task_id, a.sha256, a.created_at) if a is not None else None
    return (shown, g.approved_by, g.waiting_on, g.sla_due, g.open)


def _due(phase: str, since: datetime) -> datetime:
    return since + timedelta(hours=len(phase))


@pytest.mark.parametrize("allow_self_approval", [False, True])
@pytest.mark.parametrize("due_at", [None, _due])
def test_the_batched_read_gives_each_goal_the_gate_the_single_read_gives(
    engine: Engine, allow_self_approval: bool, due_at: Any
) -> None:
    _fill(engine)
    rules: dict[str, Any] = {
        "approvers": APPROVERS,
        "allow_self_approval": allow_self_approval,
        "sla_hours": 4.0,
        "due_at": due_at,
    }
    with read_session(engine) as session:
        goals = list(session.exec(select(Goal).order_by(col(Goal.id))).all())
        one_by_one = {g.id: _seen(gate(session, g, **rules)) for g in goals}
    with read_session(engine) as session:
        goals = list(session.exec(select(Goal).order_by(col(Goal.id))).all())
        batched = {goal_id: _seen(g) for goal_id, g in gates_of(session, goals, **rules).items()}
    assert batched == one_by_one
    # The cases above are the ones meant: an older version's approval and a request for changes
    # do not count, and a requester approves their own goal only when allowed.
    assert one_by_one["G-0001"][1:3] == (["U_C", "U_B"], ["U_A", "U_D"])
    assert one_by_one["G-0002"][2] == (["U_A", "U_C", "U_D"] if allow_self_approval else ["U_C", "U_D"])
    assert one_by_one["G-0003"][1:] == ([], [], None, False)
    assert one_by_one["G-0004"][0] is None
    assert one_by_one["G-0005"][0][3] == 2 and one_by_one["G-0005"][1] == []
    assert one_by_one["G-0007"][1] == []


def test_the_batched_read_takes_the_same_few_queries_however_many_goals(engine: Engine) -> None:
    _fill(engine)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with read_session(engine) as session:
        goals = list(session.exec(select(Goal)).all())
        event.listen(engine, "before_cursor_execute", count)
        try:
            gates = gates_of(session, goals, approvers=APPROVERS, allow_self_approval=False, sla_hours=4.0)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(gates) == len(goals) == 7
    assert len(statements) == 2
    assert all("content" not in s.split("FROM")[0] for s in statements)  # the diffs stay on disk
