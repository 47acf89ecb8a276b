"""`audit verify | export | tail` through Typer's CliRunner against a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli.audit_cmd import register
from storage.audit import append_audit, drop_audit_guards
from storage.db import make_engine, transaction
from tests.support.databases import audit_only

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    audit_only(eng)
    with transaction(eng) as session:
        append_audit(session, actor="U0REQ", action="goal.started", goal_id="G-0001", phase="scaffold", at=T0)
        append_audit(
            session,
            actor="U0APPROVER",
            action="artifact.approved",
            goal_id="G-0001",
            phase="prd",
            artifact_sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            run_id="r-42",
            payload={"version": 2},
            at=T0 + timedelta(minutes=5),
        )
        append_audit(
            session,
            actor="cli:ops",
            action="mode.elevated",
            goal_id="G-0002",
            mode="network",
            justification="needs the package registry\nfor the build",
            at=T0 + timedelta(days=1),
        )
    yield eng
    eng.dispose()


@pytest.fixture
def app(engine: Engine) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A tiny host app, as the product's CLI is."""

    register(app, lambda: engine)
    return app


runner = CliRunner()


def test_verify_reports_an_intact_chain(app: typer.Typer) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "audit: 3 entries, chain intact"


def test_verify_exits_1_and_names_the_broken_entry(app: typer.Typer, engine: Engine) -> None:
    with engine.begin() as conn:
        drop_audit_guards(conn)
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert result.stderr.startswith("audit: chain broken at entry 2 (edited): ")


def test_export_writes_one_json_object_per_entry_with_a_run_link(app: typer.Typer) -> None:
    result = runner.invoke(app, ["audit", "export", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3]
    approved = records[1]
    assert approved["action"] == "artifact.approved"
    assert approved["run"] == ".runs/r-42/"
    assert approved["payload"] == {"version": 2}
    assert approved["at"] == "2024-05-01T09:35:00.000000+00:00"
    assert records[0]["run"] is None
    assert approved["prev_hash"] == records[0]["hash"]


def test_export_filters_by_goal_and_since_and_writes_to_a_file(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(
        app, ["audit", "export", "--goal", "G-0001", "--since", "2024-05-01T09:31:00", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["seq"] for r in records] == [2]
    assert "1 entries written" in result.stderr


def test_export_refuses_an_unknown_format_and_a_bad_date(app: typer.Typer) -> None:
    assert runner.invoke(app, ["audit", "export", "--format", "csv"]).exit_code == 2
    assert runner.invoke(app, ["audit", "export", "--since", "last tuesday"]).exit_code == 2


def test_tail_shows_compact_lines_oldest_first(app: typer.Typer) -> None:
    result = runner.invoke(app, ["audit", "tail", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "#2 2024-05-01T09:35:00Z U0APPROVER artifact.approved goal=G-0001 phase=prd sha=e3b0c44298fc run=r-42",
        '#3 2024-05-02T09:30:00Z cli:ops mode.elevated goal=G-0002 mode=network why="needs the package registry for the build"',
    ]
