"""`make demo` without a person at the terminal: the scripted walkthrough reaches a committed change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.local.demo import wants_walkthrough


@pytest.mark.slow
def test_the_walkthrough_takes_a_goal_to_a_committed_change_and_exits_0(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--walkthrough"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "riley  › /orch start" in out
    assert "oscar  ✗ clicks Approve; only oscar sees: You are not an approver" in out
    assert "avery  ✎ requests changes on PRD v1" in out
    assert "blake  ✓ approves PRD v2" in out and "avery  ✓ approves Task List v1" in out
    assert "G-0001 is done" in out
    assert "goal done" in out and "Mirrors under docs/: " in out
    repo = tmp_path / ".orch" / "demo" / "repo"
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert "changes requested on PRD v1" in log and "goal done" in log
    assert len(out.splitlines()) < 60, "the transcript should stay compact"


def test_the_demo_runs_the_walkthrough_when_nobody_is_at_a_terminal() -> None:
    assert wants_walkthrough(None, interactive=False, env={})
    assert wants_walkthrough(None, interactive=True, env={"CI": "true"})
    assert not wants_walkthrough(None, interactive=True, env={})
    assert wants_walkthrough(True, interactive=True, env={})
    assert not wants_walkthrough(False, interactive=False, env={"CI": "true"})
