"""A build paused at its budget runs nowhere: Stop and a steering reply say so and point at the
budget's buttons, instead of promising that another process will stop it or read the reply; after
a raise, both behave as for a running build again (real SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.services.authority import ApproverDirectory
from bot.services.budgets import PAUSED, RAISED
from bot.services.build_steer import steer_build
from bot.services.build_stop import PausedAtBudget, stop_build, stop_requested_by
from bot.services.goals import GoalService
from bot.services.unit import Actor, audit, system_clock
from bot.sop.phases import Phase, PhaseStatus
from storage.db import transaction
from storage.models import Goal


@pytest.fixture
def goals(engine: Engine) -> GoalService:
    service = GoalService(
        engine=engine, directory=ApproverDirectory(users=frozenset({"U_APP1"})), clock=system_clock
    )
    goal = service.start_goal(brief="Export invoices as CSV", actor=Actor("U_REQ"))
    with transaction(engine) as session:
        row = session.get(Goal, goal.id)
        assert row is not None
        row.phase = Phase.IMPLEMENTATION.value
        row.status = PhaseStatus.DRAFTING
        session.add(row)
    return service


def _record(goals: GoalService, action: str) -> None:
    with transaction(goals.engine) as session:
        audit(
            session,
            actor=Actor("scheduler"),
            action=action,
            now=goals.clock(),
            goal=session.get(Goal, "G-0001"),
        )


def test_stop_and_a_steer_while_paused_at_the_budget_say_it_is_paused(goals: GoalService) -> None:
    _record(goals, PAUSED)
    since = goals.clock()
    with pytest.raises(PausedAtBudget, match="paused at its budget"):
        stop_build(goals, goal_id="G-0001", actor=Actor("U_REQ"))
    assert stop_requested_by(goals, goal_id="G-0001", since=since) is None  # nothing recorded
    steer = steer_build(goals, goal=goals.get("G-0001"), actor=Actor("U_APP1"), text="use commas")
    assert steer.outcome == "paused" and "not sent" in steer.reply()
    # Someone who may not steer it is still told that first.
    assert steer_build(goals, goal=goals.get("G-0001"), actor=Actor("U_OTHER"), text="x").outcome == "refused"


def test_after_a_raise_stop_and_steer_reach_the_build_again(goals: GoalService) -> None:
    _record(goals, PAUSED)
    _record(goals, RAISED)
    since = goals.clock()
    assert (
        stop_build(goals, goal_id="G-0001", actor=Actor("U_REQ")) is False
    )  # recorded for the process running it
    assert stop_requested_by(goals, goal_id="G-0001", since=since) == "U_REQ"
    steer = steer_build(goals, goal=goals.get("G-0001"), actor=Actor("U_APP1"), text="use commas")
    assert steer.outcome == "recorded"
