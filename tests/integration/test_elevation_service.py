"""The elevated-mode rules, on real SQLite and PostgreSQL: who may ask, who may grant, exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.services.authority import ApproverDirectory
from bot.services.elevation import ElevationService, ModeRefused
from bot.services.errors import InvalidInput, ServiceError
from bot.services.goals import GoalService
from bot.services.unit import Actor, system_clock
from storage.audit import AuditEntry
from storage.models import Goal

WHY = "The integration tests download fixtures from the registry"


def _services(engine: Engine) -> tuple[GoalService, ElevationService]:
    directory = ApproverDirectory(users=frozenset({"U_APP1", "U_APP2", "U_REQ2"}))
    return (
        GoalService(engine=engine, directory=directory, clock=system_clock),
        ElevationService(engine=engine, directory=directory, clock=system_clock),
    )


def _mode_steps(engine: Engine) -> list[tuple[str, str, str | None]]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.action).startswith("mode.")).order_by(col(AuditEntry.seq))
        )
        return [(e.action, e.actor, e.justification) for e in rows]


def test_asking_needs_a_real_justification_a_new_mode_and_a_stake_in_the_goal(engine: Engine) -> None:
    goals, elevation = _services(engine)
    goal = goals.start_goal(brief="Build it", actor=Actor("U_REQ"))
    for mode, why, who, complaint in [
        ("full-access", "too short" + " " * 30, "U_REQ", "at least 20"),
        ("root", WHY, "U_REQ", "workspace-write or full-access"),
        ("read-only", WHY, "U_REQ", "workspace-write or full-access"),
        ("full-access", WHY, "U_OUT", "Only the requester"),
    ]:
        with pytest.raises(InvalidInput, match=complaint):
            elevation.request(goal_id=goal.id, mode=mode, justification=why, actor=Actor(who))
    first = elevation.request(
        goal_id=goal.id, mode="workspace-write", justification=WHY, actor=Actor("U_APP2")
    )
    with pytest.raises(InvalidInput, match="already waiting"):
        elevation.request(goal_id=goal.id, mode="full-access", justification=WHY, actor=Actor("U_REQ"))
    assert first.id is not None and _mode_steps(engine) == [("mode.requested", "U_APP2", WHY)]


def test_only_another_approver_grants_and_a_repeat_changes_nothing(engine: Engine) -> None:
    goals, elevation = _services(engine)
    goal = goals.start_goal(brief="Build it", actor=Actor("U_REQ2"))  # the requester is an approver too
    asked = elevation.request(goal_id=goal.id, mode="full-access", justification=WHY, actor=Actor("U_APP1"))
    assert asked.id is not None
    for who, complaint in [
        ("U_APP1", "asked for this mode yourself"),
        ("U_REQ2", "You started"),
        ("U_OUT", "not an approver"),
    ]:
        with pytest.raises(ModeRefused, match=complaint):
            elevation.decide(request_id=asked.id, goal_id=goal.id, grant=True, actor=Actor(who))
    assert goals.get(goal.id).mode == "read-only"

    granted = elevation.decide(request_id=asked.id, goal_id=goal.id, grant=True, actor=Actor("U_APP2"))
    again = elevation.decide(request_id=asked.id, goal_id=goal.id, grant=True, actor=Actor("U_APP2"))
    assert (granted.status, granted.duplicate, again.duplicate) == ("granted", False, True)
    with pytest.raises(ModeRefused, match="already granted"):
        elevation.decide(request_id=asked.id, goal_id=goal.id, grant=False, actor=Actor("U_APP2"))
    assert goals.get(goal.id).mode == "full-access"
    assert [s for s in _mode_steps(engine) if s[0] != "mode.refused"] == [
        ("mode.requested", "U_APP1", WHY),
        ("mode.granted", "U_APP2", WHY),
    ]
    assert [s[1] for s in _mode_steps(engine) if s[0] == "mode.refused"] == [
        "U_APP1",
        "U_REQ2",
        "U_OUT",
        "U_APP2",
    ]


def test_concurrent_grant_and_deny_clicks_decide_once(engine: Engine) -> None:
    goals, elevation = _services(engine)
    goal = goals.start_goal(brief="Build it", actor=Actor("U_REQ"))
    asked = elevation.request(
        goal_id=goal.id, mode="workspace-write", justification=WHY, actor=Actor("U_REQ")
    )
    assert asked.id is not None
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def click(n: int) -> None:
        start.wait()
        try:
            done = elevation.decide(
                request_id=asked.id or 0,
                goal_id=goal.id,
                grant=n % 3 != 0,
                actor=Actor("U_APP1" if n % 2 else "U_APP2"),
            )
            outcomes.append("duplicate" if done.duplicate else done.status)
        except ServiceError:
            outcomes.append("refused")

    threads = [threading.Thread(target=click, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 12 and outcomes.count("granted") + outcomes.count("denied") == 1
    decided = [s for s in _mode_steps(engine) if s[0] in ("mode.granted", "mode.denied")]
    assert len(decided) == 1
    with Session(engine) as session:
        stored = session.get(Goal, goal.id)
        assert stored is not None
        assert stored.mode == ("workspace-write" if decided[0][0] == "mode.granted" else "read-only")
