"""An approver named only in `[repos.<name>] approvers` decides everything an approver decides on
that repository's goals — a Codex approval, a Retry of an empty build, a merge-conflict choice, a
budget raise — and an approver of another repository decides none of them (real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.codex.app_server import ApprovalRequest
from bot.config import Settings
from bot.services import codex_approvals
from bot.services.authority import ApproverDirectory
from bot.services.budgets import raise_budget
from bot.services.empty_build import record_empty_build, retry_empty_build
from bot.services.errors import InvalidInput, NotAnApprover
from bot.services.goals import GoalService
from bot.services.merges import rebuild_after_conflict, record_conflict
from bot.services.unit import Actor, system_clock
from bot.sop.phases import Phase, PhaseStatus
from storage.db import transaction
from storage.models import Goal

BILLING_ONLY = "U_BILL"  # an approver of the billing repository, of nothing else
WEB_ONLY = "U_WEB"  # an approver of another repository
REQUEST = ApprovalRequest(kind="command", command="make test", reason="run the tests", cwd="/w", item_id="c1")


@pytest.fixture
def goals(engine: Engine) -> GoalService:
    directory = ApproverDirectory(
        users=frozenset({"U_APP1"}),
        repos={"billing": (frozenset({BILLING_ONLY}), ()), "web": (frozenset({WEB_ONLY}), ())},
    )
    service = GoalService(
        engine=engine, directory=directory, clock=system_clock, repos=frozenset({"billing", "web"})
    )
    goal = service.start_goal(brief="Export invoices as CSV", actor=Actor("U_REQ"), repo="billing")
    with transaction(engine) as session:
        row = session.get(Goal, goal.id)
        assert row is not None
        row.phase = Phase.IMPLEMENTATION.value
        row.status = PhaseStatus.DRAFTING
        row.tasks = [{"id": 1, "title": "Export", "status": "in-progress"}]
        session.add(row)
    return service


def test_a_repository_approver_decides_a_codex_approval(goals: GoalService) -> None:
    request_id = codex_approvals.ask(goals, goal_id="G-0001", run_id=None, request=REQUEST)
    with pytest.raises(NotAnApprover):
        codex_approvals.decide(goals, request_id=request_id, actor=Actor(WEB_ONLY), approve=True)
    row = codex_approvals.decide(goals, request_id=request_id, actor=Actor(BILLING_ONLY), approve=True)
    assert row.status == "approved" and row.decided_by == BILLING_ONLY


def test_a_repository_approver_retries_an_empty_build(goals: GoalService) -> None:
    record_empty_build(
        goals, goal_id="G-0001", task_id=1, version=1, run_id="run-1", last_message="Nothing to do."
    )
    with pytest.raises(InvalidInput, match="requester or an approver"):
        retry_empty_build(goals, goal_id="G-0001", actor=Actor(WEB_ONLY))
    done = retry_empty_build(goals, goal_id="G-0001", actor=Actor(BILLING_ONLY))
    assert (done.task_id, done.version) == (1, 2)


def test_a_repository_approver_chooses_how_a_merge_conflict_goes_on(goals: GoalService) -> None:
    record_conflict(goals, goal_id="G-0001", task_id=1, version=1, files=["src/a.py"], base=None)
    with pytest.raises(InvalidInput, match="requester or an approver"):
        rebuild_after_conflict(goals, goal_id="G-0001", task_id=1, actor=Actor(WEB_ONLY))
    assert rebuild_after_conflict(goals, goal_id="G-0001", task_id=1, actor=Actor(BILLING_ONLY)) == 1
    [task] = goals.get("G-0001").tasks
    assert task["status"] == "in-progress" and "conflict" not in task  # built again on main


def test_a_repository_approver_raises_the_budget(goals: GoalService, tmp_path: Path) -> None:
    settings = Settings(repo=tmp_path / "repo", runs_dir=tmp_path / "runs", goal_budget=1.0)
    with pytest.raises(InvalidInput, match="Only an approver"):
        raise_budget(goals, settings, goal_id="G-0001", actor=Actor(WEB_ONLY), to=5.0)
    raised = raise_budget(goals, settings, goal_id="G-0001", actor=Actor(BILLING_ONLY), to=5.0)
    assert raised.budget == 5.0
    assert goals.get("G-0001").budget_usd == 5.0


def test_a_repository_approver_stops_and_steers_a_build_and_asks_for_a_mode(goals: GoalService) -> None:
    from bot.services.build_steer import steer_build
    from bot.services.build_stop import stop_build, stop_requested_by
    from bot.services.elevation import ElevationService

    goal = goals.get("G-0001")
    with pytest.raises(InvalidInput, match="requester or an approver"):
        stop_build(goals, goal_id="G-0001", actor=Actor(WEB_ONLY))
    since = system_clock()
    assert stop_build(goals, goal_id="G-0001", actor=Actor(BILLING_ONLY)) is False  # none runs here
    assert stop_requested_by(goals, goal_id="G-0001", since=since) == BILLING_ONLY  # recorded for it
    assert steer_build(goals, goal=goal, actor=Actor(WEB_ONLY), text="use csv").outcome == "refused"
    assert steer_build(goals, goal=goal, actor=Actor(BILLING_ONLY), text="use csv").outcome == "recorded"
    modes = ElevationService(engine=goals.engine, directory=goals.directory, clock=system_clock)
    why = "The tests download fixtures from the package index."
    with pytest.raises(InvalidInput, match="requester of G-0001 or an approver"):
        modes.request(goal_id="G-0001", mode="workspace-write", justification=why, actor=Actor(WEB_ONLY))
    asked = modes.request(
        goal_id="G-0001", mode="workspace-write", justification=why, actor=Actor(BILLING_ONLY)
    )
    assert asked.requested_by == BILLING_ONLY


def test_a_repository_approver_cancels_its_goal_and_another_repositorys_may_not(goals: GoalService) -> None:
    from bot.services.errors import ServiceError

    with pytest.raises(ServiceError):
        goals.cancel(goal_id="G-0001", actor=Actor(WEB_ONLY), reason="not needed")
    assert goals.get("G-0001").state == "active"
    assert goals.cancel(goal_id="G-0001", actor=Actor(BILLING_ONLY), reason="not needed").state == "cancelled"
