"""What the manager's tools actually do, against the live services (never serialized).

The run's context is a plain mapping (goal id, task id, run id, version, feedback) so the SDK can
store it in the paused run state; everything live (settings, database, git) is reached from here,
which a fresh process rebuilds after a restart.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Protocol

from bot.agents.implement import run_builder, run_configured_tests
from bot.agents.tools.reviewer import review_material
from bot.observability.runs import RunRecorder
from bot.repo.diffstat import diffstat
from bot.services.goals import GoalService
from bot.services.unit import Clock
from bot.sop.phases import Decision
from bot.sop.records import TaskRecord
from storage.db import read_session
from storage.repositories import AgentRuns, Approvals
from storage.sessions import Engine


class ImplementationManager(Protocol):
    """What the workbench uses of `bot.agents.manager.ImplementationManager`, which owns it."""

    @property
    def settings(self) -> Any: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def goals(self) -> GoalService: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def runs_root(self) -> Path: ...

    @property
    def git(self) -> Any: ...


class Workbench:
    def __init__(self, manager: ImplementationManager) -> None:
        self.m = manager

    # -- helpers -------------------------------------------------------------------------------

    def task(self, ctx: dict[str, Any]) -> TaskRecord:
        goal = self.m.goals.get(ctx["goal_id"])
        raw = next((t for t in goal.tasks if int(t["id"]) == int(ctx["task_id"])), None)
        if raw is None:
            raise LookupError(f"{goal.id} has no task {ctx['task_id']}")
        return TaskRecord.model_validate(raw)

    def worktree(self, ctx: dict[str, Any]) -> Path:
        return Path(self.m.git(ctx["goal_id"]).worktree_add(ctx["goal_id"]))

    def recorder(self, ctx: dict[str, Any]) -> RunRecorder:
        return RunRecorder.reopen(self.m.runs_root, ctx["run_id"], clock=self.m.clock)

    def diff(self, ctx: dict[str, Any]) -> str:
        return str(self.m.git(ctx["goal_id"]).diff(self.worktree(ctx)))

    # -- the tools' bodies ---------------------------------------------------------------------

    async def build(self, ctx: dict[str, Any], instructions: str) -> str:
        def work() -> str:
            goal = self.m.goals.get(ctx["goal_id"])
            task = self.task(ctx)
            guidance = "\n\n".join(x for x in (ctx.get("feedback"), instructions) if x)
            recorder = self.recorder(ctx)
            summary, _by, _offline = run_builder(
                settings=self.m.settings,
                task=task,
                worktree=self.worktree(ctx),
                feedback=guidance or None,
                mode=goal.mode,
                recorder=recorder,
            )
            files = diffstat(self.diff(ctx))
            changed = (
                ", ".join(f"{path} (+{added}/-{removed})" for path, added, removed in files) or "no files"
            )
            return f"{summary}\n\nThe worktree now differs from main in: {changed}."

        return await asyncio.to_thread(work)

    async def run_tests(self, ctx: dict[str, Any]) -> str:
        def work() -> str:
            run = run_configured_tests(self.m.settings, self.worktree(ctx))
            if run is None:
                return "No test command is configured (ORCH_TEST_COMMAND); nothing was run."
            recorder = self.recorder(ctx)
            recorder.record_tests(run)
            return f"{run.summary()}\n{run.output[-4000:]}"

        return await asyncio.to_thread(work)

    async def review_material(self, ctx: dict[str, Any]) -> str:
        def work() -> str:
            return review_material(self.task(ctx).acceptance_criteria, self.diff(ctx))

        return await asyncio.to_thread(work)

    async def approval_outcome(self, ctx: dict[str, Any]) -> str:
        """Runs only once the SDK call was approved, which happens only after a person approved."""
        decision = self.decision(ctx["run_id"])
        if decision is None or decision[0] != Decision.APPROVE:
            return "No approval is recorded for this diff."
        return decision[1]

    def decision(self, run_id: str) -> tuple[Decision, str] | None:
        """The people's decision on the diff this run posted, or None while it is pending."""
        with read_session(self.m.engine) as session:
            row = AgentRuns(session).get(run_id)
            if row is None or row.artifact_sha256 is None:
                return None
            # The version too: a redo can produce the very same diff (same sha256) as the version
            # a person sent back, and that earlier "request changes" must not count against it.
            version = int(json.loads(row.context_json).get("version", 1))
            approvals = Approvals(session).of_exact_version(
                goal_id=row.goal_id, sha256=row.artifact_sha256, version=version
            )
        for a in approvals:
            if a.decision in (Decision.REQUEST_CHANGES, Decision.REJECT):
                verb = "requested changes" if a.decision == Decision.REQUEST_CHANGES else "rejected the diff"
                return Decision(a.decision), f"{a.by} {verb}: {a.reason or '(no reason given)'}"
        approvers = sorted({a.by for a in approvals if a.decision == Decision.APPROVE})
        if len(approvers) >= self.m.goals.approvals_required:
            return Decision.APPROVE, (
                f"Approved by {', '.join(approvers)}. The orchestrator merges and commits "
                "the change; nothing more to do for this task."
            )
        return None
