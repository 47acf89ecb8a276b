"""Run Codex with a free-form prompt on a copy of a goal's work (the MCP server's `run_codex` tool).

The run gets a scratch worktree at the tip of the goal's branch, removed when it ends: its diff is
returned, and nothing it writes reaches the goal's worktree (and so the next diff a person is asked
to approve). The sandbox is the mode the caller allows, never more than the goal's approved one,
and the run writes its own record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.codex.app_server import AppServerTurn
from bot.codex.runner import CodexConfig
from bot.observability.runs import RunRecorder, deployment_of, runs_dir_for
from bot.redact import redact, redact_obj
from bot.repo.worktrees import scratch_diff, scratch_worktree

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
        """What a caller gets back, redacted like the run's `diff.patch`: a command Codex ran may
        have written a secret into the worktree, and the diff would carry it out verbatim."""
        diff = redact(self.diff)  # before clipping, so a cut cannot split a secret past recognition
        if len(diff) > MAX_DIFF:
            diff = diff[:MAX_DIFF] + "\n… (clipped; see the run record)"
        return redact_obj(
            {
                "run_id": self.run_id,
                "ok": self.ok,
                "summary": self.summary,
                "files": self.files,
                "error": self.error,
            }
        ) | {"diff": diff}


def run_codex_on_goal(
    *, settings: Any, git: Any, goal: Any, prompt: str, clock: Any = None, mode: str | None = None
) -> GoalCodexRun:
    """Run Codex in a scratch copy of the goal's branch, in `mode` (default: the goal's mode)."""
    config = CodexConfig.from_settings(settings)
    mode = mode or goal.mode
    recorder = RunRecorder(
        root=runs_dir_for(settings),
        deployment_id=deployment_of(settings),
        goal_id=goal.id,
        phase=goal.phase,
        role="codex",
        backend="codex",
        model=config.model,
        clock=clock,
    ).start(sandbox=mode, source="mcp", driver="app-server")
    recorder.note("prompt", text=prompt)
    with scratch_worktree(git, goal.id, recorder.run_id) as worktree:
        # Through the app-server, like a build: the same sandbox per mode, the model timeout and the
        # run record. Nobody is there to approve, so whatever needs an approval is refused.
        result = AppServerTurn(config, worktree, mode, on_event=recorder.event).run(prompt)
        diff = str(scratch_diff(git, worktree))
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
