"""The Git wrapper against the real git CLI in temporary repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.repo.errors import GitError, LockTimeoutError, MergeConflictError, NotARepositoryError
from bot.repo.git import Git, Identity, ensure_repo


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The machine's git config and identity must not matter."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
    ):
        monkeypatch.delenv(var, raising=False)


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_ensure_repo_creates_a_repository_with_a_first_commit_on_main(tmp_path: Path) -> None:
    git = ensure_repo(tmp_path / "new", init_if_missing=True)
    assert git.main_branch == "main"
    assert sh(git.root, "log", "--format=%an|%s").strip() == "Codex Orchestrator|orch: initialise repository"
    assert "/.orch/" in (git.git_dir / "info" / "exclude").read_text(encoding="utf-8").splitlines()


def test_ensure_repo_refuses_a_folder_that_is_not_a_repository_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotARepositoryError):
        ensure_repo(tmp_path / "plain")
    assert not (tmp_path / "plain" / ".git").exists()


def test_ensure_repo_opens_an_existing_repository_without_new_commits(git: Git) -> None:
    again = ensure_repo(git.root)
    assert again.root == git.root
    assert len(again.log()) == 1
    exclude = (git.git_dir / "info" / "exclude").read_text(encoding="utf-8")
    assert exclude.count("/.orch/") == 1


def test_commit_records_trailers_and_returns_none_when_nothing_changed(git: Git) -> None:
    write(git.root / "tasks/a.md", "one\n")
    sha = git.commit(["tasks/a.md"], "orch(G-0001): first", {"Goal-Id": "G-0001", "Orch-Effect": "k1"})
    assert sha is not None and sha == sh(git.root, "rev-parse", "HEAD").strip()
    assert git.commit(["tasks/a.md"], "again", {"Orch-Effect": "k2"}) is None
    head = git.log(max_count=1)[0]
    assert head.subject == "orch(G-0001): first"
    assert head.trailer("goal-id") == "G-0001"
    assert git.find_commit_by_trailer("Orch-Effect", "k1") == sha
    assert git.find_commit_by_trailer("Orch-Effect", "k") is None
    assert git.find_commit_by_trailer("Orch-Effect", "k2") is None


def test_commit_takes_only_the_named_paths_and_leaves_other_staged_work_alone(git: Git) -> None:
    write(git.root / "mine.md", "bot\n")
    write(git.root / "theirs.md", "human\n")
    sh(git.root, "add", "theirs.md")
    git.commit(["mine.md"], "bot commit")
    assert sh(git.root, "show", "--name-only", "--format=", "HEAD").split() == ["mine.md"]
    assert sh(git.root, "diff", "--cached", "--name-only").split() == ["theirs.md"]


def test_commit_records_a_deleted_file_and_skips_paths_that_never_existed(git: Git) -> None:
    write(git.root / "gone.md", "x\n")
    git.commit(["gone.md"], "add")
    (git.root / "gone.md").unlink()
    sha = git.commit(["gone.md", "never.md"], "remove")
    assert sha is not None
    assert sh(git.root, "ls-files").split() == []


def test_allow_empty_records_an_effect_even_when_files_are_unchanged(git: Git) -> None:
    sha = git.commit([], "record only", {"Orch-Effect": "noop"}, allow_empty=True)
    assert git.find_commit_by_trailer("Orch-Effect", "noop") == sha


def test_paths_with_glob_characters_are_literal_file_names(git: Git) -> None:
    write(git.root / "a.md", "a\n")
    write(git.root / "b.md", "b\n")
    write(git.root / "*.md", "star\n")
    git.commit(["*.md"], "only the star file")
    assert sh(git.root, "show", "--name-only", "--format=", "HEAD").split() == ["*.md"]


def test_the_bot_identity_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Mallory")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "mallory@example.com")
    git = ensure_repo(tmp_path / "r", init_if_missing=True, identity=Identity("Orch Bot", "bot@example.com"))
    write(git.root / "f", "x")
    git.commit(["f"], "who am I")
    assert sh(git.root, "log", "-1", "--format=%an <%ae> / %cn <%ce>").strip() == (
        "Orch Bot <bot@example.com> / Orch Bot <bot@example.com>"
    )


def test_a_pre_commit_hook_does_not_block_the_bots_commits(git: Git) -> None:
    hook = git.git_dir / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    write(git.root / "f", "x")
    assert git.commit(["f"], "state of record") is not None


def test_the_branch_lock_excludes_a_second_writer_and_is_reentrant(git: Git) -> None:
    other = Git(git.root, lock_timeout=0.05)
    with git.lock():
        with git.lock():  # reentrant: publish holds it and then calls commit
            pass
        with pytest.raises(LockTimeoutError), other.lock():
            pass
        write(git.root / "f", "x")
        assert git.commit(["f"], "inside the lock") is not None
    with other.lock():
        pass


def test_worktree_add_is_idempotent_and_branches_from_main(git: Git) -> None:
    path = git.worktree_add("G-0001")
    assert path == git.root / ".orch" / "worktrees" / "G-0001"
    assert git.worktree_add("G-0001") == path
    assert sh(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "orch/G-0001"
    assert sh(git.root, "status", "--porcelain").strip() == ""  # .orch/ is excluded


def test_diff_shows_new_untracked_and_changed_files(git: Git) -> None:
    write(git.root / "app.py", "print('v1')\n")
    git.commit(["app.py"], "base")
    path = git.worktree_add("G-0002")
    write(path / "app.py", "print('v2')\n")
    write(path / "new_module.py", "X = 1\n")
    diff = git.diff(path)
    assert "+print('v2')" in diff and "-print('v1')" in diff
    assert "new file mode" in diff and "+X = 1" in diff
    assert git.diff("G-0002") == diff


def test_commit_and_merge_a_worktree_into_main_with_trailers_once(git: Git) -> None:
    path = git.worktree_add("G-0003")
    write(path / "feature.py", "ok = True\n")
    assert git.commit_in_worktree("G-0003", "task 1", {"Task-Id": "1"}) is not None
    assert git.commit_in_worktree("G-0003", "task 1 again") is None
    trailers = {"Goal-Id": "G-0003", "Orch-Effect": "merge:G-0003:1"}
    sha = git.merge_worktree("G-0003", "orch(G-0003): merge task 1", trailers)
    assert (git.root / "feature.py").read_text(encoding="utf-8") == "ok = True\n"
    assert git.merge_worktree("G-0003", "orch(G-0003): merge task 1", trailers) == sha
    assert sh(git.root, "rev-list", "--count", "--merges", "HEAD").strip() == "1"
    assert git.log(max_count=1)[0].trailer("Orch-Effect") == "merge:G-0003:1"


def test_a_conflicting_merge_is_aborted_and_reported(git: Git) -> None:
    write(git.root / "f.txt", "base\n")
    git.commit(["f.txt"], "base")
    path = git.worktree_add("G-0004")
    write(path / "f.txt", "goal\n")
    git.commit_in_worktree("G-0004", "goal edit")
    write(git.root / "f.txt", "main\n")
    before = git.commit(["f.txt"], "main edit")
    with pytest.raises(MergeConflictError) as info:
        git.merge_worktree("G-0004", "merge", {"Orch-Effect": "m4"})
    assert info.value.files == ["f.txt"]
    assert git.head() == before
    assert sh(git.root, "status", "--porcelain").strip() == ""


def test_worktree_remove_is_idempotent_and_can_delete_the_branch(git: Git) -> None:
    path = git.worktree_add("G-0005")
    write(path / "scratch.txt", "uncommitted\n")
    git.worktree_remove("G-0005", delete_branch=True)
    git.worktree_remove("G-0005", delete_branch=True)
    assert not path.exists()
    assert "orch/G-0005" not in sh(git.root, "branch", "--list")


def test_a_worktree_folder_deleted_by_hand_is_recreated(git: Git) -> None:
    import shutil

    path = git.worktree_add("G-0006")
    shutil.rmtree(path)
    assert git.worktree_add("G-0006") == path
    assert (path / ".git").exists()


def test_diff_of_an_unknown_worktree_is_an_error(git: Git) -> None:
    with pytest.raises(GitError, match="worktree_add"):
        git.diff("G-0999")


def test_the_bot_refuses_to_commit_when_main_is_not_checked_out(git: Git) -> None:
    sh(git.root, "switch", "-q", "-c", "human-work")
    write(git.root / "f", "x")
    with pytest.raises(GitError, match="human-work checked out, not main"):
        git.commit(["f"], "m")
    assert sh(git.root, "log", "--format=%s", "main").strip() == "orch: initialise repository"
