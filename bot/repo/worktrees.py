"""One git worktree per goal: `<repo>/.orch/worktrees/<goal-id>` on branch `orch/<goal-id>`.

Builders work in the goal's worktree so the main branch only ever sees approved changes; the
merge back happens under the branch lock. Every function here is idempotent, because a job that
crashed half-way will simply be run again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.repo.errors import GitError, MergeConflictError
from bot.repo.message import compose_message
from bot.repo.validate import UnsafeInputError, validate_goal_id

if TYPE_CHECKING:
    from bot.repo.port import GitPort as Git

WORKTREES_DIR = (".orch", "worktrees")
SCRATCH_DIR = (".orch", "scratch")
_SCRATCH_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BRANCH_PREFIX = "orch/"


def branch_name(goal_id: str) -> str:
    return BRANCH_PREFIX + validate_goal_id(goal_id)


def worktree_path(git: Git, goal_id: str) -> Path:
    return git.root.joinpath(*WORKTREES_DIR, validate_goal_id(goal_id))


def registered(git: Git) -> dict[Path, str | None]:
    """Registered worktrees (path → checked-out branch) from `git worktree list --porcelain`."""
    result: dict[Path, str | None] = {}
    current: Path | None = None
    for line in git.run("worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = Path(line[len("worktree ") :]).resolve()
            result[current] = None
        elif line.startswith("branch refs/heads/") and current is not None:
            result[current] = line[len("branch refs/heads/") :]
    return result


def _branch_exists(git: Git, branch: str) -> bool:
    proc = git.run_full("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", ok_codes=(0, 1))
    return proc.returncode == 0


def worktree_add(git: Git, goal_id: str, *, base: str | None = None) -> Path:
    """Create (or find) the goal's worktree; a new branch starts at `base` (default: main)."""
    path = worktree_path(git, goal_id)
    branch = branch_name(goal_id)
    with git.lock():
        git.exclude_orch_dir()
        if path.resolve() in registered(git) and (path / ".git").exists():
            return path
        # A worktree folder deleted by hand leaves stale metadata that blocks a new `add`.
        git.run("worktree", "prune")
        if path.exists() and any(path.iterdir()):
            raise GitError(f"{path.relative_to(git.root)} exists but is not a registered worktree")
        path.parent.mkdir(parents=True, exist_ok=True)
        if _branch_exists(git, branch):
            git.run("worktree", "add", "--quiet", "--", str(path), branch)
        else:
            start = git.resolve_commit(base or git.main_branch)
            git.run("worktree", "add", "--quiet", "-b", branch, "--", str(path), start)
    return path


def worktree_remove(git: Git, goal_id: str, *, delete_branch: bool = False) -> None:
    """Remove the goal's worktree (discarding uncommitted work in it); a no-op when absent."""
    path = worktree_path(git, goal_id)
    branch = branch_name(goal_id)
    with git.lock():
        if path.resolve() in registered(git):
            git.run("worktree", "remove", "--force", "--", str(path))
        git.run("worktree", "prune")
        if delete_branch and _branch_exists(git, branch):
            git.run("branch", "-D", "--", branch)


def _goal_worktree(git: Git, worktree: str | Path) -> Path:
    """Accept a goal id or a path, but only one of our registered goal worktrees."""
    if isinstance(worktree, str) and not ("/" in worktree or "\\" in worktree):
        path = worktree_path(git, worktree)
    else:
        path = Path(worktree)
    resolved = path.resolve()
    if resolved.parent != git.root.joinpath(*WORKTREES_DIR).resolve():
        raise UnsafeInputError(f"not a goal worktree: {worktree!s}")
    validate_goal_id(resolved.name)
    if resolved not in registered(git):
        raise GitError(f"no worktree for {resolved.name}; call worktree_add first")
    return resolved


@contextmanager
def scratch_worktree(git: Git, goal_id: str, name: str) -> Iterator[Path]:
    """A throwaway worktree at the tip of the goal's branch (main if it has none), removed afterwards.

    Work that is not the goal's own (a Codex run an MCP client asked for) happens here, so none of
    its files can slip into the goal's worktree and from there into the next diff.
    """
    if not _SCRATCH_NAME.match(name):
        raise UnsafeInputError(f"not a scratch name: {name!r:.80}")
    path = git.root.joinpath(*SCRATCH_DIR, f"{validate_goal_id(goal_id)}-{name}")
    branch = branch_name(goal_id)
    with git.lock():
        git.exclude_orch_dir()
        start = git.resolve_commit(branch if _branch_exists(git, branch) else git.main_branch)
        path.parent.mkdir(parents=True, exist_ok=True)
        git.run("worktree", "add", "--quiet", "--detach", "--", str(path), start)
    try:
        yield path
    finally:
        with git.lock():
            git.run("worktree", "remove", "--force", "--", str(path))
            git.run("worktree", "prune")


