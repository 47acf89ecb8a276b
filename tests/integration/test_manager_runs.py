"""Run records: written redacted, read back by `orch runs show`, never outside the runs folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.observability.runs import RunNotFound, RunRecorder, load_run

TOKEN = "xoxb-1111-2222-abcdefABCDEF1234"
KEY = "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789ABCD"


def clock() -> datetime:
    return datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_a_run_record_keeps_no_secret_and_orch_runs_show_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    rec = RunRecorder(
        root=runs,
        goal_id="G-0007",
        phase="implementation",
        role="builder",
        backend="codex",
        model="gpt-5.5",
        task_id=3,
        clock=clock,
    ).start(sandbox="workspace-write")
    rec.event(
        {
            "type": "item.completed",
            "item": {"type": "command_execution", "command": f"echo {TOKEN}", "exit_code": 0},
        }
    )
    rec.note("tests", command="pytest", api_key=KEY)
    rec.write_diff(f"+++ b/settings.py\n+OPENAI_API_KEY = '{KEY}'\n")
    rec.write_tests(f"FAILED: token {TOKEN} rejected\n")
    rec.finish("completed", usage={"input_tokens": 300, "output_tokens": 30})

    assert rec.run_id.startswith("run-20250304-050607-")
    on_disk = "".join(p.read_text() for p in (runs / rec.run_id).iterdir())
    assert TOKEN not in on_disk and KEY not in on_disk and "[REDACTED:" in on_disk
    record = load_run(runs, rec.run_id)
    assert record["meta"]["usage"] == {"input_tokens": 300, "output_tokens": 30}
    assert record["meta"]["ended_at"] == "2025-03-04T05:06:07Z"

    monkeypatch.setenv("ORCH_RUNS_DIR", str(runs))
    shown = CliRunner().invoke(app, ["runs", "show", rec.run_id])
    assert shown.exit_code == 0, shown.output
    assert "goal G-0007  phase implementation  task 3  role builder" in shown.output
    assert "item.completed command_execution echo xoxb-" in shown.output and TOKEN not in shown.output
    assert "usage input_tokens=300, output_tokens=30" in shown.output


def test_run_ids_that_are_not_ours_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "run.json").write_text("{}")
    with pytest.raises(RunNotFound):
        load_run(tmp_path / "runs", "../secret")
    monkeypatch.setenv("ORCH_RUNS_DIR", str(tmp_path / "runs"))
    shown = CliRunner().invoke(app, ["runs", "show", "../secret"])
    assert shown.exit_code == 1 and "no run record" in shown.output
