"""The offline builder writes an honest, runnable scaffold and nothing outside the worktree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bot.agents.offline_builder import MARKER, OfflineBuilder
from bot.agents.paths import UnsafePathError
from bot.sop.records import TaskRecord


def task(**extra) -> TaskRecord:
    fields = {
        "id": 3,
        "title": "Digest links to artifacts",
        "acceptance_criteria": ["Each goal line links to its latest artifact.", "Links survive a restart."],
        "files": ["src/digest_links.py", "tests/test_digest_links.py"],
    }
    return TaskRecord(**(fields | extra))


def run_pytest(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root), str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_build_writes_a_stub_module_and_a_strict_xfail_test(tmp_path: Path) -> None:
    result = OfflineBuilder().build(tmp_path, task())
    assert result.files_changed == ["src/digest_links.py", "tests/test_digest_links.py"]
    module = (tmp_path / "src/digest_links.py").read_text(encoding="utf-8")
    test = (tmp_path / "tests/test_digest_links.py").read_text(encoding="utf-8")
    assert module.startswith('"""Digest links to artifacts')
    assert "- Each goal line links to its latest artifact." in module
    assert "raise NotImplementedError" in module
    assert "@pytest.mark.xfail(strict=True, raises=NotImplementedError" in test
    assert "offline scaffold: implement task 3 (Digest links to artifacts)" in test
    assert "Links survive a restart." in test
    assert "NotImplementedError" in result.summary and "strict" in result.summary


def test_the_scaffold_runs_as_expected_failures_until_implemented(tmp_path: Path) -> None:
    OfflineBuilder().build(tmp_path, task())
    run = run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 xfailed" in run.stdout
    # Implementing the stub without replacing the scaffold test turns the suite red (XPASS strict).
    module = tmp_path / "src/digest_links.py"
    module.write_text(
        module.read_text(encoding="utf-8").replace("raise NotImplementedError(", "return ("), encoding="utf-8"
    )
    run = run_pytest(tmp_path)
    assert run.returncode != 0 and "XPASS(strict)" in run.stdout


def test_rebuilding_is_idempotent(tmp_path: Path) -> None:
    OfflineBuilder().build(tmp_path, task())
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = OfflineBuilder().build(tmp_path, task())
    assert again.files_changed == []
    assert "already in place" in again.summary
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_changed_task_refreshes_only_scaffold_files(tmp_path: Path) -> None:
    OfflineBuilder().build(tmp_path, task())
    person = tmp_path / "tests/test_digest_links.py"
    person.write_text("def test_real():\n    assert True\n", encoding="utf-8")
    result = OfflineBuilder().build(tmp_path, task(acceptance_criteria=["A new criterion."]))
    assert result.files_changed == ["src/digest_links.py"]
    assert result.kept == ["tests/test_digest_links.py"]
    assert person.read_text(encoding="utf-8") == "def test_real():\n    assert True\n"
    assert "A new criterion." in (tmp_path / "src/digest_links.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "bad",
    [
        "../../x",
        "../outside.py",
        "/tmp/abs.py",
        "-rf",
        "src/-rf.py",
        "a;b",
        "a b.py",
        "$(x).py",
        ".git/config",
    ],
)
def test_unsafe_declared_paths_are_refused_before_anything_is_written(tmp_path: Path, bad: str) -> None:
    worktree = tmp_path / "wt"
    worktree.mkdir()
    with pytest.raises(UnsafePathError):
        OfflineBuilder().build(worktree, task(files=["src/fine.py", bad]))
    assert list(tmp_path.rglob("*")) == [worktree]


def test_a_symlink_that_leads_out_of_the_worktree_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / "src").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="outside the worktree"):
        OfflineBuilder().build(worktree, task())
    assert list(outside.iterdir()) == []
    assert not (worktree / "tests").exists()


@pytest.mark.parametrize(
    "title",
    [
        'Evil """ docstring',
        'ends with quote"',
        "back\\slash \\n",
        "new\nline\x00nul",
        "'''",
        "-rf ; rm -rf /",
    ],
)
def test_hostile_titles_and_criteria_still_give_valid_python(tmp_path: Path, title: str) -> None:
    hostile = task(title=title, acceptance_criteria=[title, '"""'], files=[])
    result = OfflineBuilder().build(tmp_path, hostile)
    assert len(result.files_changed) == 2
    for rel in result.files_changed:
        assert rel.startswith(("src/", "tests/")) and rel.endswith(".py")
        ast.parse((tmp_path / rel).read_text(encoding="utf-8"))


def test_without_declared_files_the_paths_come_from_a_sanitised_title(tmp_path: Path) -> None:
    result = OfflineBuilder().build(tmp_path, task(title="Add ../../Retry; button!", files=[]))
    assert result.files_changed == ["src/retry_button.py", "tests/test_retry_button.py"]


def test_tests_are_paired_by_name_and_other_file_kinds_are_reported(tmp_path: Path) -> None:
    files = ["pkg/a.py", "pkg/b.py", "tests/test_b.py", "docs/notes.md", "web/app.ts", "pkg/__init__.py"]
    result = OfflineBuilder().build(tmp_path, task(files=files))
    assert result.files_changed == [
        "pkg/a.py",
        "tests/test_a.py",
        "pkg/b.py",
        "tests/test_b.py",
        "docs/notes.md",
    ]
    assert result.skipped == ["web/app.ts", "pkg/__init__.py"]
    assert "web/app.ts" in result.summary
    assert "'../pkg/b.py'" in (tmp_path / "tests/test_b.py").read_text(encoding="utf-8")
    assert MARKER in (tmp_path / "docs/notes.md").read_text(encoding="utf-8")
    run = run_pytest(tmp_path)
    assert run.returncode == 0 and "2 xfailed" in run.stdout, run.stdout


def test_builder_leaves_git_alone(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    OfflineBuilder().build(tmp_path, task())
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain"], capture_output=True, text=True, check=True
    ).stdout
    assert status.splitlines() == ["?? src/", "?? tests/"]
