"""A harvest as an approvable diff: a branch `orch/learn-<id>` off main, merged only when approved.

The proposal is committed on its own branch (through a short-lived worktree under `.orch/learn/`,
so the main checkout is never touched), which makes it durable and its diff exact. Approving
merges the branch with `--no-ff` under the branch lock and a `Learn-Approved` trailer; discarding
deletes the branch. Both are idempotent. The id is derived from the base commit and the proposed
content, so proposing the same harvest twice gives the same proposal.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from datetime import datetime

from bot.learn.agents_md import AGENTS_PATH
from bot.learn.agents_md import merge as merge_agents
from bot.learn.asset_index import INDEX_PATH, dump_index, load_index, merge_index
from bot.learn.files import Asset
from bot.learn.layout import README, README_PATH
from bot.repo.errors import MergeConflictError
from bot.repo.git import Git
from bot.repo.message import compose_message
from bot.repo.validate import one_line

ID_RE = re.compile(r"L-[0-9a-f]{8}")
BRANCH_PREFIX = "orch/learn-"
WORKTREE_DIR = (".orch", "learn")


class ProposalError(ValueError):
    """A proposal that does not exist or cannot be merged; the message is fit for a person."""


@dataclass(frozen=True)
class Proposal:
    id: str
    branch: str
    source: str
    proposed_by: str
    files: list[str]  # the paths the proposal adds or changes
    diff: str
    existing: bool = False  # the same proposal was already open


def check_id(proposal_id: str) -> str:
    wanted = (proposal_id or "").strip()
    if not ID_RE.fullmatch(wanted):
        raise ProposalError(f"{wanted[:20]!r} is not a learn proposal id (they look like L-1a2b3c4d).")
    return wanted


def _show(git: Git, rev: str, path: str) -> str | None:
    proc = git.run_full("show", f"{rev}:{path}", ok_codes=(0, 128))
    return proc.stdout if proc.returncode == 0 else None


def _branch_exists(git: Git, branch: str) -> bool:
    return (
        git.run_full("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", ok_codes=(0, 1)).returncode
        == 0
    )


def planned_files(
    git: Git, assets: list[Asset], *, source: str, at: datetime, last_used: dict[str, datetime]
) -> tuple[str, dict[str, str]]:
    """(main's commit, {path: content}) for every file the harvest would change on main."""
    base = git.resolve_commit(git.main_branch)
    readme = Asset(README_PATH, README, "doc", "orch", "orch learn")
    everything = [*assets, readme]
    files = {a.path: a.content for a in everything}
    if AGENTS_PATH in files:  # only the bot's marked section: a hand-written AGENTS.md keeps the rest
        files[AGENTS_PATH] = merge_agents(_show(git, base, AGENTS_PATH), files[AGENTS_PATH])
    index = merge_index(
        load_index(_show(git, base, INDEX_PATH)), everything, source=source, at=at, last_used=last_used
    )
    files[INDEX_PATH] = dump_index(index)
    return base, {p: c for p, c in sorted(files.items()) if _show(git, base, p) != c}


def proposal_id(base: str, source: str, changed: dict[str, str]) -> str:
    # The index holds timestamps, so it only counts when nothing else changed.
    material = {p: c for p, c in changed.items() if p != INDEX_PATH} or changed
    digest = hashlib.sha256(base.encode() + source.encode())
    for path, content in sorted(material.items()):
        digest.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(content.encode()).digest())
    return "L-" + digest.hexdigest()[:8]


