"""Crash points for crash-safety tests.

`fault_point("name")` kills the process on the spot (`os._exit(86)`, no cleanup, no finally
blocks, no atexit) when the environment variable `ORCH_FAULT` names that point; several points
may be given as a comma-separated list. Tests run a small program with `ORCH_FAULT` set, then
run it again without and check that the effect happened exactly once.

Known points (add yours here with one line on where it sits):

- `after_mirror_write`: `bot.sop.publish`, after the canonical file, mirror, index and events
  are written and before the git commit.
- `after_git_commit`: `bot.sop.publish`, after the git commit and before returning, so the
  caller never learns that the effect succeeded.
- `after_state_commit`: `GoalService._committed`, after a use case committed its state, audit
  entry and effects, before the dispatcher is woken (nothing of it has reached Slack or git).
- `after_slack_post`: `SlackEffects.post`, after chat.postMessage answered, before its ts is stored.
- `before_effect_done`: the dispatcher, after an effect's handler succeeded, before it is marked done.
- `during_agent_job`: the `build` job, after the builder wrote the worktree, before the diff is recorded.
"""

from __future__ import annotations

import os
import sys

FAULT_ENV = "ORCH_FAULT"
FAULT_EXIT_CODE = 86
KNOWN_POINTS: dict[str, str] = {
    "after_mirror_write": "publish: files written, git commit not yet made",
    "after_git_commit": "publish: git commit made, result not yet returned",
    "after_state_commit": "service: state, audit and effects committed, dispatcher not yet woken",
    "after_slack_post": "Slack effect: message posted, its ts not yet stored",
    "before_effect_done": "dispatcher: handler succeeded, effect not yet marked done",
    "during_agent_job": "build job: worktree written, diff not yet recorded",
}


def armed_points() -> frozenset[str]:
    raw = os.environ.get(FAULT_ENV, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def fault_point(name: str) -> None:
    """Die at once with exit code 86 if `ORCH_FAULT` names this point; otherwise do nothing."""
    if name in armed_points():
        # Flush what was printed so a test can see how far the program got.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(FAULT_EXIT_CODE)
