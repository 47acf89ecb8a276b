"""A task built on one replica and merged on another: each has its own clone, so the goal's worktree
on each disk must hold what the next step expects.

Two things go wrong without care. The replica that built a task keeps the built change uncommitted
in its worktree when another replica merges it (from its own copy of the approved diff), so its next
build would start on top of that leftover and post a diff holding both tasks. And the replica that
merges must merge exactly the approved diff: a worktree holding anything else (such a leftover) is
set back to the goal branch and the approved diff applied there; a diff that does not apply is an
error a person hears of, never a merge of nothing that looks done.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.redact import redact
from bot.repo.errors import GitError
from bot.repo.git import Git
from bot.sop.publish import sha256_text

log = logging.getLogger(__name__)


def _changed(git: Git, tree: Path) -> list[str]:
    """The paths the worktree changed since it left the goal branch (committed or not, new files
    included), as the diff a build posts counts them."""
    git.run("add", "-A", cwd=tree)
    start = git.run("merge-base", git.resolve_commit(git.main_branch), "HEAD", cwd=tree).strip()
    names = git.run("diff", "--cached", "--name-only", "--no-renames", start, "--", cwd=tree)
    return [n for n in names.splitlines() if n]


def drop_merged_leftovers(git: Git, goal_id: str) -> bool:
    """Before a build: when every change in the goal's worktree is already on the goal branch (an
    earlier task, merged on another replica from its approved diff), start the worktree again from
    the branch; nothing is lost. Returns whether it did."""
    tree = git.worktree_path(goal_id)
    if not (tree / ".git").exists():
        return False
    names = _changed(git, tree)
    if not names:
        return False
    # The worktree's version of each changed path against the branch's: equal means merged already.
    same = git.run_full(
        "diff",
        "--cached",
        "--quiet",
        git.resolve_commit(git.main_branch),
        "--",
        *names,
        cwd=tree,
        ok_codes=(0, 1),
    )
    if same.returncode != 0:
        return False  # work of its own (a build paused or being redone): kept
    git.worktree_reset_to_main(goal_id)
    log.info("the worktree of %s held a task merged on another replica; it starts from the branch", goal_id)
    return True


def hold_approved_diff(git: Git, goal_id: str, diff: str, sha256: str, *, task_id: int) -> None:
    """Before a merge: make the goal's worktree hold exactly the approved `diff` (whose artifact hash
    is `sha256`). A worktree whose change is that diff (built here) is kept; any other is set back to
    the goal branch and the diff applied. Raises `GitError` when it does not apply."""
    tree = git.worktree_add(goal_id)
    if sha256_text(redact(git.diff(tree))) == sha256:
        return  # built here: the worktree holds the approved change
    git.worktree_reset_to_main(goal_id)
    patch = tree.parent / f"{goal_id}-task-{task_id}.patch"
    patch.write_text(diff if diff.endswith("\n") else diff + "\n", encoding="utf-8")
    try:
        for how in (("--index",), ("--3way", "--index")):
            applied = git.run_full(
                "apply", *how, "--whitespace=nowarn", str(patch), cwd=tree, ok_codes=(0, 1)
            )
            if applied.returncode == 0:
                return
            git.worktree_reset_to_main(goal_id)  # a failed --3way may leave conflict markers
        raise GitError(
            f"the approved diff of {goal_id} task {task_id} does not apply to the goal branch",
            stderr=applied.stderr,
        )
    finally:
        patch.unlink(missing_ok=True)