def scratch_diff(git: Git, path: Path) -> str:
    """What was changed in a scratch worktree, new files included, as a unified diff."""
    git.run("add", "-A", cwd=path)
    return git.run("diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "HEAD", "--", cwd=path)


def diff(git: Git, worktree: str | Path, base: str | None = None) -> str:
    """The goal's changes, committed or not and new files included, as a unified diff.

    Without `base` the diff starts at the merge base with the main branch, so commits that land
    on main meanwhile do not show up as reversed changes.
    """
    path = _goal_worktree(git, worktree)
    # Staging everything is harmless in the bot's own worktree and makes untracked files visible.
    git.run("add", "-A", cwd=path)
    if base is None:
        start = git.run("merge-base", git.resolve_commit(git.main_branch), "HEAD", cwd=path).strip()
    else:
        start = git.resolve_commit(base, cwd=path)
    return git.run("diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", start, "--", cwd=path)


def commit_in_worktree(
    git: Git, goal_id: str, message: str, trailers: Mapping[str, str] | None = None
) -> str | None:
    """Commit everything in the goal's worktree to its branch; None when there is nothing new."""
    path = _goal_worktree(git, goal_id)
    text = compose_message(message, trailers)
    git.run("add", "-A", cwd=path)
    if git.run_full("diff", "--cached", "--quiet", cwd=path, ok_codes=(0, 1)).returncode == 0:
        return None
    return git.commit_staged([], text, cwd=path)


def merge_worktree(git: Git, goal_id: str, message: str, trailers: Mapping[str, str] | None = None) -> str:
    """Merge `orch/<goal-id>` into the main branch with a merge commit carrying the trailers.

    Always `--no-ff`, so the merge has a message and trailers to find it by (a fast-forward has
    neither). Idempotent: when an `Orch-Effect` trailer is given and already on main, or when
    the branch is already contained in main, main's commit is returned unchanged. On conflict the
    merge is aborted and `MergeConflictError` lists the files.
    """
    branch = branch_name(goal_id)
    text = compose_message(message, trailers)
    with git.lock():
        effect = next((v for k, v in (trailers or {}).items() if k.lower() == "orch-effect"), None)
        if effect is not None and (done := git.find_commit_by_trailer("Orch-Effect", effect)):
            return done
        git.require_main_checked_out()
        if not _branch_exists(git, branch):
            raise GitError(f"no branch {branch} to merge")
        main_sha = git.resolve_commit(git.main_branch)
        tip = git.resolve_commit(branch)
        if git.run_full("merge-base", "--is-ancestor", tip, main_sha, ok_codes=(0, 1)).returncode == 0:
            return main_sha
        text = git.stamp(text)  # the audit head at merge time, as every commit of the bot carries
        git.ensure_unlocked()
        proc = git.run_full(
            "merge", "--no-ff", "--no-verify", "--no-log", "--no-edit", "-m", text, tip, ok_codes=(0, 1)
        )
        if proc.returncode != 0:
            files = git.run("diff", "--name-only", "--diff-filter=U").split()
            if not files:
                # Refused (a person's local changes in the way) or stopped (the index could not be
                # written): not a conflict. Whatever it began is undone, so no merge is left half-way.
                if (git.git_dir / "MERGE_HEAD").exists():
                    git.run_full("merge", "--abort", ok_codes=(0, 1, 128))
                raise GitError(
                    f"merging {branch} into {git.main_branch} failed", stderr=proc.stderr + proc.stdout
                )
            git.run_full("merge", "--abort", ok_codes=(0, 128))
            raise MergeConflictError(f"merging {branch} into {git.main_branch} conflicts", files)
        return git.run("rev-parse", "HEAD").strip()


def reset_to_main(git: Git, goal_id: str) -> str:
    """Point the goal's branch at main's tip, discarding its unmerged work (a task whose diff
    conflicted is built again on main as it is now; the tasks merged before it are in main)."""
    path = _goal_worktree(git, goal_id)
    with git.lock():
        main_sha = git.resolve_commit(git.main_branch)
        git.run("reset", "--quiet", "--hard", main_sha, cwd=path)
        git.run("clean", "-fdq", cwd=path)
    return main_sha
