"""Each process's own clones of the target repository, under its data directory (no shared disk).

- The process clone (`settings.repo`): what drafts read (scaffold check, templates), fetched before use.
- One clone per goal, `<data>/repos/<repo>/goals/<goal-id>`, whose checked-out branch `delivery`
  is the goal branch `orch/<goal-id>` on the remote. The bot's commits for the goal are made there
  by the same code as for a local repository (publish, merge, worktrees), so their trailers and
  their exactly-once lookups are unchanged; a push then carries them to the remote.

The goal's implementation worktree keeps its own local branch (`orch/<goal-id>` inside the goal
clone), which is why the delivery branch has another local name.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.forge.remote import run_remote
from bot.forge.sync import merge_base_into
from bot.repo.errors import GitError
from bot.repo.git import Identity
from bot.repo.port import EFFECT_TRAILER
from bot.repo.validate import validate_goal_id

LOCAL_BRANCH = "delivery"


class PushRejected(Exception):
    """The remote goal branch moved past what the bot knows (someone pushed to it)."""

    def __init__(self, branch: str, remote_head: str) -> None:
        super().__init__(f"the remote branch {branch} has commits the bot does not have")
        self.branch = branch
        self.remote_head = remote_head


REMOTE_PREFIX = "orch/"


def goal_branch(goal_id: str) -> str:
    return REMOTE_PREFIX + validate_goal_id(goal_id)


@dataclass
class Clones:
    url: str
    root: Path  # <data>/repos/<repo>
    token: str | Callable[[], str] | None  # a GitHub App's: a source of current installation tokens
    identity: Identity
    base: str | None = None  # None: the remote's default branch
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)

    def run(self, *args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        return run_remote(args, cwd=cwd, url=self.url, token=self.token, identity=self.identity, ok_codes=ok)

    def _git(self, *args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> str:
        if args[:1] == ("fetch",):
            # Two threads of this process fetching into one clone (a goal's draft job and its repo
            # effect) would clash on the remote-tracking refs ("cannot lock ref") and fail an effect.
            with self._lock(f"fetch:{cwd}"):
                return self.run(*args, cwd=cwd, ok=ok).stdout
        return self.run(*args, cwd=cwd, ok=ok).stdout

    def bring_base_in(self, goal_id: str) -> list[str]:
        """Merge the base's new commits into the goal branch (files of record resolved; see
        bot.forge.sync); return the files that still conflict, with nothing changed."""
        path = self.goal_clone(goal_id)
        self._git("fetch", "--quiet", "origin", cwd=path)
        base = self.base_branch()
        message = f"orch({goal_id}): bring {base} into {goal_branch(goal_id)}"
        return merge_base_into(self.run, path, base_ref=f"origin/{base}", goal_id=goal_id, message=message)

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def base_branch(self) -> str:
        if self.base is None:
            out = self._git("ls-remote", "--symref", "--", self.url, "HEAD", cwd=self.root.parent)
            for line in out.splitlines():
                if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
                    self.base = line[len("ref: refs/heads/") : -len("\tHEAD")]
                    break
            else:
                self.base = "main"
        return self.base

    def _clone(self, path: Path) -> None:
        if (path / ".git").is_dir():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)  # a clone a crash interrupted
        self._git("clone", "--quiet", "--no-checkout", "--", self.url, str(partial), cwd=path.parent)
        partial.rename(path)

    def process_clone(self, path: Path) -> Path:
        """The process clone at `path`, fetched and checked out at the base branch's tip."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock("process"):
            self._clone(path)
            base = self.base_branch()
            self._git("fetch", "--quiet", "--prune", "origin", cwd=path)
            self._git("checkout", "--quiet", "-B", base, f"origin/{base}", cwd=path)
        return path

    def goal_clone(self, goal_id: str) -> Path:
        """The goal's clone with `delivery` checked out: the remote goal branch, or a new one from base."""
        path = self.root / "goals" / validate_goal_id(goal_id)
        with self._lock(goal_id):
            fresh = not (path / ".git").is_dir()
            self._clone(path)
            current = self._git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=path, ok=(0, 1)).strip()
            if current != LOCAL_BRANCH:
                if not fresh:
                    self._git("fetch", "--quiet", "origin", cwd=path)
                remote = f"refs/remotes/origin/{goal_branch(goal_id)}"
                has_remote = self._git(
                    "rev-parse", "--verify", "--quiet", remote, cwd=path, ok=(0, 1)
                ).strip()
                start = remote if has_remote else f"origin/{self.base_branch()}"
                self._git("checkout", "--quiet", "-B", LOCAL_BRANCH, start, cwd=path)
        return path

    def sync(self, goal_id: str) -> None:
        """Fetch, and fast-forward the goal branch to the remote's when the remote is ahead (another
        replica, or a person, pushed): work then starts from what the remote has."""
        path = self.goal_clone(goal_id)
        self._git("fetch", "--quiet", "origin", cwd=path)
        remote = f"refs/remotes/origin/{goal_branch(goal_id)}"
        if not self._git("rev-parse", "--verify", "--quiet", remote, cwd=path, ok=(0, 1)).strip():
            return
        behind = self.run("merge-base", "--is-ancestor", LOCAL_BRANCH, remote, cwd=path, ok=(0, 1))
        if behind.returncode == 0 and not self._foreign(path, LOCAL_BRANCH, remote):
            self._git("merge", "--quiet", "--ff-only", remote, cwd=path)

    def _effect_messages(self, path: Path, since: str | None, until: str) -> dict[str, str]:
        """The commits in `since..until` (all of `until` without `since`) that record an effect:
        their `Orch-Effect` key and whole message."""
        span = f"{since}..{until}" if since else until
        out = self._git("log", "--format=%B%x1e", span, cwd=path)
        found: dict[str, str] = {}
        for message in out.split("\x1e"):
            for line in message.splitlines():
                if line.startswith(f"{EFFECT_TRAILER}: "):
                    found.setdefault(line.split(": ", 1)[1].strip(), message.strip())
        return found

    def _foreign(self, path: Path, since: str, until: str) -> list[str]:
        """Commits in `since..until` that are not the bot's own (neither committed by the bot nor
        carrying an `Orch-Effect` trailer), leaving out what the base branch has (merged work)."""
        out = self._git(
            "log",
            "--format=%H%x1f%ce%x1f%B%x1e",
            f"{since}..{until}",
            "--not",
            f"refs/remotes/origin/{self.base_branch()}",
            cwd=path,
        )
        foreign = []
        for record in out.split("\x1e"):
            sha, _, rest = record.strip().partition("\x1f")
            email, _, body = rest.partition("\x1f")
            if sha and email != self.identity.email and "\nOrch-Effect: " not in "\n" + body:
                foreign.append(sha)
        return foreign

    def push(self, goal_id: str) -> None:
        """Push the goal's commits to `orch/<goal-id>` (a no-op when the remote has them).

        When the remote branch moved on with the bot's own commits (another replica), the commits
        only this clone has are replayed on the new head and pushed again. Raises `PushRejected` when
        the remote branch has commits that are not the bot's (a person pushed).
        """
        path = self.goal_clone(goal_id)
        refspec = f"refs/heads/{LOCAL_BRANCH}:refs/heads/{goal_branch(goal_id)}"
        remote = f"refs/remotes/origin/{goal_branch(goal_id)}"
        for _attempt in range(5):
            proc = run_remote(
                ["push", "--quiet", "--porcelain", "origin", refspec],
                cwd=path,
                url=self.url,
                token=self.token,
                identity=self.identity,
                ok_codes=(0, 1),
            )
            if proc.returncode == 0:
                self._git("fetch", "--quiet", "origin", cwd=path)
                return
            if not (
                "[rejected]" in proc.stdout
                or "non-fast-forward" in proc.stderr
                or "fetch first" in proc.stderr
            ):
                raise GitError("git push failed", args=["push", "origin", refspec], stderr=proc.stderr)
            self._git("fetch", "--quiet", "origin", cwd=path)
            theirs = self._git("rev-parse", remote, cwd=path).strip()
            behind = self.run("merge-base", "--is-ancestor", LOCAL_BRANCH, remote, cwd=path, ok=(0, 1))
            if self._foreign(path, LOCAL_BRANCH, remote):
                if behind.returncode == 0:
                    return  # nothing of ours to push; the person's commits are the branch's news
                raise PushRejected(goal_branch(goal_id), theirs)
            if behind.returncode == 0:
                self._git("merge", "--quiet", "--ff-only", remote, cwd=path)
                continue
            # Another replica's commits: replay ours on them, then push again. The rebase drops a
            # commit whose change is already there (the same index written twice, a merge whose
            # branch landed): its effect's trailer is kept on an empty commit, so what was done
            # stays findable by its key and is never done again.
            ours = self._effect_messages(path, remote, LOCAL_BRANCH)
            replay = self.run("rebase", "--quiet", "--rebase-merges", remote, cwd=path, ok=(0, 1, 128))
            if replay.returncode != 0:
                # Both replicas wrote the files of record (the index, events, mirrors): merge theirs
                # in with those files resolved as the base merge does; a clash elsewhere is a person's.
                self.run("rebase", "--abort", cwd=path, ok=(0, 1, 128))
                message = f"orch({goal_id}): bring in {goal_branch(goal_id)} from another replica"
                if merge_base_into(self.run, path, base_ref=remote, goal_id=goal_id, message=message):
                    raise PushRejected(goal_branch(goal_id), theirs)
                continue
            kept = self._effect_messages(path, None, LOCAL_BRANCH)
            for key, message in ours.items():
                if key not in kept:
                    self._git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", message, cwd=path)
        raise GitError("git push kept being rejected", args=["push", "origin", refspec], stderr="")

    def changed_since(self, goal_id: str, base: str, head: str) -> list[str]:
        """Files that commits not made by the bot changed between `base` and `head`."""
        path = self.goal_clone(goal_id)
        changed: set[str] = set()
        for sha in self._foreign(path, base, head):
            out = self._git("diff-tree", "--no-commit-id", "--name-only", "-r", "-m", sha, cwd=path)
            changed.update(line for line in out.splitlines() if line)
        return sorted(changed)

    def file_at(self, goal_id: str, ref: str, name: str) -> str | None:
        proc = self.run("show", f"{ref}:{name}", cwd=self.goal_clone(goal_id), ok=(0, 128))
        return proc.stdout if proc.returncode == 0 else None

    def remote_head(self, goal_id: str) -> str | None:
        remote = f"refs/remotes/origin/{goal_branch(goal_id)}"
        out = self._git("rev-parse", "--verify", "--quiet", remote, cwd=self.goal_clone(goal_id), ok=(0, 1))
        return out.strip() or None

    def push_to_base(self, goal_id: str) -> str | None:
        """Fast-forward the base branch to the goal branch (its base already merged in); return the
        new base head, or None when the base moved meanwhile (fetched: merge it in and go again)."""
        path = self.goal_clone(goal_id)
        base = self.base_branch()
        head = self._git("rev-parse", LOCAL_BRANCH, cwd=path).strip()
        if self._git("rev-parse", f"origin/{base}", cwd=path).strip() == head:
            return head  # pushed already (a retry after a crash)
        proc = self.run(
            "push",
            "--quiet",
            "--porcelain",
            "origin",
            f"refs/heads/{LOCAL_BRANCH}:refs/heads/{base}",
            cwd=path,
            ok=(0, 1),
        )
        self._git("fetch", "--quiet", "origin", cwd=path)
        if proc.returncode != 0:
            if (
                "[rejected]" in proc.stdout
                or "non-fast-forward" in proc.stderr
                or "fetch first" in proc.stderr
            ):
                return None
            raise GitError("git push failed", args=["push", "origin", base], stderr=proc.stderr)
        return head

    def ahead_of_base(self, goal_id: str) -> int:
        path = self.goal_clone(goal_id)
        count = self._git("rev-list", "--count", f"origin/{self.base_branch()}..{LOCAL_BRANCH}", cwd=path)
        return int(count.strip() or 0)

    def head(self, goal_id: str) -> str:
        return self._git("rev-parse", LOCAL_BRANCH, cwd=self.goal_clone(goal_id)).strip()