def create_proposal(
    git: Git,
    assets: list[Asset],
    *,
    source: str,
    proposed_by: str,
    at: datetime,
    last_used: dict[str, datetime] | None = None,
) -> Proposal | None:
    """Commit the harvest on a proposal branch; None when main already has all of it."""
    base, changed = planned_files(git, assets, source=source, at=at, last_used=last_used or {})
    if not changed:
        return None
    pid = proposal_id(base, source, changed)
    branch = BRANCH_PREFIX + pid
    if _branch_exists(git, branch):
        return load_proposal(git, pid, existing=True)
    path = git.root.joinpath(*WORKTREE_DIR, pid)
    message = compose_message(
        f"orch learn: adopt conventions from {one_line(source)}",
        {"Learn-Id": pid, "Learn-Source": one_line(source, limit=200), "Proposed-By": proposed_by},
    )
    with git.lock():
        git.exclude_orch_dir()
        git.run("worktree", "prune")
        if path.exists():  # left behind by a crash half-way through an earlier attempt; ours to clear
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        git.run("worktree", "add", "--quiet", "-b", branch, "--", str(path), base)
        committed = False
        try:
            for rel, content in changed.items():
                target = path / git.relpath(git.root / rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
            git.run("add", "-A", "-f", "--", *changed, cwd=path)
            git.commit_staged([], message, cwd=path)
            committed = True
        finally:
            # The worktree was only needed to commit; the branch alone is the proposal. A branch
            # left without its commit would pass for an empty proposal, so it goes too.
            git.run_full("worktree", "remove", "--force", "--", str(path), ok_codes=(0, 128))
            git.run("worktree", "prune")
            if not committed:
                git.run_full("branch", "-D", "--", branch, ok_codes=(0, 1))
    return load_proposal(git, pid)


def load_proposal(git: Git, proposal_id: str, *, existing: bool = False) -> Proposal:
    pid = check_id(proposal_id)
    branch = BRANCH_PREFIX + pid
    if not _branch_exists(git, branch):
        raise ProposalError(f"There is no open learn proposal {pid}.")
    tip = git.resolve_commit(branch)
    start = git.run("merge-base", git.resolve_commit(git.main_branch), tip).strip()
    head = git.log(branch, max_count=1)[0]
    files = git.run("diff", "--name-only", "--no-renames", start, tip).splitlines()
    # AGENTS.md restates the rest of the harvest, so it comes last: a clipped preview shows the
    # configuration itself first.
    plain = ("diff", "--no-color", "--no-ext-diff", "--no-textconv", start, tip, "--")
    ordered = [f for f in files if f != AGENTS_PATH] + [f for f in files if f == AGENTS_PATH]
    diff = "".join(git.run(*plain, *chunk) for chunk in (ordered[:-1], ordered[-1:]) if chunk)
    return Proposal(
        id=pid,
        branch=branch,
        source=head.trailer("Learn-Source") or "",
        proposed_by=head.trailer("Proposed-By") or "",
        files=files,
        diff=diff,
        existing=existing,
    )


def open_proposals(git: Git) -> list[str]:
    out = git.run("for-each-ref", "--format=%(refname:short)", f"refs/heads/{BRANCH_PREFIX}*")
    return sorted(
        ref.removeprefix(BRANCH_PREFIX)
        for ref in out.split()
        if ID_RE.fullmatch(ref.removeprefix(BRANCH_PREFIX))
    )


def merged_commit(git: Git, proposal_id: str) -> str | None:
    return git.find_commit_by_trailer("Learn-Approved", check_id(proposal_id))


def merge_proposal(git: Git, proposal: Proposal, *, approved_by: str) -> str:
    """Merge the proposal into main (idempotent) and delete its branch; return main's commit."""
    done = merged_commit(git, proposal.id)
    if done is not None:
        return done
    text = compose_message(
        f"orch learn: merge {proposal.id} — conventions from {one_line(proposal.source)}",
        {"Learn-Approved": proposal.id, "Approved-By": approved_by},
    )
    with git.lock():
        git.require_main_checked_out()
        tip = git.resolve_commit(proposal.branch)
        text = git.stamp(text)  # the audit head at merge time, as every commit of the bot carries
        proc = git.run_full(
            "merge", "--no-ff", "--no-verify", "--no-log", "--no-edit", "-m", text, tip, ok_codes=(0, 1)
        )
        if proc.returncode != 0:
            files = git.run("diff", "--name-only", "--diff-filter=U").splitlines()
            git.run_full("merge", "--abort", ok_codes=(0, 128))
            raise MergeConflictError(f"{proposal.id} conflicts with {git.main_branch}", files)
        sha = git.run("rev-parse", "HEAD").strip()
        git.run("branch", "-D", "--", proposal.branch)
    return sha


def discard_proposal(git: Git, proposal_id: str) -> bool:
    """Delete the proposal's branch; False when there was none."""
    branch = BRANCH_PREFIX + check_id(proposal_id)
    with git.lock():
        if not _branch_exists(git, branch):
            return False
        git.run("branch", "-D", "--", branch)
    return True
