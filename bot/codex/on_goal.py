"""Run Codex with a free-form prompt on a goal's worktree (the MCP server's `run_codex` tool).

The change stays in the worktree: it reaches the main branch only as a diff a person approved.
The sandbox is the goal's approved mode, and the run writes its own record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.codex.runner import CodexConfig, run_codex
from bot.runs import RunRecorder, deployment_of, runs_dir_for

MAX_DIFF = 20_000


@dataclass(frozen=True)
class GoalCodexRun:
    run_id: str
    ok: bool
    summary: str
    files: list[str]
    diff: str
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        diff = (
            self.diff
            if len(self.diff) <= MAX_DIFF
            else self.diff[:MAX_DIFF] + "\n… (clipped; see the run record)"
        )
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "summary": self.summary,
            "files": self.files,
            "diff": diff,
            "error": self.error,
        }


def run_codex_on_goal(*, settings: Any, git: Any, goal: Any, prompt: str, clock: Any = None) -> GoalCodexRun:
    config = CodexConfig.from_settings(settings)
    worktree = Path(git.worktree_add(goal.id))
    recorder = RunRecorder(
        root=runs_dir_for(settings),
        deployment_id=deployment_of(settings),
        goal_id=goal.id,
        phase=goal.phase,
        role="codex",
        backend="codex",
        model=config.model,
        clock=clock,
    ).start(sandbox=goal.mode, source="mcp")
    recorder.note("prompt", text=prompt)
    result = run_codex(config, worktree=worktree, mode=goal.mode, prompt=prompt, on_event=recorder.event)
    diff = str(git.diff(worktree))
    recorder.write_diff(diff)
    error = None if result.ok else result.failure()
    recorder.finish("completed" if result.ok else "failed", usage=result.progress.usage, error=error)
    return GoalCodexRun(
        run_id=recorder.run_id,
        ok=result.ok,
        summary=result.progress.final_message,
        files=list(result.progress.files),
        diff=diff,
        error=error,
    )
