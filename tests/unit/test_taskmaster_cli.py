"""`tasks import-taskmaster` / `tasks export-taskmaster` against tasks/index.json in a folder.

An import goes through the gate (tests/integration/test_cli_taskmaster_goal.py); here its bad input
is refused before anything is read or written, and export is checked on tasks seeded in the index.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import repo_cmd as cli_repo
from bot.sop.index import INDEX_PATH, load_index, save_index
from bot.sop.records import GoalRecord, IndexFile
from bot.sop.taskmaster import read_taskmaster

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "taskmaster" / "tasks.json"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    cli_repo.register(app)
    return app


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    goals = [
        GoalRecord(id=g, title=f"Goal {g}", requester="U1", phase="task_list", status="drafting", created=T0,
                   updated=T0)
        for g in ("G-0001", "G-0002")
    ]  # fmt: skip
    save_index(tmp_path, IndexFile(goals=goals))
    return tmp_path


def run(cli: typer.Typer, *args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def seed(repo: Path, goal_id: str) -> None:
    """The fixture's tasks in the goal's index entry, as an approved import leaves them."""
    index = load_index(repo)
    tasks = read_taskmaster(json.loads(FIXTURE.read_text(encoding="utf-8"))).tasks
    index.upsert(index.goal(goal_id).model_copy(update={"tasks": tasks}))  # type: ignore[union-attr]
    save_index(repo, index)


def test_imported_tasks_export_back_to_the_task_master_file(
    cli: typer.Typer, repo: Path, tmp_path: Path
) -> None:
    seed(repo, "G-0002")
    index = load_index(repo)
    assert [t.id for t in index.goal("G-0002").tasks] == [1, 2, 3, 4]
    assert index.goal("G-0001").tasks == []

    out = tmp_path / "copy.json"
    out.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    result = run(
        cli, "tasks", "export-taskmaster", "--repo", str(repo), "--goal", "G-0002", "--output", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == FIXTURE.read_bytes()


def test_export_to_stdout_describes_the_goal_in_new_metadata(cli: typer.Typer, repo: Path) -> None:
    seed(repo, "G-0001")
    result = run(cli, "tasks", "export-taskmaster", "--repo", str(repo), "--goal", "g-0001", "--tag", "inv")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["inv"]
    assert data["inv"]["metadata"]["description"] == "Tasks of G-0001: Goal G-0001"
    assert data["inv"]["metadata"]["created"] == "2025-03-01T00:00:00.000Z"
    assert len(data["inv"]["tasks"]) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--goal", "G-0009"], "no goal G-0009"),
        ([], "name the goal with --goal"),
        (["--goal", "--upload-pack=x"], "no goal"),
        (["--goal", "G-0001", "--tag", "nope"], "no tag 'nope'"),
    ],
)
def test_import_errors_are_one_line_without_traceback(
    cli: typer.Typer, repo: Path, args: list[str], message: str
) -> None:
    before = (repo / INDEX_PATH).read_bytes()
    result = run(cli, "tasks", "import-taskmaster", str(FIXTURE), "--repo", str(repo), *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert (repo / INDEX_PATH).read_bytes() == before


def test_a_file_that_is_not_json_or_missing_is_a_clear_error(
    cli: typer.Typer, repo: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    result = run(cli, "tasks", "import-taskmaster", str(bad), "--repo", str(repo), "--goal", "G-0001")
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
    result = run(cli, "tasks", "import-taskmaster", str(tmp_path / "none.json"), "--repo", str(repo))
    assert result.exit_code == 2 and "error:" in result.stderr and "Traceback" not in result.output


def test_export_refuses_to_overwrite_a_file_that_is_not_task_master_json(
    cli: typer.Typer, repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "notes.json"
    out.write_text("[1, 2]", encoding="utf-8")
    result = run(
        cli, "tasks", "export-taskmaster", "--repo", str(repo), "--goal", "G-0001", "--output", str(out)
    )
    assert result.exit_code == 2 and "not a Task Master file" in result.stderr
    assert out.read_text(encoding="utf-8") == "[1, 2]"
