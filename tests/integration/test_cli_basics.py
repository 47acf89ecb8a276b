"""The `orch` command itself: version, help, doctor."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import __version__
from bot.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"orch {__version__}"


def test_doctor_reports_problems_without_printing_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         target_repo: Path) -> None:
    monkeypatch.setenv("ORCH_DATABASE_URL", f"sqlite:///{tmp_path / 'orch.db'}")
    monkeypatch.setenv("ORCH_REPO", str(target_repo))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-0000-1111-doctorsecret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "doctor-signing-secret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens there
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "✓ database" in result.output and "✓ target repository" in result.output
    assert "✗ slack web api" in result.output
    assert "doctorsecret" not in result.output and "doctor-signing-secret" not in result.output


def test_doctor_names_a_merge_left_half_way_and_a_lock_left_by_a_dead_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path
) -> None:
    import os
    import subprocess
    import time

    monkeypatch.setenv("ORCH_DATABASE_URL", f"sqlite:///{tmp_path / 'orch.db'}")
    monkeypatch.setenv("ORCH_REPO", str(target_repo))
    lock = target_repo / ".git" / "index.lock"
    lock.write_text("")
    os.utime(lock, (time.time() - 7200, time.time() - 7200))
    result = runner.invoke(app, ["doctor"])
    assert (
        "✓ target repository" in result.output and "index.lock left by a process that died" in result.output
    )
    lock.unlink()

    git = ["git", "-C", str(target_repo), "-c", "user.name=P", "-c", "user.email=p@example.invalid"]
    subprocess.run([*git, "switch", "-q", "-c", "side"], check=True)
    (target_repo / "README.md").write_text("side\n")
    subprocess.run([*git, "commit", "-q", "-am", "side"], check=True)
    subprocess.run([*git, "switch", "-q", "main"], check=True)
    (target_repo / "README.md").write_text("main\n")
    subprocess.run([*git, "commit", "-q", "-am", "main"], check=True)
    subprocess.run([*git, "merge", "-q", "side"], capture_output=True)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "✗ target repository" in result.output and "a merge is in progress" in result.output
    assert "git merge --abort" in result.output
