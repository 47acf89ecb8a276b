"""The audit log replayed against the state tables: what the services write agrees, and every
change made behind their back is named. Real SQLite and, when ORCH_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.services.audit_state import check_state
from bot.services.authority import ApproverDirectory
from bot.services.elevation import ElevationService
from bot.services.goals import GoalService
from bot.services.unit import Actor, system_clock
from bot.sop.phases import Decision

WHY = "The integration tests download fixtures from the registry"


@pytest.fixture
def walked(engine: Engine) -> Engine:
    """G-0001 granted full-access, its scaffold check approved and its PRD sent back; G-0002 cancelled."""
    directory = ApproverDirectory(users=frozenset({"U_APP1", "U_APP2"}))
    goals = GoalService(engine=engine, directory=directory, clock=system_clock)
    elevation = ElevationService(engine=engine, directory=directory, clock=system_clock)
    goal = goals.start_goal(brief="Build the invoice export", actor=Actor("U_REQ"))
    asked = elevation.request(goal_id=goal.id, mode="full-access", justification=WHY, actor=Actor("U_REQ"))
    assert asked.id is not None
    elevation.decide(request_id=asked.id, goal_id=goal.id, grant=True, actor=Actor("U_APP1"))
    for phase, decision, who in (
        ("scaffold_check", Decision.APPROVE, "U_APP1"),
        ("prd", Decision.REQUEST_CHANGES, "U_APP2"),
    ):
        goals.record_draft(
            goal_id=goal.id,
            phase=phase,
            version=1,
            content=f"# {phase}\n",
            summary=phase,
            drafted_by="offline",
            offline=True,
        )
        goals.decide(
            goal_id=goal.id,
            phase=None,
            sha256=None,
            decision=decision,
            actor=Actor(who),
            reason="Split it up",
        )
    other = goals.start_goal(brief="Something else entirely", actor=Actor("U_REQ"))
    goals.cancel(goal_id=other.id, actor=Actor("U_REQ"))
    return engine


def _sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_what_the_services_write_agrees_with_the_log(walked: Engine) -> None:
    report = check_state(walked)
    assert report.problems == [] and (report.goals, report.approvals) == (2, 2)


def test_a_mode_phase_or_state_set_behind_the_log_is_named(walked: Engine) -> None:
    _sql(
        walked,
        "UPDATE goals SET mode = 'read-only', phase = 'implementation' WHERE id = 'G-0001'",
        "UPDATE goals SET state = 'active' WHERE id = 'G-0002'",
    )
    problems = check_state(walked).problems
    assert len(problems) == 3, problems
    assert problems[0].startswith(
        "goal G-0001: mode is read-only but the audit log's last mode change (entry "
    )
    assert problems[0].endswith(") says full-access")
    assert "goal G-0001: phase is implementation but the audit log's last phase change" in problems[1]
    assert problems[1].endswith("says prd")
    assert "goal G-0002: state is active but the audit log's last state change" in problems[2]


def test_approval_rows_and_goals_without_their_entries_are_named(walked: Engine) -> None:
    _sql(
        walked,
        "UPDATE approvals SET decision = 'approve' WHERE decision = 'request_changes'",
        "INSERT INTO goals (id, title, brief, requester, source, phase, status, state, mode, priority, approvers, "
        "spec_triggers, tasks, phase_started_at, created_at, updated_at) VALUES ('G-0009', 't', 'b', 'U_X', 'cli', "
        "'implementation', 'drafting', 'active', 'full-access', 'medium', '[]', '[]', '[]', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    )
    problems = check_state(walked).problems
    assert (
        problems[0] == "goal G-0009: in the goals table, but the audit log has no goal.started entry for it"
    )
    assert problems[1].startswith(
        "approval row 2 for G-0001 prd v1 (approve by U_APP2) has no artifact.approved entry"
    )
    assert problems[2].endswith("(artifact.changes_requested on G-0001 by U_APP2) has no approval row")
    assert len(problems) == 3, problems
