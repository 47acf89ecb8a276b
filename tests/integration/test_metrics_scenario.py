"""The issue's scenario: a goal walked correctly through every gate reports 1/1, even when another
deployment's G-0001 left run records in the same working directory and the same repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sop_cli import OrchCli, setup_env


def foreign_run(folder: Path, run_id: str, **extra: object) -> None:
    """A build run of another deployment's G-0001, started long before ours."""
    (folder / run_id).mkdir(parents=True)
    meta = {
        "run_id": run_id,
        "goal_id": "G-0001",
        "phase": "implementation",
        "role": "builder",
        "backend": "codex",
        "task_id": 1,
        "status": "completed",
        "started_at": "2020-01-01T09:00:00Z",
        "ended_at": "2020-01-01T09:05:00Z",
        **extra,
    }
    (folder / run_id / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / run_id / "diff.patch").write_text("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+x\n")


def test_a_goal_walked_through_every_gate_reports_one_of_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    setup_env(monkeypatch, tmp_path, target_repo)
    monkeypatch.delenv("ORCH_RUNS_DIR", raising=False)
    # Another deployment, started from the same directory: an older version kept its records in
    # `.runs/` of the working directory (no tag), a newer one in the repository (its own tag).
    foreign_run(work / ".runs", "run-20200101-090000-aaaaaa")
    foreign_run(target_repo / ".runs", "run-20200101-090000-bbbbbb", deployment_id="dep-someoneelse00")
    orch = OrchCli()
    orch("goal", "start", "Add CSV export of invoices. Finance wants a download button.", "--as", "U_REQ")
    for approver in ("U_LEAD", "U_LEAD", "U_QA", "U_LEAD"):  # scaffold, PRD, task list, action plan
        orch("goal", "approve", "G-0001", "--as", approver)
    for _ in range(10):  # each task's diff, until the goal is done
        if json.loads(orch("goal", "show", "G-0001", "--json").stdout)["state"] == "done":
            break
        orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    out = orch("metrics").stdout
    assert "Gates approved before implementation: 1/1 (100.0%)" in out, out
    # The offline builder writes scaffolds: honest metrics never call those clean.
    assert "Automation runs without manual fix-ups: 0/" in out, out
    assert "offline scaffold" in out
