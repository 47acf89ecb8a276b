"""`orch` as people run it (`bot.cli.main`): what they type as arguments is redacted before any
command sees it, so the database, the repository and the audit export keep none of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.leaks import database_places, leaks, repo_places
from tests.support.sop_cli import setup_env

PAT = "github_pat_11BX8Q2Z7K0n4Wz8Xc3Vb7_Nm1Qa6Sd2Fg9Hj4Kl0Pz5Rt8Yu3Ie7Ow1Lq6Mv9Cx2Bn5"
PAIR = ("AKIAR7QW3ZX9TB2NLP5K", "Qw3Er7Ty1Ui5Op9As2Df6Gh0Jk4Lz8Xc3Vb7Nm1Q")
TYPED = [PAT, *PAIR, "password: hunter2", "s3cr&t9Zq"]


def orch(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["orch", *args])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code in (0, None)


def test_arguments_are_redacted_before_any_command_sees_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path
) -> None:
    setup_env(monkeypatch, tmp_path, target_repo)
    orch(monkeypatch, "goal", "start", "Add a CSV export of invoices for finance.", "--as", "U_REQ")
    feedback = f"Use {PAIR[0]} {PAIR[1]} and {PAT}.\nci:\n  password: hunter2\nlogin: password=s3cr&t9Zq"
    orch(monkeypatch, "goal", "request-changes", "G-0001", "--as", "U_LEAD", "--feedback", feedback)
    orch(monkeypatch, "goal", "reject", "G-0001", "--as", "U_QA", "--reason", f"Blocked on {PAT}")

    exported = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "export"], capture_output=True, text=True, check=True
    ).stdout
    places = [*database_places(tmp_path / "orch.db"), *repo_places(target_repo), ("audit export", exported)]
    assert leaks(TYPED, places) == []
    # The feedback was taken, with the secrets replaced rather than dropped.
    assert "Use AKIA[REDACTED:" in exported and "Blocked on github_pat_[REDACTED:" in exported


def test_a_task_master_file_is_redacted_before_it_reaches_the_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path
) -> None:
    setup_env(monkeypatch, tmp_path, target_repo)
    orch(monkeypatch, "goal", "start", "Add a CSV export of invoices for finance.", "--as", "U_REQ")
    # An import is proposed at the goal's Task List: walk the Scaffold Check and the PRD first.
    orch(monkeypatch, "goal", "approve", "G-0001", "--as", "U_LEAD")
    orch(monkeypatch, "goal", "approve", "G-0001", "--as", "U_LEAD")
    tasks = {
        "master": {
            "tasks": [
                {
                    "id": 1,
                    "title": "Upload the export",
                    "description": f"Push with {PAT}",
                    "details": f"bucket keys {PAIR[0]} {PAIR[1]}\nci:\n  password: hunter2",
                    "status": "pending",
                    "dependencies": [],
                    "priority": "high",
                    "subtasks": [],
                }
            ]
        }
    }
    source = tmp_path / "tasks.json"
    source.write_text(json.dumps(tasks), encoding="utf-8")
    orch(
        monkeypatch, "tasks", "import-taskmaster", str(source), "--repo", str(target_repo), "--goal", "G-0001"
    )
    # The proposal goes through the gate; the index holds the tasks once an approver approves them.
    orch(monkeypatch, "goal", "approve", "G-0001", "--as", "U_LEAD")
    index = (target_repo / "tasks" / "index.json").read_text(encoding="utf-8")
    assert "Upload the export" in index and "Push with github_pat_[REDACTED:" in index
    assert leaks(TYPED, [("tasks/index.json", index)]) == []
