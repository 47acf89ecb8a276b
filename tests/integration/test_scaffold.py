"""The Scaffold Check: inspection reads only; applying creates what is missing and commits it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.repo.git import Git
from bot.sop.index import INDEX_PATH, SCHEMA_PATH, load_index, schema_text
from bot.sop.records import IndexFile
from bot.sop.scaffold import apply_scaffold, detect_test_command, inspect_scaffold
from bot.sop.spec_guard import hook_installed


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_bare_folder_is_reported_as_not_a_repository_and_left_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    report = inspect_scaffold(folder)
    assert not report.is_git_repo and not report.ready
    assert list(folder.iterdir()) == []
    assert "Not a git repository" in report.to_markdown()


def test_inspection_writes_nothing_even_inside_git(git: Git) -> None:
    before = snapshot(git.root)
    inspect_scaffold(git.root)
    assert snapshot(git.root) == before


def test_a_new_repository_needs_everything_and_the_markdown_says_so(git: Git) -> None:
    report = inspect_scaffold(git.root)
    assert report.is_git_repo and report.has_commits
    assert report.missing == ["tasks", "index", "schema", "docs", "hook"]
    text = report.to_markdown()
    assert text.startswith("# Scaffold Check\n")
    assert "| tasks/ folder | ⚠️ | missing |" in text
    assert "| Git repository | ✅ | yes |" in text
    assert "## Proposed changes" in text and "- Create `tasks/` with a `README.md`" in text
    assert "none detected" in text
    assert str(git.root) not in text  # no machine paths in an artifact posted to Slack


def test_apply_creates_the_missing_pieces_and_commits_them(git: Git) -> None:
    result = apply_scaffold(git.root, inspect_scaffold(git.root), git, effect_key="scaffold:G-0001:1")
    assert sorted(result.created) == sorted(["tasks/README.md", "docs/README.md", INDEX_PATH, SCHEMA_PATH])
    assert load_index(git.root) == IndexFile()
    assert (git.root / SCHEMA_PATH).read_text(encoding="utf-8") == schema_text()
    assert hook_installed(git.root) and result.hook is not None
    head = git.log(max_count=1)[0]
    assert head.sha == result.commit and head.trailer("Orch-Effect") == "scaffold:G-0001:1"
    assert git.is_clean()
    after = inspect_scaffold(git.root)
    assert after.ready and after.missing == []
    assert "Nothing to change" in after.to_markdown()


def test_apply_twice_with_the_same_effect_does_nothing_the_second_time(git: Git) -> None:
    report = inspect_scaffold(git.root)
    first = apply_scaffold(git.root, report, git, effect_key="k")
    second = apply_scaffold(git.root, report, git, effect_key="k")
    assert second.commit == first.commit and second.created == []
    assert len(git.log()) == 2


def test_a_retry_after_dying_before_the_commit_commits_what_the_first_attempt_wrote(
    git: Git, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = inspect_scaffold(git.root)
    real_commit = git.commit

    def dies(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the process died between writing the files and committing them")

    monkeypatch.setattr(git, "commit", dies)
    with pytest.raises(RuntimeError):
        apply_scaffold(git.root, report, git, effect_key="scaffold:G-0001:1")
    assert (git.root / "docs/README.md").exists() and len(git.log()) == 1  # written, not committed
    monkeypatch.setattr(git, "commit", real_commit)

    # The retry inspects the repository again, as the bot does: the written files no longer look missing.
    result = apply_scaffold(git.root, inspect_scaffold(git.root), git, effect_key="scaffold:G-0001:1")
    assert sorted(result.created) == sorted(["tasks/README.md", "docs/README.md", INDEX_PATH, SCHEMA_PATH])
    assert git.log(max_count=1)[0].trailer("Orch-Effect") == "scaffold:G-0001:1"
    assert git.is_clean()  # nothing left behind to block a later merge


def test_apply_never_overwrites_what_appeared_after_the_check(git: Git) -> None:
    report = inspect_scaffold(git.root)
    (git.root / "docs").mkdir()
    (git.root / "docs/README.md").write_text("ours\n", encoding="utf-8")
    result = apply_scaffold(git.root, report, git)
    assert "docs/README.md" not in result.created
    assert (git.root / "docs/README.md").read_text(encoding="utf-8") == "ours\n"


def test_an_existing_index_is_kept(git: Git) -> None:
    (git.root / "tasks").mkdir()
    (git.root / INDEX_PATH).write_text(json.dumps({"schema_version": 1, "goals": []}), encoding="utf-8")
    report = inspect_scaffold(git.root)
    assert report.missing == ["schema", "docs", "hook"]
    before = (git.root / INDEX_PATH).read_bytes()
    apply_scaffold(git.root, report, git)
    assert (git.root / INDEX_PATH).read_bytes() == before


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"Makefile": "setup:\n\ttrue\ntest: setup\n\tpytest\n"}, ("make test", "Makefile")),
        ({"Makefile": "TEST := 1\ntest := x\n"}, (None, None)),
        ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts='-q'\n"}, ("pytest", "pyproject.toml")),
        ({"pyproject.toml": "[project]\nname='x'\n[project.optional-dependencies]\ndev=['pytest>=8']\n"},
         ("pytest", "pyproject.toml")),
        ({"pytest.ini": "[pytest]\n"}, ("pytest", "pytest.ini")),
        ({"setup.cfg": "[tool:pytest]\n"}, ("pytest", "setup.cfg")),
        ({"package.json": '{"scripts": {"test": "vitest run"}}'}, ("npm test", "package.json")),
        ({"package.json": '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'}, (None, None)),
        ({"go.mod": "module x\n"}, ("go test ./...", "go.mod")),
        ({"Cargo.toml": "[package]\nname='x'\n"}, ("cargo test", "Cargo.toml")),
        ({"Makefile": "test:\n\tgo test\n", "go.mod": "module x\n"}, ("make test", "Makefile")),
    ],
)  # fmt: skip
def test_the_test_command_is_detected(tmp_path: Path, files: dict[str, str], expected: tuple) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    command, source, _ = detect_test_command(tmp_path)
    assert (command, source) == expected


def test_unreadable_project_files_become_notes_not_errors(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[broken", encoding="utf-8")
    (tmp_path / "package.json").write_text("{broken", encoding="utf-8")
    command, _, notes = detect_test_command(tmp_path)
    assert command is None and len(notes) == 2


def test_a_template_override_folder_is_reported(git: Git) -> None:
    (git.root / "tasks/templates").mkdir(parents=True)
    report = inspect_scaffold(git.root)
    assert report.templates_override == "tasks/templates"
    assert "`tasks/templates/`" in report.to_markdown()


def test_table_cells_cannot_break_the_markdown_table(git: Git) -> None:
    (git.root / "package.json").write_text('{"scripts": {"test": "a | b\\nc"}}', encoding="utf-8")
    report = inspect_scaffold(git.root)
    assert report.test_command == "npm test"
    for line in report.to_markdown().splitlines():
        if line.startswith("| "):
            assert line.count(" | ") - line.count("\\|") == 2
