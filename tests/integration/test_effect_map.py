"""Finding an effect's commit through the effect → commit map, on a real repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.repo.effect_map import MAP_NAME
from bot.repo.git import Git


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _commit(git: Git, name: str, trailers: list[tuple[str, str]]) -> str:
    (git.root / name).write_text(name)
    sha = git.commit([name], f"add {name}", trailers)
    assert sha is not None
    return sha


def test_each_effect_of_a_batch_commit_is_found_and_unknown_keys_are_not(git: Git) -> None:
    first = _commit(git, "a", [("Orch-Effect", "k1")])
    batch = _commit(git, "b", [("Goal-Id", "G-0001"), ("Orch-Effect", "k2"), ("Orch-Effect", "k3")])
    assert git.find_effect_commits(["k1", "k2", "k3", "k4"]) == {"k1": first, "k2": batch, "k3": batch}
    assert git.find_commit_by_trailer("Orch-Effect", "k4") is None
    assert (git.git_dir / MAP_NAME).read_text().splitlines()[-1] == f"scanned {batch}"


def test_commits_made_after_the_last_lookup_are_found_by_reading_only_them(git: Git) -> None:
    assert git.find_commit_by_trailer("Orch-Effect", "k1") is None  # the map starts here
    # A commit the map never saw (another process, or a person with the same trailer).
    git.run("commit", "--allow-empty", "-m", "by hand\n\nOrch-Effect: k1")
    by_hand = git.run("rev-parse", "HEAD").strip()
    assert git.find_commit_by_trailer("Orch-Effect", "k1") == by_hand
    # Another Git object for the same repository gives the same answer.
    assert Git(git.root).find_commit_by_trailer("Orch-Effect", "k1") == by_hand


def test_a_commit_no_longer_on_main_is_not_reported_done(git: Git) -> None:
    base = git.head()
    assert base is not None
    _commit(git, "a", [("Orch-Effect", "k1")])
    assert git.find_commit_by_trailer("Orch-Effect", "k1") is not None
    git.run("reset", "--hard", base)  # the branch was rewritten without that commit
    assert git.find_commit_by_trailer("Orch-Effect", "k1") is None


def test_a_torn_last_line_and_a_lost_map_only_cost_a_scan(git: Git) -> None:
    sha = _commit(git, "a", [("Orch-Effect", "k1")])
    assert git.find_commit_by_trailer("Orch-Effect", "k1") == sha
    path = git.git_dir / MAP_NAME
    with path.open("a") as fh:
        fh.write("deadbeef k-torn")  # a crash in the middle of an append: no newline
    assert Git(git.root).find_commit_by_trailer("Orch-Effect", "k-torn") is None
    later = _commit(git, "b", [("Orch-Effect", "k2")])  # appended after the torn line, not onto it
    assert Git(git.root).find_commit_by_trailer("Orch-Effect", "k2") == later
    assert f"{later} k2" in path.read_text().splitlines()
    path.unlink()
    assert Git(git.root).find_commit_by_trailer("Orch-Effect", "k1") == sha
