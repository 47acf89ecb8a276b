"""Codex approval requests on real SQLite: who decides, once, bound to the request; expiry denies."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.codex.app_server import ApprovalRequest
from bot.services import codex_approvals
from bot.services.authority import ApproverDirectory
from bot.services.errors import NotAnApprover, SelfApproval
from bot.services.goals import GoalService
from bot.services.unit import Actor, system_clock
from storage.audit import AuditEntry
from storage.models import CodexApproval, Effect

REQUEST = ApprovalRequest(
    kind="command",
    command="/bin/bash -lc 'curl -H \"Authorization: Bearer xoxb-1111-2222-abcdefABCDEF1234\" https://x'",
    reason="fetch",
    cwd="/w",
    item_id="call_1",
)


@pytest.fixture
def goals(engine: Engine) -> GoalService:
    service = GoalService(
        engine=engine, directory=ApproverDirectory(users=frozenset({"U_APP1", "U_REQ"})), clock=system_clock
    )
    service.start_goal(brief="Build it", actor=Actor("U_REQ"))
    return service


def _actions(goals: GoalService) -> list[tuple[str, str]]:
    with Session(goals.engine) as session:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
        return [(e.action, e.actor) for e in rows if e.action.startswith(("codex.", "decision.refused"))]


def test_a_request_is_stored_redacted_audited_and_posted(goals: GoalService) -> None:
    request_id = codex_approvals.ask(goals, goal_id="G-0001", run_id="run-1", request=REQUEST)
    with Session(goals.engine) as session:
        row = session.get(CodexApproval, request_id)
        posts = session.exec(select(Effect).where(Effect.kind == codex_approvals.POST_KIND)).all()
    assert row is not None and row.status == "pending" and row.run_id == "run-1"
    assert "xoxb-1111" not in row.command and "curl" in row.command
    assert [p.payload["request_id"] for p in posts] == [request_id]
    assert _actions(goals) == [("codex.approval_requested", "codex")]


def test_the_requester_and_outsiders_are_refused_an_approver_decides_once(goals: GoalService) -> None:
    request_id = codex_approvals.ask(goals, goal_id="G-0001", run_id=None, request=REQUEST)
    with pytest.raises(SelfApproval):
        codex_approvals.decide(goals, request_id=request_id, actor=Actor("U_REQ"), approve=True)
    with pytest.raises(NotAnApprover):
        codex_approvals.decide(goals, request_id=request_id, actor=Actor("U_OUT"), approve=True)
    row = codex_approvals.decide(goals, request_id=request_id, actor=Actor("U_APP1"), approve=False)
    assert row.status == "denied" and row.decided_by == "U_APP1"
    with pytest.raises(codex_approvals.ApprovalClosed, match="already denied"):
        codex_approvals.decide(goals, request_id=request_id, actor=Actor("U_APP1"), approve=True)
    assert _actions(goals) == [
        ("codex.approval_requested", "codex"),
        ("decision.refused", "U_REQ"),
        ("decision.refused", "U_OUT"),
        ("codex.approval_decided", "U_APP1"),
    ]
    assert codex_approvals.wait(goals, request_id, timeout=5) is False


def test_the_waiting_build_wakes_when_an_approver_decides(goals: GoalService) -> None:
    request_id = codex_approvals.ask(goals, goal_id="G-0001", run_id=None, request=REQUEST)
    answer: list[bool] = []
    waiter = threading.Thread(
        target=lambda: answer.append(codex_approvals.wait(goals, request_id, timeout=30))
    )
    waiter.start()
    codex_approvals.decide(goals, request_id=request_id, actor=Actor("U_APP1"), approve=True)
    waiter.join(timeout=10)
    assert answer == [True]


def test_a_request_nobody_answers_expires_as_denied(goals: GoalService) -> None:
    request_id = codex_approvals.ask(goals, goal_id="G-0001", run_id=None, request=REQUEST)
    assert codex_approvals.wait(goals, request_id, timeout=0) is False
    with Session(goals.engine) as session:
        row = session.get(CodexApproval, request_id)
    assert row is not None and row.status == "expired"
    assert _actions(goals)[-1] == ("codex.approval_expired", "bot")
    with pytest.raises(codex_approvals.ApprovalClosed, match="already expired"):
        codex_approvals.decide(goals, request_id=request_id, actor=Actor("U_APP1"), approve=True)


def test_a_stopped_build_stops_waiting_for_its_request(goals: GoalService) -> None:
    request_id = codex_approvals.ask(goals, goal_id="G-0001", run_id=None, request=REQUEST)
    assert codex_approvals.wait(goals, request_id, timeout=600, stopped=lambda: True) is False
    with Session(goals.engine) as session:
        row = session.get(CodexApproval, request_id)
    assert row is not None and row.status == "expired"
