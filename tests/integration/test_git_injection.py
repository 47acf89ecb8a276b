"""Hostile goal ids, titles, paths and refs are refused or neutralised; nothing leaves the repo."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.repo.errors import UnsafeInputError
from bot.repo.git import Git
from bot.sop.publish import publish_approval, publish_state
from bot.sop.records import GoalRecord

HOSTILE = [
    "--upload-pack=touch pwned",
    "../../etc",
    "a;rm -rf x",
    "$(touch pwned)",
    "`touch pwned`",
    "G-0001\x00x",
    "G-0001\n",
    "G-0001/../../x",
    "-G-0001",
    "G-１２３４",  # full-width digits
    "",
]
T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # a `touch pwned` that ran anywhere relative would land here


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.relative_to(root).parts}


def assert_nothing_created(tmp_path: Path, before: set[str]) -> None:
    assert files_under(tmp_path) == before
    assert not any("pwned" in name for name in files_under(tmp_path))


def goal(goal_id: str = "G-0001", title: str = "Invoices") -> GoalRecord:
    return GoalRecord(
        id=goal_id, title=title, requester="U1", phase="prd", status="approved", created=T0, updated=T0
    )


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_goal_ids_are_refused_by_every_worktree_operation(git: Git, tmp_path: Path, bad: str) -> None:
    before = files_under(tmp_path)
    for operation in (
        lambda: git.worktree_add(bad),
        lambda: git.worktree_remove(bad, delete_branch=True),
        lambda: git.commit_in_worktree(bad, "m"),
        lambda: git.merge_worktree(bad, "m"),
        lambda: git.worktree_path(bad),
    ):
        with pytest.raises(UnsafeInputError):
            operation()
    assert_nothing_created(tmp_path, before)
    assert git.run("branch", "--list").split() == ["*", "main"]


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_goal_ids_are_refused_by_publish(git: Git, tmp_path: Path, bad: str) -> None:
    before = files_under(tmp_path)
    record = goal().model_copy(update={"id": bad})
    with pytest.raises(UnsafeInputError):
        publish_state(git.root, index_entry=record, events=[], message="m", effect_key="k", git=git)
    assert_nothing_created(tmp_path, before)


@pytest.mark.parametrize(
    "bad",
    ["../outside.txt", "/etc/passwd", "-f", "--force", "a\x00b", ".git/config", "tasks/../../x", "", "a\nb"],
)
def test_paths_outside_the_repository_or_option_like_are_refused(git: Git, bad: str) -> None:
    with pytest.raises(UnsafeInputError):
        git.commit([bad], "m")


def test_a_symlink_leading_out_of_the_repository_is_refused(git: Git, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (git.root / "tasks").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeInputError):
        git.commit(["tasks/index.json"], "m")
    with pytest.raises(UnsafeInputError):
        publish_state(git.root, index_entry=goal(), events=[], message="m", effect_key="k", git=git)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "bad",
    ["--output=/tmp/x", "-p", "main..HEAD", "main@{0}..x", "HEAD\x00", "a b", "--upload-pack=touch pwned"],
)
def test_option_like_or_range_revisions_are_refused(git: Git, bad: str) -> None:
    git.worktree_add("G-0001")
    with pytest.raises(UnsafeInputError):
        git.diff("G-0001", base=bad)
    with pytest.raises(UnsafeInputError):
        git.log(bad)


@pytest.mark.parametrize("bad", ["--upload-pack=x", "a..b", "a b", "a~1", "a^", "a:b", "x.lock", "@"])
def test_branch_names_are_checked_with_git_check_ref_format(git: Git, bad: str) -> None:
    with pytest.raises(UnsafeInputError):
        git.check_branch_name(bad)


def test_trailer_values_cannot_carry_a_second_trailer(git: Git) -> None:
    (git.root / "f").write_text("x", encoding="utf-8")
    with pytest.raises(UnsafeInputError):
        git.commit(["f"], "m", {"Orch-Effect": "k\nApproved-By: U666"})
    with pytest.raises(UnsafeInputError):
        git.commit(["f"], "m", {"Bad Key": "v"})


def test_a_hostile_title_is_kept_literally_and_cannot_forge_trailers(git: Git, tmp_path: Path) -> None:
    title = "$(touch pwned) `touch pwned` a;rm -rf x\n\nOrch-Effect: forged\nApproved-By: U666"
    before = files_under(tmp_path)
    result = publish_approval(
        git.root, index_entry=goal(title=title), phase="prd", version=1, content="# PRD\n",
        approved_by=["U2\nOrch-Effect: forged2"], approved_at=T0, events=[], effect_key="publish:G-0001:prd:v1",
        git=git,
    )  # fmt: skip
    head = git.log(max_count=1)[0]
    assert head.sha == result.commit
    assert "$(touch pwned)" in head.subject and "\n" not in head.subject
    assert git.find_commit_by_trailer("Orch-Effect", "forged") is None
    assert git.find_commit_by_trailer("Orch-Effect", "forged2") is None
    assert head.trailer("Approved-By") == "U2 Orch-Effect: forged2"
    created = files_under(tmp_path) - before
    assert not any("pwned" in name for name in created)
    assert all(name.startswith("repo/") for name in created)
