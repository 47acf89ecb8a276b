"""A build that changed nothing holds the goal; Retry and Request changes run it again (real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.services.authority import ApproverDirectory
from bot.services.empty_build import NothingToRetry, record_empty_build, retry_empty_build
from bot.services.errors import InvalidInput
from bot.services.goals import GoalService
from bot.services.unit import Actor, system_clock
from bot.sop.phases import Phase, PhaseStatus
from storage.audit import AuditEntry
from storage.db import make_engine, transaction
from storage.jobs_models import Job
from storage.migrate import upgrade
from storage.models import Effect, Goal


@pytest.fixture
def goals(tmp_path: Path) -> GoalService:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    service = GoalService(
        engine=engine, directory=ApproverDirectory(users=frozenset({"U_APP1"})), clock=system_clock
    )
    goal = service.start_goal(brief="Export the report as CSV", actor=Actor("U_REQ"))
    with transaction(engine) as session:
        row = session.get(Goal, goal.id)
        assert row is not None
        row.phase = Phase.IMPLEMENTATION.value
        row.status = PhaseStatus.DRAFTING
        row.tasks = [{"id": 1, "title": "Export", "status": "in-progress"}]
        session.add(row)
    return service


def _effects(goals: GoalService, kind: str) -> list[Effect]:
    with Session(goals.engine) as session:
        return list(session.exec(select(Effect).where(Effect.kind == kind).order_by(col(Effect.id))))


def _jobs(goals: GoalService, kind: str) -> list[Job]:
    """Agent work (a build) is recorded as a job."""
    with Session(goals.engine) as session:
        return list(session.exec(select(Job).where(Job.kind == kind).order_by(col(Job.id))))


def _record(goals: GoalService, version: int = 1) -> bool:
    return record_empty_build(
        goals,
        goal_id="G-0001",
        task_id=1,
        version=version,
        run_id="run-1",
        last_message="Implemented export.py, tests passed.",
        failed_actions=["`echo x > made.txt` (exit 1)"],
    )


def test_an_empty_build_holds_the_goal_and_tells_the_thread_once(goals: GoalService) -> None:
    assert _record(goals) is True
    assert _record(goals) is False  # a replayed build records nothing twice
    assert goals.get("G-0001").status == PhaseStatus.FAILED
    [message] = _effects(goals, "slack.codex_empty_build")
    assert message.payload["last_message"] == "Implemented export.py, tests passed."
    assert message.payload["failed_actions"] == ["`echo x > made.txt` (exit 1)"]
    with Session(goals.engine) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "build.empty")).all()
    assert entry.run_id == "run-1" and entry.payload_dict()["version"] == 1


def test_retry_builds_the_next_version_with_the_directions_given(goals: GoalService) -> None:
    _record(goals)
    done = retry_empty_build(goals, goal_id="G-0001", actor=Actor("U_APP1"), feedback="Write the file.")
    assert (done.task_id, done.version) == (1, 2)
    [build] = _jobs(goals, "build")
    assert build.payload == {"task_id": 1, "version": 2, "feedback": "Write the file."}
    assert goals.get("G-0001").status == PhaseStatus.CHANGES_REQUESTED
    with pytest.raises(NothingToRetry):  # the second click finds nothing waiting
        retry_empty_build(goals, goal_id="G-0001", actor=Actor("U_REQ"))
    with Session(goals.engine) as session:
        retried = session.exec(select(AuditEntry).where(AuditEntry.action == "build.retried")).one()
    assert retried.actor == "U_APP1" and retried.payload_dict()["feedback"] == "Write the file."


def test_only_the_requester_or_an_approver_may_retry(goals: GoalService) -> None:
    _record(goals)
    with pytest.raises(InvalidInput, match="requester or an approver"):
        retry_empty_build(goals, goal_id="G-0001", actor=Actor("U_OUT"))
    assert _jobs(goals, "build") == []
    done = retry_empty_build(goals, goal_id="G-0001", actor=Actor("U_REQ"))
    assert done.version == 2 and goals.get("G-0001").status == PhaseStatus.DRAFTING


def test_a_goal_without_an_empty_build_has_nothing_to_retry(goals: GoalService) -> None:
    with pytest.raises(NothingToRetry):
        retry_empty_build(goals, goal_id="G-0001", actor=Actor("U_REQ"))
