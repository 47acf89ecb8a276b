"""Authority is decided at the click, against the goal's chosen approvers and the configuration now."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.services.authority import ApproverDirectory
from bot.services.elevation import ElevationService
from bot.services.errors import NotAnApprover, WrongMessage
from bot.services.goals import GoalService
from bot.services.origin import ClickedMessage
from bot.services.unit import Actor, system_clock
from bot.sop.phases import Decision, Phase
from storage.db import transaction
from storage.models import ModeRequest


def service(engine: Engine, users: set[str], required: int = 1) -> GoalService:
    """The goal service as a process configured with these approvers would build it."""
    return GoalService(
        engine=engine,
        directory=ApproverDirectory(users=frozenset(users)),
        clock=system_clock,
        approvals_required=required,
    )


def drafted(goals: GoalService, **start: object) -> tuple[str, str]:
    goal = goals.start_goal(brief="Add a CSV export", actor=Actor("U_REQ"), **start)  # type: ignore[arg-type]
    artifact = goals.record_draft(
        goal_id=goal.id,
        phase=Phase.SCAFFOLD_CHECK.value,
        version=1,
        content="# Scaffold Check\n\nAll present.",
        summary="All present.",
        drafted_by="offline",
        offline=True,
    )
    assert artifact is not None
    return goal.id, artifact.sha256


def approve(goals: GoalService, goal_id: str, sha: str, who: str) -> bool:
    outcome = goals.decide(
        goal_id=goal_id,
        phase=Phase.SCAFFOLD_CHECK.value,
        sha256=sha,
        decision=Decision.APPROVE,
        actor=Actor(who),
    )
    return outcome.complete


def test_only_the_approvers_chosen_for_a_goal_can_decide_it(engine: Engine) -> None:
    goals = service(engine, {"U_APP1", "U_APP2"})
    goal_id, sha = drafted(goals, approvers=["U_APP2"])
    with pytest.raises(NotAnApprover):
        approve(goals, goal_id, sha, "U_APP1")
    assert goals.get(goal_id).phase == Phase.SCAFFOLD_CHECK.value
    assert approve(goals, goal_id, sha, "U_APP2") is True


def test_a_chosen_approver_removed_from_the_configuration_can_no_longer_decide(engine: Engine) -> None:
    goal_id, sha = drafted(service(engine, {"U_APP1", "U_APP2"}), approvers=["U_APP1"])
    with pytest.raises(NotAnApprover):
        approve(service(engine, {"U_APP2"}), goal_id, sha, "U_APP1")


def test_an_approval_stops_counting_once_its_approver_is_removed_from_the_configuration(
    engine: Engine,
) -> None:
    before = service(engine, {"U_APP1", "U_APP2", "U_APP3"}, required=2)
    goal_id, sha = drafted(before)
    assert approve(before, goal_id, sha, "U_APP1") is False  # 1 of 2

    # The process restarts without U_APP1: their approval of the open gate no longer counts.
    after = service(engine, {"U_APP2", "U_APP3"}, required=2)
    assert approve(after, goal_id, sha, "U_APP2") is False
    assert after.get(goal_id).phase == Phase.SCAFFOLD_CHECK.value
    assert approve(after, goal_id, sha, "U_APP3") is True
    assert after.get(goal_id).phase != Phase.SCAFFOLD_CHECK.value


def test_an_elevated_mode_is_granted_only_from_its_own_request_message(engine: Engine) -> None:
    goals = service(engine, {"U_APP1", "U_APP2"})
    elevation = ElevationService(engine=engine, directory=goals.directory, clock=system_clock)
    mine = goals.start_goal(brief="Build it", actor=Actor("U_REQ"), channel_id="C1", thread_ts="100.000001")
    other = goals.start_goal(
        brief="Build that", actor=Actor("U_REQ"), channel_id="C1", thread_ts="200.000001"
    )
    why = "The integration tests download fixtures from the registry"
    asked = elevation.request(goal_id=other.id, mode="full-access", justification=why, actor=Actor("U_APP1"))
    assert asked.id is not None
    with transaction(engine) as session:
        row = session.get(ModeRequest, asked.id)
        assert row is not None
        row.message_ts = "200.000009"
        session.add(row)

    # Clicked in the other goal's thread, on a message that is not this request: refused, audited.
    with pytest.raises(WrongMessage):
        elevation.decide(
            request_id=asked.id,
            goal_id=other.id,
            grant=True,
            actor=Actor("U_APP2"),
            clicked=ClickedMessage("C1", "100.000005", mine.thread_ts),
        )
    assert goals.get(other.id).mode == "read-only"
    granted = elevation.decide(
        request_id=asked.id,
        goal_id=other.id,
        grant=True,
        actor=Actor("U_APP2"),
        clicked=ClickedMessage("C1", "200.000009", other.thread_ts),
    )
    assert granted.status == "granted" and goals.get(other.id).mode == "full-access"
