"""Git that recovers, with the real git CLI: stale locks, live locks, timeouts, repairs a person makes,
and publishes whose attempts failed never coming back as copies in a later commit."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.repo.errors import GitError, GitLockHeld
from bot.repo.git import Git, ensure_repo
from bot.repo.health import RepoNeedsPerson, check_main_checkout, needs_person
from bot.repo.lock import LockTimeoutError
from bot.repo.stale_locks import git_processes_in, lock_in_error, stale_reason
from bot.sop.publish import publish_state
from bot.sop.records import GoalRecord

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR_AGO = time.time() - 3600


@pytest.fixture
def git(tmp_path: Path) -> Git:
    return ensure_repo(tmp_path / "repo", init_if_missing=True, stale_lock_seconds=60)


def record(goal_id: str = "G-0001") -> GoalRecord:
    return GoalRecord(
        id=goal_id, title="Invoices", requester="U1", phase="prd", status="drafting", created=T0, updated=T0
    )


def plant(path: Path, *, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    os.utime(path, (mtime, mtime))
    return path


def write(git: Git, name: str, text: str) -> Path:
    (git.root / name).write_text(text)
    return git.root / name


def test_git_names_the_lock_it_could_not_take() -> None:
    err = "fatal: Unable to create '/r/.git/index.lock': File exists.\n\nAnother git process seems to be running"
    assert lock_in_error(err) == Path("/r/.git/index.lock")
    assert lock_in_error("fatal: not a git repository") is None


@pytest.mark.parametrize("name", ["index.lock", "HEAD.lock", "refs/heads/main.lock"])
def test_a_lock_left_by_a_dead_process_is_removed_and_the_commit_goes_through(git: Git, name: str) -> None:
    lock = plant(git.git_dir / name, mtime=HOUR_AGO)
    sha = git.commit([write(git, "a.txt", "a\n")], "add a")
    assert sha is not None and not lock.exists()
    assert git.log(max_count=1)[0].subject == "add a"


def test_a_stale_lock_in_a_goal_worktree_is_removed_too(git: Git) -> None:
    path = git.worktree_add("G-0001")
    (path / "b.txt").write_text("b\n")
    lock = plant(git.git_dir / "worktrees" / "G-0001" / "index.lock", mtime=HOUR_AGO)
    assert git.commit_in_worktree("G-0001", "task 1") is not None
    assert not lock.exists()


def test_a_young_lock_is_left_alone_and_reported_as_held(git: Git) -> None:
    lock = plant(git.git_dir / "index.lock", mtime=time.time())
    with pytest.raises(GitLockHeld) as caught:
        git.commit([write(git, "a.txt", "a\n")], "add a")
    assert caught.value.lock == lock and lock.exists()


def test_an_old_lock_is_left_alone_while_a_git_process_runs_in_the_repository(git: Git) -> None:
    lock = plant(git.git_dir / "index.lock", mtime=HOUR_AGO)
    # A person's git command that is still running (it waits for its input, as an editor would).
    # Its first answer shows it is git by then (a process just forked is not yet git).
    running = subprocess.Popen(
        ["git", "cat-file", "--batch-check"], cwd=git.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert running.stdin is not None and running.stdout is not None
    running.stdin.write(b"HEAD\n")
    running.stdin.flush()
    assert running.stdout.readline().split()[1:2] == [b"commit"]
    try:
        assert running.pid in (git_processes_in(git.root) or [])
        assert stale_reason(lock, git_dir=git.git_dir, root=git.root, max_age=60) is None
        with pytest.raises(GitLockHeld):
            git.commit([write(git, "a.txt", "a\n")], "add a")
        assert lock.exists()
    finally:
        running.communicate(b"", timeout=30)
    assert stale_reason(lock, git_dir=git.git_dir, root=git.root, max_age=60) is not None


def test_only_git_lock_files_inside_the_git_directory_are_ever_candidates(git: Git, tmp_path: Path) -> None:
    outside = plant(tmp_path / "elsewhere" / "index.lock", mtime=HOUR_AGO)
    own = plant(git.git_dir / "orch-main.lock", mtime=HOUR_AGO)
    not_a_lock = plant(git.git_dir / "index.bak", mtime=HOUR_AGO)
    for path in (outside, own, not_a_lock):
        assert stale_reason(path, git_dir=git.git_dir, root=git.root, max_age=60) is None


def test_a_merge_meeting_a_lock_leaves_no_merge_half_way(git: Git) -> None:
    path = git.worktree_add("G-0001")
    (path / "c.txt").write_text("c\n")
    git.commit_in_worktree("G-0001", "task 1")
    lock = plant(git.git_dir / "index.lock", mtime=time.time())
    with pytest.raises(GitLockHeld):
        git.merge_worktree("G-0001", "merge task 1", {"Orch-Effect": "merge:G-0001:1:1"})
    assert not (git.git_dir / "MERGE_HEAD").exists()
    os.utime(lock, (HOUR_AGO, HOUR_AGO))
    sha = git.merge_worktree("G-0001", "merge task 1", {"Orch-Effect": "merge:G-0001:1:1"})
    assert git.find_commit_by_trailer("Orch-Effect", "merge:G-0001:1:1") == sha


def test_every_git_command_has_a_time_limit(git: Git) -> None:
    slow = Git(git.root, timeout=5.0)
    slow.timeout = 1e-6  # no git command finishes in a microsecond
    with pytest.raises(GitError, match="timed out after"):
        slow.run("status")
    with pytest.raises(GitError, match="init timed out"):
        ensure_repo(git.root.parent / "new", init_if_missing=True, timeout=1e-6)


def test_a_person_s_merge_left_half_way_is_named_with_its_files(git: Git) -> None:
    write(git, "README.md", "base\n")
    git.commit([git.root / "README.md"], "base")
    person = ["-c", "user.name=P", "-c", "user.email=p@example.invalid"]

    def run(*args: str) -> None:
        subprocess.run(["git", *person, *args], cwd=git.root, check=False, capture_output=True)

    run("switch", "-q", "-c", "feature")
    write(git, "README.md", "feature\n")
    run("commit", "-q", "--no-verify", "-am", "feature")
    run("switch", "-q", "main")
    write(git, "README.md", "main\n")
    run("commit", "-q", "--no-verify", "-am", "main")
    run("merge", "-q", "feature")
    with pytest.raises(RepoNeedsPerson) as caught:
        check_main_checkout(git)
    assert caught.value.kind == "in-progress" and "`README.md`" in caught.value.problem
    assert "git merge --abort" in caught.value.remedy
    run("merge", "--abort")
    check_main_checkout(git)  # repaired: nothing to say


def test_a_checkout_on_another_branch_or_detached_is_named_until_main_is_back(git: Git) -> None:
    write(git, "README.md", "base\n")
    git.commit([git.root / "README.md"], "base")

    def run(*args: str) -> None:
        subprocess.run(["git", *args], cwd=git.root, check=True, capture_output=True)

    run("switch", "-q", "-c", "feature")
    with pytest.raises(RepoNeedsPerson) as caught:
        check_main_checkout(git)
    assert caught.value.kind == "branch" and "has feature checked out" in caught.value.problem
    run("switch", "-q", "--detach", "main")
    with pytest.raises(RepoNeedsPerson) as caught:
        check_main_checkout(git)
    assert "a detached HEAD" in caught.value.problem
    run("switch", "-q", "main")
    check_main_checkout(git)  # repaired: nothing to say


def test_failures_a_person_must_repair_are_told_apart_from_passing_ones() -> None:
    denied = PermissionError(errno.EACCES, "Permission denied", "/r/tasks/index.json")
    assert (
        (found := needs_person(denied)) is not None
        and found.kind == "read-only"
        and "index.json" in found.problem
    )
    rofs = GitError("git add failed", stderr="error: insufficient permission ... Read-only file system")
    assert (found := needs_person(rofs)) is not None and found.kind == "read-only"
    overwrite = GitError(
        "merging failed",
        stderr="error: Your local changes to the following files would be overwritten by merge:\n\tsrc/a.py\n"
        "Please commit your changes or stash them before you merge.\nAborting\n",
    )
    assert (found := needs_person(overwrite)) is not None and found.kind == "local-changes"
    assert "`src/a.py`" in found.problem
    assert needs_person(GitError("git push failed", stderr="Connection refused")) is None
    assert needs_person(ValueError("boom")) is None


def test_publishes_whose_attempts_failed_never_come_back_as_copies_in_a_later_commit(git: Git) -> None:
    impatient = Git(git.root, lock_timeout=0.05)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with git.lock():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    try:
        for _ in range(6):  # an effect's six attempts, each unable to take the branch lock
            with pytest.raises(LockTimeoutError):
                publish_state(
                    git.root, index_entry=record(), events=[], message="start", effect_key="publish:G-0001:started",
                    git=impatient,
                )  # fmt: skip
    finally:
        release.set()
        holder.join(30)
    later = publish_state(
        git.root, index_entry=record("G-0002"), events=[], message="start G-0002", effect_key="publish:G-0002:started",
        git=git,
    )  # fmt: skip
    trailers = [v for c in git.log() for k, v in c.trailers if k == "Orch-Effect"]
    assert trailers.count("publish:G-0001:started") == 0  # its attempts failed: it is not in anyone's commit
    assert git.log(max_count=1)[0].sha == later.commit
    # Its retry then commits it, once.
    publish_state(
        git.root,
        index_entry=record(),
        events=[],
        message="start",
        effect_key="publish:G-0001:started",
        git=git,
    )
    trailers = [v for c in git.log() for k, v in c.trailers if k == "Orch-Effect"]
    assert trailers.count("publish:G-0001:started") == 1
