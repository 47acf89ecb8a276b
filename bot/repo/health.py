"""A repository in a state the bot did not create, told apart from a passing failure.

A person's merge left half-way in the bot's checkout, a checkout switched to another branch,
local changes git refuses to overwrite, files or folders the bot may not write: retrying does not
help until a person acts, so these are raised as `RepoNeedsPerson` with a one-line `problem` (what
is wrong) and `remedy` (what a person can do). The effects keep waiting for the repair instead of
using up their retries, and the goal's thread is told once.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING

from bot.repo.errors import GitError

if TYPE_CHECKING:
    from bot.repo.git import Git

_IN_PROGRESS = {
    "MERGE_HEAD": ("a merge", "finish it with `git commit` or undo it with `git merge --abort`"),
    "rebase-merge": (
        "a rebase",
        "finish it with `git rebase --continue` or undo it with `git rebase --abort`",
    ),
    "rebase-apply": (
        "a rebase",
        "finish it with `git rebase --continue` or undo it with `git rebase --abort`",
    ),
    "CHERRY_PICK_HEAD": ("a cherry-pick", "finish it or undo it with `git cherry-pick --abort`"),
    "REVERT_HEAD": ("a revert", "finish it or undo it with `git revert --abort`"),
}
_READ_ONLY_MARKS = ("Permission denied", "Read-only file system", "Operation not permitted")
_OVERWRITE_MARKS = (
    "would be overwritten by merge",
    "would be overwritten by checkout",
    "would be removed by merge",
)
MAX_FILES_SHOWN = 10


class RepoNeedsPerson(GitError):
    """The repository cannot take the bot's work until a person changes something."""

    def __init__(self, kind: str, problem: str, remedy: str) -> None:
        super().__init__(f"{problem}; {remedy}")
        self.kind = kind  # a short stable name: "in-progress", "read-only", "local-changes", "branch"
        self.problem = problem
        self.remedy = remedy


def _files(paths: list[str]) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:MAX_FILES_SHOWN])
    more = len(paths) - MAX_FILES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def check_main_checkout(git: Git) -> None:
    """Raise `RepoNeedsPerson` when the bot's checkout is mid-merge (or rebase, …) or not on main."""
    for name, (what, remedy) in _IN_PROGRESS.items():
        if (git.git_dir / name).exists():
            unmerged = sorted(set(git.run("diff", "--name-only", "--diff-filter=U").split()))
            where = f" (conflicted: {_files(unmerged)})" if unmerged else ""
            raise RepoNeedsPerson(
                "in-progress",
                f"{what} is in progress in the bot's checkout of the repository{where}",
                f"{remedy} there; the bot goes on by itself once it is finished",
            )
    current = _checked_out(git)
    if current != git.main_branch:
        raise RepoNeedsPerson(
            "branch",
            f"the bot's checkout has {current or 'a detached HEAD'} checked out, not {git.main_branch}",
            f"run `git switch {git.main_branch}` there; the bot goes on by itself",
        )


def check_main_checkout_unless_done(git: Git, effect_key: str) -> str | None:
    """`check_main_checkout` for an effect that commits: the commit that already carries
    `effect_key`, if the checkout's problem is only in the way of an effect that is done, else None.

    The checkout is looked at first (a file read) and the history only when it has a problem, so a
    repository effect takes the branch lock once, for its commit, not also for a look-up before it."""
    try:
        check_main_checkout(git)
    except RepoNeedsPerson:
        if done := git.find_commit_by_trailer("Orch-Effect", effect_key):
            return str(done)
        raise
    return None


def _checked_out(git: Git) -> str:
    """The branch the bot's checkout has checked out ("" when detached). Read from `.git/HEAD` in
    a plain checkout (every commit of the bot asks, and a git process costs more than the read);
    asked of git in any other layout."""
    dot_git = git.root / ".git"
    if dot_git.is_dir() and dot_git.resolve() == git.git_dir.resolve():
        try:
            head = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            head = ""
        if head.startswith("ref: refs/heads/"):
            return head.removeprefix("ref: refs/heads/")
        if head and not head.startswith("ref:"):
            return ""  # a detached HEAD holds a commit id
    return git.run_full("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1)).stdout.strip()


def needs_person(exc: BaseException) -> RepoNeedsPerson | None:
    """The person-fixable cause behind a failure of the repository side, if that is what it is."""
    if isinstance(exc, RepoNeedsPerson):
        return exc
    if isinstance(exc, PermissionError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM)
    ):
        where = Path(exc.filename).name if isinstance(exc, OSError) and exc.filename else "a file"
        return _read_only(f"{where}: {exc.strerror or exc}")
    if isinstance(exc, GitError):
        text = exc.stderr or str(exc)
        if any(mark in text for mark in _READ_ONLY_MARKS):
            line = next((ln for ln in text.splitlines() if any(m in ln for m in _READ_ONLY_MARKS)), text)
            return _read_only(line.strip()[:300])
        if any(mark in text for mark in _OVERWRITE_MARKS):
            files = [ln.strip() for ln in text.splitlines() if ln.startswith(("\t", "    "))]
            return RepoNeedsPerson(
                "local-changes",
                f"uncommitted changes in the bot's checkout are in the way ({_files(files) or 'see git status'})",
                "commit, stash or remove them there; the bot goes on by itself",
            )
        if "checked out, not" in text:
            return RepoNeedsPerson("branch", str(exc), "switch the bot's checkout back to its main branch")
    return None


def _read_only(detail: str) -> RepoNeedsPerson:
    return RepoNeedsPerson(
        "read-only",
        f"the bot cannot write to the repository ({detail})",
        "give the bot's user write access to the checkout and its `.git` folder; the bot goes on by itself",
    )


def lingering_locks(git: Git) -> list[str]:
    """git's lock files present now, each with what the bot will do about it (for `orch doctor`)."""
    from bot.repo.stale_locks import OWN_LOCKS, stale_reason

    found = []
    for lock in sorted(git.git_dir.rglob("*.lock")):
        if lock.name in OWN_LOCKS or "objects" in lock.relative_to(git.git_dir).parts:
            continue
        reason = stale_reason(lock, git_dir=git.git_dir, root=git.root, max_age=git.stale_lock_seconds)
        rel = lock.relative_to(git.git_dir)
        if reason is not None:
            found.append(
                f"{rel} left by a process that died ({reason}); removed at the bot's next git command"
            )
        else:
            found.append(f"{rel} is held by a running git (or was taken moments ago); the bot waits for it")
    return found
