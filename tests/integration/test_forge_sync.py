"""Bringing the base into a goal branch with the real git CLI: the files of record every goal writes
combine, and any other conflict is handed back with the branch untouched."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bot.forge.remote import run_remote
from bot.forge.sync import merge_base_into
from bot.sop.index import dump_index
from bot.sop.records import GoalRecord, IndexFile
from tests.conftest import init_repo

AT = datetime(2026, 12, 6, tzinfo=UTC)


def _index(*goals: str) -> str:
    records = [
        GoalRecord(
            id=g,
            title=g,
            requester="U1",
            phase="done",
            status="approved",
            state="done",
            created=AT,
            updated=AT,
        )
        for g in goals
    ]
    return dump_index(IndexFile(goals=records))


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True).stdout


def _commit(path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", message)


def _run(*args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    return run_remote(args, cwd=cwd, url=str(cwd), token=None, ok_codes=ok)


def _setup(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    _commit(repo, {"tasks/index.json": _index(), "docs/PRD.md": "# PRD\n", "tasks/events.jsonl": ""}, "start")
    _git(repo, "checkout", "-q", "-b", "goal")
    _commit(
        repo,
        {
            "tasks/index.json": _index("G-0002"),
            "docs/PRD.md": "# PRD\n\n## G-0002\nweekly digest\n",
            "tasks/events.jsonl": '{"id": "audit-2", "goal": "G-0002"}\n',
            "src/digest.py": "print('digest')\n",
        },
        "goal two",
    )
    _git(repo, "checkout", "-q", "main")
    _commit(
        repo,
        {
            "tasks/index.json": _index("G-0001"),
            "docs/PRD.md": "# PRD\n\n## G-0001\ncsv export\n",
            "tasks/events.jsonl": '{"id": "audit-1", "goal": "G-0001"}\n',
        },
        "goal one merged",
    )
    _git(repo, "checkout", "-q", "goal")
    return repo


def test_the_index_events_and_mirrors_of_two_goals_combine(tmp_path: Path) -> None:
    repo = _setup(tmp_path)
    assert merge_base_into(_run, repo, base_ref="main", goal_id="G-0002", message="bring main in") == []
    index = json.loads((repo / "tasks" / "index.json").read_text())
    assert [g["id"] for g in index["goals"]] == ["G-0001", "G-0002"]
    prd = (repo / "docs" / "PRD.md").read_text()
    assert "csv export" in prd and "weekly digest" in prd and "<<<<" not in prd
    events = [json.loads(line)["goal"] for line in (repo / "tasks" / "events.jsonl").read_text().splitlines()]
    assert sorted(events) == ["G-0001", "G-0002"]
    assert _git(repo, "log", "-1", "--format=%s %P").split()[0:2] == ["bring", "main"]
    assert len(_git(repo, "log", "-1", "--format=%P").split()) == 2  # a merge commit
    assert _git(repo, "status", "--porcelain") == ""
    # Nothing new on the base: nothing to do.
    assert merge_base_into(_run, repo, base_ref="main", goal_id="G-0002", message="again") == []
    assert _git(repo, "log", "-1", "--format=%s") == "bring main in\n"


def test_a_code_conflict_is_handed_back_with_the_branch_untouched(tmp_path: Path) -> None:
    repo = _setup(tmp_path)
    _git(repo, "checkout", "-q", "main")
    _commit(repo, {"src/digest.py": "print('someone else')\n"}, "clash")
    _git(repo, "checkout", "-q", "goal")
    before = _git(repo, "rev-parse", "HEAD")
    assert merge_base_into(_run, repo, base_ref="main", goal_id="G-0002", message="bring main in") == [
        "src/digest.py"
    ]
    assert _git(repo, "rev-parse", "HEAD") == before and _git(repo, "status", "--porcelain") == ""
