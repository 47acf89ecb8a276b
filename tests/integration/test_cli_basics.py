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
