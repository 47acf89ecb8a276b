"""Task Master round trip of a real goal's task list through `orch tasks export-taskmaster|import-taskmaster`.

The goal is walked to an approved Task List by the CLI, so the index holds tasks the engine wrote;
then a realistic Task Master file (tags, subtasks, "2.1"-style dependencies, unknown keys, unicode)
goes in through the gate (a Task List draft an approver approves) and comes back out byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.sop.index import load_index
from tests.support.sop_cli import OrchCli, RepoWatch, setup_env

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "taskmaster" / "tasks.json"


@pytest.fixture
def orch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path) -> OrchCli:
    setup_env(monkeypatch, tmp_path, target_repo)
    return OrchCli()


def test_a_goals_task_list_round_trips_through_task_master_without_loss(
    orch: OrchCli, target_repo: Path, tmp_path: Path
) -> None:
    repo = str(target_repo)
    orch("goal", "start", "Add CSV export of invoices", "--as", "U_REQ")
    orch("goal", "start", "Nightly cleanup of expired sessions", "--as", "U_REQ")
    for _ in range(3):
        orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    for _ in range(2):
        orch("goal", "approve", "G-0002", "--as", "U_LEAD")  # G-0002 waits at its Task List
    RepoWatch(target_repo).check()
    engine_tasks = load_index(target_repo).goal("G-0001").tasks
    assert engine_tasks

    # Our own tasks out: the exported file lists them; importing it into a goal past its Task List
    # is refused, with the index untouched.
    out = tmp_path / "g1.json"
    orch("tasks", "export-taskmaster", "--repo", repo, "--goal", "G-0001", "--output", str(out))
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert [t["id"] for t in exported["master"]["tasks"]] == [t.id for t in engine_tasks]
    assert exported["master"]["metadata"]["description"] == "Tasks of G-0001: Add CSV export of invoices"
    before = (target_repo / "tasks/index.json").read_bytes()
    refused = orch("tasks", "import-taskmaster", str(out), "--repo", repo, "--goal", "G-0001", code=1)
    assert "not the Task List" in refused.output
    assert (target_repo / "tasks/index.json").read_bytes() == before

    # A realistic Task Master file into G-0002 is proposed as its next Task List version, shown with
    # what changed; the index changes only when an approver approves it.
    result = orch(
        "tasks", "import-taskmaster", str(FIXTURE), "--repo", repo, "--goal", "g-0002", "--as", "U_REQ"
    )
    assert "proposed Task List v2 of G-0002" in result.stdout and "it waits for approval" in result.stdout
    assert (target_repo / "tasks/index.json").read_bytes() == before
    shown = json.loads(orch("goal", "show", "G-0002", "--json").output)
    assert shown["status"] == "awaiting_approval", shown
    orch("goal", "approve", "G-0002", "--as", "U_LEAD")
    RepoWatch(target_repo).check()
    canonical = (target_repo / "tasks/G-0002/tasks.md").read_text(encoding="utf-8")
    assert "Imported from the Task Master file `tasks.json`" in canonical
    changes = canonical.split("## Changes from the current task list")[1].split("## Tasks")[0]
    assert "- changed 1. " in changes or "- added 1. " in changes, changes
    index = load_index(target_repo)  # schema-validated on read
    imported = index.goal("G-0002").tasks
    assert [t.id for t in imported] == [1, 2, 3, 4]
    assert [s.dependencies for s in imported[1].subtasks] == [[], [1], ["2.1", 2]]
    assert imported[1].subtasks[2].title.endswith("café, naïve, 請求書")
    assert index.goal("G-0001").tasks == engine_tasks
    copy = tmp_path / "copy.json"
    shutil.copyfile(FIXTURE, copy)
    orch("tasks", "export-taskmaster", "--repo", repo, "--goal", "G-0002", "--output", str(copy))
    assert copy.read_bytes() == FIXTURE.read_bytes()
    # Printed to stdout it is the same task list again.
    printed = json.loads(orch("tasks", "export-taskmaster", "--repo", repo, "--goal", "G-0002").stdout)
    assert printed["master"]["tasks"] == json.loads(FIXTURE.read_text(encoding="utf-8"))["master"]["tasks"]
    # The same file again changes nothing, so there is nothing to propose.
    again = orch("tasks", "import-taskmaster", str(FIXTURE), "--repo", repo, "--goal", "G-0002", code=1)
    assert "not the Task List" in again.output or "nothing to propose" in again.output
    assert "no problems" in orch("spec-guard", "--repo", repo).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export-taskmaster", "--goal", "../G-0001"), "no goal ../G-0001"),
        (("export-taskmaster", "--goal", "G-0404"), "no goal G-0404"),
        (("import-taskmaster", "missing.json", "--goal", "G-0001"), "missing.json"),
    ],
)
def test_task_master_commands_refuse_bad_input_with_a_message(
    orch: OrchCli, target_repo: Path, args: tuple[str, ...], message: str
) -> None:
    orch("goal", "start", "Add CSV export of invoices", "--as", "U_REQ")
    before = (target_repo / "tasks/index.json").read_bytes()
    out = orch("tasks", *args, "--repo", str(target_repo), code=2)
    assert message in out.output
    assert (target_repo / "tasks/index.json").read_bytes() == before
