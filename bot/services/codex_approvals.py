"""Codex's approval requests as decisions in the goal's thread.

During a build Codex may ask to do something its sandbox does not allow (a command outside the
worktree, network, a write elsewhere). The build's worker thread calls `ask_and_wait`: the request
is stored (`CodexApproval`, the exact command or patch, redacted) and audited, the thread gets a
message with Approve / Deny (bot/blocks/codex_approval.py), and the worker waits for the decision.
`decide` records a click: only the goal's approvers, never its requester (unless self-approval is
allowed), once per request, audited, bound to that request's id. A request nobody answers in time
expires and counts as denied: Codex goes on without it.

The row is the truth, so a click handled by another process is seen too (the waiter re-reads it);
within one process an event wakes the waiter at once.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.redact import redact
from bot.services.errors import InvalidInput, NotAnApprover, SelfApproval, ServiceError
from bot.services.unit import Actor, add_effect, audit
from bot.sop.effect_kinds import CodexApprovalRequest, ThreadNote
from storage.db import read_session, transaction
from storage.models import CodexApproval, Goal

if TYPE_CHECKING:
    from bot.codex.app_server import ApprovalRequest
    from bot.services.goals import GoalService

REQUESTED, DECIDED, EXPIRED = "codex.approval_requested", "codex.approval_decided", "codex.approval_expired"
POST_KIND = CodexApprovalRequest.KIND
MAX_COMMAND = 4000
RECHECK_SECONDS = 1.0  # how often a waiter re-reads the row (a click handled by another process)

_wakeups: dict[str, threading.Event] = {}
_wakeups_lock = threading.Lock()


class ApprovalClosed(ServiceError):
    def __init__(self, status: str) -> None:
        super().__init__(f"That request from Codex is already {status}; nothing changed.")


def _wakeup(request_id: str) -> threading.Event:
    with _wakeups_lock:
        return _wakeups.setdefault(request_id, threading.Event())


def ask(service: GoalService, *, goal_id: str, run_id: str | None, request: ApprovalRequest) -> str:
    """Store and announce one request; return its id."""
    now = service.clock()
    request_id = secrets.token_hex(8)
    with transaction(service.engine) as session:
        goal = session.get(Goal, goal_id)
        row = CodexApproval(
            id=request_id,
            goal_id=goal_id,
            run_id=run_id,
            kind=request.kind,
            command=redact(request.command)[:MAX_COMMAND],
            reason=redact(request.reason)[:1000],
            created_at=now,
        )
        session.add(row)
        audit(
            session,
            actor=Actor("codex"),
            action=REQUESTED,
            now=now,
            goal=goal,
            run_id=run_id,
            request=request_id,
            kind=row.kind,
            command=row.command,
            reason=row.reason,
        )
        add_effect(
            session,
            key=f"codex_approval:{request_id}",
            goal_id=goal_id,
            now=now,
            payload=CodexApprovalRequest(request_id=request_id),
        )
    _wakeup(request_id)
    service._committed()
    return request_id


def decide(service: GoalService, *, request_id: str, actor: Actor, approve: bool) -> CodexApproval:
    """Record an approver's Approve / Deny; refusals are audited and raised for the person."""
    now = service.clock()
    with transaction(service.engine) as session:
        row = session.get(CodexApproval, request_id, with_for_update=True)
        if row is None:
            raise InvalidInput(
                "That request from Codex is unknown; the button may be from another deployment."
            )
        goal = session.get(Goal, row.goal_id)
        assert goal is not None
        if row.status != "pending":
            raise ApprovalClosed(row.status)
        refusal: ServiceError | None = None
        if actor.id == goal.requester and not service.allow_self_approval:
            refusal = SelfApproval(goal.id)  # separation of duties: said first, it is the real reason
        elif not service.directory.is_approver(actor.id, repo=goal.repo):
            refusal = NotAnApprover(goal.id, "Codex approval")
        else:
            row.status = "approved" if approve else "denied"
            row.decided_by, row.decided_at = actor.id, now
            session.add(row)
            audit(
                session,
                actor=actor,
                action=DECIDED,
                now=now,
                goal=goal,
                run_id=row.run_id,
                request=row.id,
                decision=row.status,
                command=row.command,
            )
            decided = CodexApproval.model_validate(row.model_dump())
    if refusal is not None:
        service.refuse(goal_id=goal.id, actor=actor, reason=str(refusal), codex_request=request_id)
        raise refusal
    _wakeup(request_id).set()
    return decided


def _expire(service: GoalService, request_id: str, now: datetime) -> CodexApproval | None:
    with transaction(service.engine) as session:
        row = session.get(CodexApproval, request_id, with_for_update=True)
        if row is None or row.status != "pending":
            return row
        row.status, row.decided_at = "expired", now
        session.add(row)
        goal = session.get(Goal, row.goal_id)
        audit(
            session, actor=Actor("bot"), action=EXPIRED, now=now, goal=goal, run_id=row.run_id, request=row.id
        )
        if goal is not None and goal.channel_id:
            add_effect(
                session,
                key=f"note:{goal.id}:codex_approval:{row.id}:expired",
                goal_id=goal.id,
                now=now,
                payload=ThreadNote(
                    text=f"⌛ Codex's request `{row.id}` expired unanswered; Codex goes on without it."
                ),
            )
        return CodexApproval.model_validate(row.model_dump())


def wait(
    service: GoalService, request_id: str, *, timeout: float, stopped: Callable[[], bool] | None = None
) -> bool:
    """Block the build's worker until the request is decided (True: approved) or expires (False).

    A build stopped meanwhile (`stopped()`) stops waiting too: the request expires unanswered."""
    event = _wakeup(request_id)
    try:
        waited = 0.0
        while waited < timeout and not (stopped is not None and stopped()):
            with read_session(service.engine) as session:
                row = session.get(CodexApproval, request_id)
                if row is not None and row.status != "pending":
                    return row.status == "approved"
            step = min(RECHECK_SECONDS, timeout - waited)
            event.wait(step)
            waited += step
        row = _expire(service, request_id, service.clock())
        service._committed()
        return row is not None and row.status == "approved"
    finally:
        with _wakeups_lock:
            _wakeups.pop(request_id, None)


def ask_and_wait(
    service: GoalService,
    *,
    goal_id: str,
    run_id: str | None,
    request: ApprovalRequest,
    timeout: float,
    stopped: Callable[[], bool] | None = None,
) -> bool:
    request_id = ask(service, goal_id=goal_id, run_id=run_id, request=request)
    return wait(service, request_id, timeout=timeout, stopped=stopped)
