"""The MCP tools' bodies (bot/agent_api/mcp_server.py declares them): goals, drafts, approvals, audit, Codex.

Kept apart so that `orch mcp` answers `initialize` before the database layer is imported: the server
imports this module on the first tool call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.agent_api.tool_limits import MAX_CONTENT
from bot.redact import redact, redact_obj
from bot.services.errors import GoalNotFound, InvalidInput, ServiceError
from bot.services.unit import GOAL_ID_RE, Actor
from bot.sop.phases import GoalState, Mode, Phase
from storage.db import read_session
from storage.models import Goal
from storage.repositories import Artifacts, AuditReads, Goals

if TYPE_CHECKING:
    from bot.app import Container

MAX_PROMPT_IN_AUDIT = 500
T = TypeVar("T")


def principal(c: Container) -> Actor:
    """Who every MCP tool call acts as (configuration, not the client, says)."""
    return Actor(c.settings.mcp_principal)


def _audit(c: Container, goal: Goal | None, action: str, **payload: Any) -> None:
    """One audit entry by the principal, through the goal service."""
    c.goals.record_activity(goal=goal, actor=principal(c), action=action, via="mcp", **payload)


def _goal_id(goal_id: str) -> str:
    goal_id = (goal_id or "").strip().upper()
    if not GOAL_ID_RE.match(goal_id):
        raise InvalidInput(f"{goal_id!r} is not a goal id (they look like G-0001)")
    return goal_id


def _summary(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "title": goal.title,
        "phase": goal.phase,
        "status": goal.status,
        "state": goal.state,
        "mode": goal.mode,
        "requester": goal.requester,
        "updated_at": goal.updated_at.isoformat(),
    }


def list_goals(c: Container, *, active_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    return [_summary(g) for g in c.goals.list(active_only=active_only, limit=max(1, min(limit, 200)))]


def get_goal(c: Container, goal_id: str) -> dict[str, Any]:
    goal_id = _goal_id(goal_id)
    with read_session(c.engine) as session:
        goal = Goals(session).get(goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        artifacts = Artifacts(session).of_goal(goal_id)
    return {
        **_summary(goal),
        "brief": goal.brief,
        "tasks": goal.tasks,
        "artifacts": [
            {
                "phase": a.phase,
                "version": a.version,
                "task_id": a.task_id,
                "sha256": a.sha256,
                "drafted_by": a.drafted_by,
                "summary": a.summary,
                "content": a.content,
            }
            for a in artifacts
        ],
    }


def submit_draft(c: Container, goal_id: str, content: str, summary: str) -> dict[str, Any]:
    """A new version of the current phase's artifact, posted for approval like any draft."""
    goal = c.goals.get(_goal_id(goal_id))
    if goal.state != GoalState.ACTIVE:
        raise InvalidInput(f"{goal.id} is {goal.state}; drafts are only taken for active goals")
    if goal.phase in (Phase.SCAFFOLD_CHECK.value, Phase.IMPLEMENTATION.value):
        raise InvalidInput(
            f"{goal.id} is at {goal.phase}: that artifact is produced by the orchestrator itself"
        )
    if not content.strip() or len(content) > MAX_CONTENT:
        raise InvalidInput(f"a draft needs content (at most {MAX_CONTENT} characters)")
    with read_session(c.engine) as session:
        versions = Artifacts(session).versions(goal.id, goal.phase)
    version = max(versions, default=0) + 1
    artifact = c.goals.record_draft(
        goal_id=goal.id,
        phase=goal.phase,
        version=version,
        content=redact(content),
        summary=redact(summary)[:300],
        drafted_by="mcp",
        offline=False,
    )
    if artifact is None:
        raise InvalidInput(f"{goal.id} moved on while the draft was submitted; read it again")
    _audit(c, goal, "mcp.draft_submitted", sha=artifact.sha256, version=artifact.version)
    return {
        "goal_id": goal.id,
        "phase": artifact.phase,
        "version": artifact.version,
        "sha256": artifact.sha256,
    }


def request_approval(c: Container, goal_id: str, note: str = "") -> dict[str, Any]:
    """Remind the goal's approvers in its thread that the current artifact waits for them."""
    goal_id = _goal_id(goal_id)
    artifact, approvers = c.goals.request_approval(goal_id=goal_id, actor=principal(c), note=note)
    return {
        "goal_id": goal_id,
        "phase": artifact.phase,
        "version": artifact.version,
        "sha256": artifact.sha256,
        "approvers": approvers,
    }


def read_audit(c: Container, goal_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    only = _goal_id(goal_id) if goal_id else None
    with read_session(c.engine) as session:
        rows = AuditReads(session).newest(goal_id=only, limit=max(1, min(limit, 500)))
    return [
        redact_obj(
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "goal_id": e.goal_id,
                "phase": e.phase,
                "run_id": e.run_id,
                "payload": e.payload_dict(),
            }
        )
        for e in reversed(rows)
    ]


def run_codex(c: Container, goal_id: str, prompt: str) -> dict[str, Any]:
    from bot.codex.on_goal import run_codex_on_goal
    from bot.repo.git import Identity, ensure_repo

    goal = c.goals.get(_goal_id(goal_id))
    if goal.state != GoalState.ACTIVE:
        raise InvalidInput(f"{goal.id} is {goal.state}; Codex only works on active goals")
    s = c.settings
    mode = goal.mode
    capped = mode == Mode.FULL_ACCESS.value and not s.mcp_allow_full_access
    if capped:
        mode = Mode.WORKSPACE_WRITE.value
    asked = redact(prompt)[:MAX_PROMPT_IN_AUDIT]
    _audit(c, goal, "codex.run_started", goal_mode=goal.mode, run_mode=mode, prompt=asked, source="mcp")
    git = ensure_repo(s.repo, init_if_missing=True, identity=Identity(name=s.git_name, email=s.git_email))
    try:
        run = run_codex_on_goal(settings=s, git=git, goal=goal, prompt=prompt, clock=c.clock, mode=mode)
    except Exception as exc:
        _audit(c, goal, "codex.run_failed", run_mode=mode, error=redact(str(exc))[:500])
        raise
    _audit(
        c,
        goal,
        "codex.run_finished",
        run_id=run.run_id,
        run_mode=mode,
        ok=run.ok,
        files=run.files[:50],
        worktree="scratch",
    )
    out = run.as_dict()
    out["mode"] = mode
    if capped:
        out["note"] = (
            f"{goal.id} is approved for full-access, but a run over MCP gets workspace-write "
            "(ORCH_MCP_ALLOW_FULL_ACCESS is off)."
        )
    return out


def _explained(call: Callable[[], T]) -> T:
    """Run a tool body; a refusal meant for people reaches the client as its message."""
    from mcp.server.mcpserver.exceptions import ToolError

    from bot.codex.binary import CodexNotInstalled
    from bot.codex.runner import CodexNotConfigured

    try:
        return call()
    except (ServiceError, CodexNotInstalled, CodexNotConfigured) as exc:
        raise ToolError(str(exc)) from exc
