"""A small, safe wrapper over the real git CLI for the bot's commits.

Every call is an argument list (never a shell), paths go after `--` and are checked to stay in
the repository, revisions are checked before git sees them, and the bot's identity is passed on
each call so neither the machine's git config nor `GIT_AUTHOR_*` variables decide who commits.
Worktree operations live in `bot.repo.worktrees` and are exposed here as methods.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.repo import worktrees as _wt
from bot.repo.effect_map import effect_commits
from bot.repo.errors import GitError, GitLockHeld, MergeConflictError, NotARepositoryError
from bot.repo.lock import LOCK_NAME, BranchLock
from bot.repo.message import Trailers, append_trailer, compose_message
from bot.repo.port import EFFECT_TRAILER
from bot.repo.stale_locks import lock_in_error, remove_if_stale
from bot.repo.validate import (
    UnsafeInputError,
    check_rev_shape,
    looks_like_sha,
    safe_relpath,
    validate_trailer,
)

__all__ = [
    "Commit",
    "Git",
    "GitError",
    "GitLockHeld",
    "Identity",
    "MergeConflictError",
    "NotARepositoryError",
    "UnsafeInputError",
    "compose_message",
    "ensure_repo",
    "has_commits",
    "repo_top_level",
    "run_in",
]

DEFAULT_MAIN_BRANCH = "main"
GIT_TIMEOUT_SECONDS = 120.0
# A git lock file older than this, with no git process running in the repository, was left by a
# process that died and is removed (bot.repo.stale_locks has the whole rule).
STALE_LOCK_SECONDS = 30.0
STALE_LOCK_RETRIES = 3
ORCH_DIR = ".orch"
AUDIT_HEAD_TRAILER = "Audit-Head"
# Variables that would point git at another repository or index than the one we were given
# (they are set, for example, while a git hook runs).
_REDIRECTING_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


@dataclass(frozen=True)
class Identity:
    name: str = "Codex Orchestrator"
    email: str = "codex-orchestrator@localhost"
    # An SSH private key: the bot's commits are signed with it (bot/repo/signing.py). None: unsigned.
    signing_key: str | None = None

    def __post_init__(self) -> None:
        for part in (self.name, self.email):
            if not part or any(ch in part for ch in "\n\r\x00<>"):
                raise UnsafeInputError(f"unusable git identity part: {part!r}")


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    author: str
    date: str
    trailers: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def trailer(self, key: str) -> str | None:
        """The last value of a trailer (keys compare case-insensitively, as in git)."""
        values = [v for k, v in self.trailers if k.lower() == key.lower()]
        return values[-1] if values else None


def _git_env(identity: Identity) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING_ENV}
    env.update(
        {
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
            # Pathspecs are file names to us, never globs or magic like ':(top)'.
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    return env


def _signing_args(identity: Identity) -> list[str]:
    if identity.signing_key is None:
        return ["-c", "commit.gpgsign=false"]
    return [
        "-c",
        "gpg.format=ssh",
        "-c",
        f"user.signingkey={identity.signing_key}",
        "-c",
        "commit.gpgsign=true",
    ]


def _run_git(
    args: Iterable[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    identity: Identity,
    stdin: str | None = None,
    ok_codes: Iterable[int] = (0,),
    timeout: float = GIT_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    arglist = list(args)
    argv = [
        "git",
        "-c",
        f"user.name={identity.name}",
        "-c",
        f"user.email={identity.email}",
        # The bot cannot answer a signing prompt: it signs only with its own SSH key, never a person's.
        *_signing_args(identity),
        "-c",
        "core.quotepath=false",
        *arglist,
    ]
    name = arglist[0] if arglist else ""
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("the git executable was not found") from exc
    except subprocess.TimeoutExpired as exc:
        # subprocess.run has killed it; a lock it left behind is cleared later by the stale-lock rule.
        raise GitError(f"git {name} timed out after {timeout:g}s") from exc
    if proc.returncode not in tuple(ok_codes):
        raise GitError(f"git {name} failed", args=arglist, stderr=proc.stderr)
    return proc


class Git:
    """One repository's main worktree, committed to by the bot under a branch lock."""

    def __init__(
        self,
        root: str | Path,
        *,
        identity: Identity | None = None,
        main_branch: str | None = None,
        lock_timeout: float = 60.0,
        timeout: float = GIT_TIMEOUT_SECONDS,
        stale_lock_seconds: float = STALE_LOCK_SECONDS,
    ) -> None:
        self.timeout = timeout
        self.stale_lock_seconds = stale_lock_seconds
        self.root = Path(root).resolve()
        self.identity = identity or Identity()
        self._env = _git_env(self.identity)
        self.main_branch = self.check_branch_name(main_branch) if main_branch else self._current_branch()
        common = Path(self.run("rev-parse", "--git-common-dir").strip())
        self.git_dir = common if common.is_absolute() else (self.root / common).resolve()
        self._lock = BranchLock(self.git_dir / LOCK_NAME, timeout=lock_timeout)
        # The audit log's head at commit time, carried by every commit as `Audit-Head: <seq>:<mac>`
        # so a copy of the head lives outside the database (set by whoever owns the database).
        self.audit_head: Callable[[], str | None] | None = None

    # -- plumbing --------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        stdin: str | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> str:
        """Run `git <args>` in the repository (or `cwd`) and return stdout; raise `GitError` otherwise."""
        return self.run_full(*args, cwd=cwd, stdin=stdin, ok_codes=ok_codes).stdout

    def run_full(
        self,
        *args: str,
        cwd: Path | None = None,
        stdin: str | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> subprocess.CompletedProcess[str]:
        """`run`, returning the whole result. A git lock left by a dead process is removed and the
        command run again (see bot.repo.stale_locks)."""
        for attempt in range(STALE_LOCK_RETRIES + 1):
            try:
                return _run_git(
                    args,
                    cwd=cwd or self.root,
                    env=self._env,
                    identity=self.identity,
                    stdin=stdin,
                    ok_codes=ok_codes,
                    timeout=self.timeout,
                )
            except GitError as exc:
                lock = lock_in_error(exc.stderr)
                git_dir: Path | None = getattr(self, "git_dir", None)  # known after the first call
                if lock is None or git_dir is None or attempt == STALE_LOCK_RETRIES:
                    raise
                if not remove_if_stale(
                    lock, git_dir=git_dir, root=self.root, max_age=self.stale_lock_seconds
                ):
                    raise GitLockHeld(lock, exc) from exc
        raise AssertionError("unreachable")  # the loop returns or raises

    def ensure_unlocked(self) -> None:
        """Before writing main's index, HEAD or branch: clear git's lock files a dead process left
        there, or raise `GitLockHeld` for one that may be live. Not every git command names a lock
        it cannot take (`git merge` says "Unable to write index" and leaves a merge half-way)."""
        names = (
            "index.lock",
            "HEAD.lock",
            "ORIG_HEAD.lock",
            "packed-refs.lock",
            f"refs/heads/{self.main_branch}.lock",
        )
        for name in names:
            lock = self.git_dir / name
            if lock.exists() and not remove_if_stale(
                lock, git_dir=self.git_dir, root=self.root, max_age=self.stale_lock_seconds
            ):
                raise GitLockHeld(lock, GitError(f"{name} exists"))

    def _current_branch(self) -> str:
        proc = self.run_full("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1))
        if proc.returncode != 0:
            raise GitError("the repository's HEAD is detached; name the main branch explicitly")
        return proc.stdout.strip()

    # -- validation --------------------------------------------------------------------------

    def check_branch_name(self, name: str) -> str:
        check_rev_shape(name)
        if name in ("@", "HEAD") or "@{" in name:
            # Valid ref names to check-ref-format, but rev-parse reads them as HEAD or reflog syntax.
            raise UnsafeInputError(f"not a valid branch name: {name!r}")
        proc = self.run_full("check-ref-format", "--branch", name, ok_codes=(0, 1, 128))
        if proc.returncode != 0 or proc.stdout.strip() != name:
            raise UnsafeInputError(f"not a valid branch name: {name!r}")
        return name

    def resolve_commit(self, rev: str, *, cwd: Path | None = None) -> str:
        """Resolve a branch name or sha to a full commit sha, refusing option-like input."""
        check_rev_shape(rev)
        if not looks_like_sha(rev):
            self.check_branch_name(rev)
        proc = self.run_full(
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{rev}^{{commit}}",
            cwd=cwd,
            ok_codes=(0, 1),
        )
        if proc.returncode != 0:
            raise GitError(f"unknown revision: {rev}")
        return proc.stdout.strip()

    def relpath(self, path: str | Path) -> str:
        return safe_relpath(self.root, path)

    # -- the branch lock -----------------------------------------------------------------------

    @contextmanager
    def lock(self, *, timeout: float | None = None) -> Iterator[None]:
        """Hold the shared-branch lock (reentrant within a thread)."""
        with self._lock.hold(timeout=timeout):
            yield

    # -- commits ---------------------------------------------------------------------------------

    def head(self, ref: str | None = None) -> str | None:
        branch = self.check_branch_name(ref) if ref else self.main_branch
        proc = self.run_full("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", ok_codes=(0, 1))
        return proc.stdout.strip() or None

    def commit(
        self,
        paths: Iterable[str | Path],
        message: str,
        trailers: Trailers | None = None,
        *,
        allow_empty: bool = False,
    ) -> str | None:
        """Commit exactly `paths` (as they are on disk) to the main branch; None if nothing changed.

        Other staged changes stay staged and out of the commit. With `allow_empty` an empty commit
        records the message and trailers even when the files already match.
        """
        rels = sorted({self.relpath(p) for p in paths})
        text = compose_message(message, trailers)
        with self.lock():
            self.require_main_checked_out()
            self.ensure_unlocked()
            present = [p for p in rels if (self.root / p).exists() or self._is_tracked(p)]
            if present:
                # -f: the bot's own files are committed even if a .gitignore pattern catches them.
                self.run("add", "-A", "-f", "--", *present)
                changed = self.run_full("diff", "--cached", "--quiet", "--", *present, ok_codes=(0, 1))
                if changed.returncode == 1:
                    return self.commit_staged(["--only", "--", *present], text)
            if not allow_empty:
                return None
            return self.commit_staged(["--allow-empty", "--only"], text)

    def require_main_checked_out(self) -> None:
        # Someone may have switched the bot's checkout; committing there would bypass main.
        current = self.run_full("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1)).stdout.strip()
        if current != self.main_branch:
            raise GitError(
                f"the repository has {current or 'a detached HEAD'} checked out, not {self.main_branch}"
            )

    def stamp(self, text: str) -> str:
        """The message with the `Audit-Head` trailer added, when an audit head is known."""
        head = self.audit_head() if self.audit_head is not None else None
        return append_trailer(text, AUDIT_HEAD_TRAILER, head) if head else text

    def commit_staged(self, extra: list[str], text: str, *, cwd: Path | None = None) -> str:
        # --no-verify: the bot's commits are the state of record; a spec-guard pre-commit hook
        # must not block publishing the very approval that would fix the problem it reports.
        text = self.stamp(text)
        self.run("commit", "--no-verify", "--cleanup=whitespace", "-F", "-", *extra, cwd=cwd, stdin=text)
        return self.run("rev-parse", "HEAD", cwd=cwd).strip()

    def _is_tracked(self, rel: str, *, cwd: Path | None = None) -> bool:
        return bool(self.run("ls-files", "--", rel, cwd=cwd).strip())

    def log(
        self,
        ref: str | None = None,
        *,
        max_count: int | None = None,
        paths: Iterable[str | Path] = (),
        grep: str | None = None,
    ) -> list[Commit]:
        """Commits reachable from `ref` (default: the main branch), newest first."""
        sha = self.resolve_commit(ref or self.main_branch)
        args = ["log", "--format=%H%x1f%an%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1e"]
        if max_count is not None:
            args.append(f"--max-count={int(max_count)}")
        if grep is not None:
            if "\x00" in grep:
                raise UnsafeInputError("grep pattern with NUL")
            args += ["--fixed-strings", f"--grep={grep}"]
        args += [sha, "--", *(self.relpath(p) for p in paths)]
        commits = []
        for record in self.run(*args).split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha_, author, date, subject, trailer_text = record.split("\x1f", 4)
            trailers = tuple(
                (k.strip(), v.strip())
                for k, sep, v in (line.partition(":") for line in trailer_text.splitlines())
                if sep
            )
            commits.append(Commit(sha_, subject, author, date, trailers))
        return commits

    def find_commit_by_trailer(self, name: str, value: str, *, ref: str | None = None) -> str | None:
        """The newest commit on `ref` (default: main) carrying trailer `name: value` exactly.

        `Orch-Effect` keys on main are answered from the effect → commit map (`bot.repo.effect_map`),
        which reads only the commits made since its last lookup; anything else searches the history.
        """
        name, value = validate_trailer(name, value)
        if ref is None and name.lower() == EFFECT_TRAILER.lower():
            return self.find_effect_commits([value]).get(value)
        return self.search_trailer(name, value, ref=ref)

    def find_effect_commits(self, keys: Iterable[str]) -> dict[str, str]:
        """For each of `keys` already committed on main, the newest commit with `Orch-Effect: <key>`."""
        checked = [validate_trailer(EFFECT_TRAILER, k)[1] for k in keys]
        with self.lock():
            return effect_commits(self, checked)

    def search_trailer(self, name: str, value: str, *, ref: str | None = None) -> str | None:
        """`find_commit_by_trailer` by `git log --grep` over the whole history of `ref`."""
        name, value = validate_trailer(name, value)
        if self.head(ref) is None:
            return None
        for commit in self.log(ref, grep=f"{name}: {value}"):
            if any(k.lower() == name.lower() and v == value for k, v in commit.trailers):
                return commit.sha
        return None

    def is_clean(self, *, cwd: Path | None = None) -> bool:
        return not self.run("status", "--porcelain", "--untracked-files=all", cwd=cwd).strip()

    def exclude_orch_dir(self) -> None:
        """Keep `.orch/` (the goal worktrees) out of `git status` without touching tracked files."""
        exclude = self.git_dir / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if f"/{ORCH_DIR}/" in current.splitlines():
            return
        with exclude.open("a", encoding="utf-8") as fh:
            if current and not current.endswith("\n"):
                fh.write("\n")
            fh.write(f"# Codex-Orchestrator worktrees\n/{ORCH_DIR}/\n")

    # -- worktrees (one per goal, see bot.repo.worktrees) ------------------------------------------

    def worktree_path(self, goal_id: str) -> Path:
        return _wt.worktree_path(self, goal_id)

    def worktree_add(self, goal_id: str, *, base: str | None = None) -> Path:
        return _wt.worktree_add(self, goal_id, base=base)

    def worktree_remove(self, goal_id: str, *, delete_branch: bool = False) -> None:
        _wt.worktree_remove(self, goal_id, delete_branch=delete_branch)

    def diff(self, worktree: str | Path, base: str | None = None) -> str:
        return _wt.diff(self, worktree, base)

    def commit_in_worktree(
        self, goal_id: str, message: str, trailers: Mapping[str, str] | None = None
    ) -> str | None:
        return _wt.commit_in_worktree(self, goal_id, message, trailers)

    def merge_worktree(self, goal_id: str, message: str, trailers: Mapping[str, str] | None = None) -> str:
        return _wt.merge_worktree(self, goal_id, message, trailers)

    def worktree_reset_to_main(self, goal_id: str) -> str:
        return _wt.reset_to_main(self, goal_id)


def run_in(path: str | Path, *args: str, ok_codes: Iterable[int] = (0,)) -> subprocess.CompletedProcess[str]:
    """Run a read-only git command in `path` without opening a `Git` (no branch, no lock needed)."""
    ident = Identity()
    return _run_git(args, cwd=Path(path), env=_git_env(ident), identity=ident, ok_codes=ok_codes)


def repo_top_level(path: str | Path) -> Path | None:
    """The top level of the work tree containing `path`, or None when it is not in one. Reads only."""
    root = Path(path).resolve()
    if not root.is_dir():
        return None
    proc = run_in(root, "rev-parse", "--show-toplevel", ok_codes=(0, 128))
    out = proc.stdout.strip()
    return Path(out).resolve() if proc.returncode == 0 and out else None


def has_commits(path: str | Path) -> bool:
    return run_in(path, "rev-parse", "--verify", "--quiet", "HEAD", ok_codes=(0, 1, 128)).returncode == 0


def ensure_repo(
    path: str | Path,
    *,
    init_if_missing: bool = False,
    identity: Identity | None = None,
    main_branch: str | None = None,
    lock_timeout: float = 60.0,
    timeout: float = GIT_TIMEOUT_SECONDS,
    stale_lock_seconds: float = STALE_LOCK_SECONDS,
) -> Git:
    """Open the repository whose top level is `path`, creating it when asked.

    A new repository gets an empty first commit on `main_branch` (default `main`) so that goal
    worktrees always have a base to branch from.
    """
    root = Path(path).resolve()
    ident = identity or Identity()
    env = _git_env(ident)
    top = repo_top_level(root)
    if top != root:
        if not init_if_missing:
            raise NotARepositoryError(f"not the top level of a git repository: {root.name}")
        root.mkdir(parents=True, exist_ok=True)
        branch = check_rev_shape(main_branch or DEFAULT_MAIN_BRANCH)
        _run_git(
            ["init", "--quiet", f"--initial-branch={branch}", "--", str(root)],
            cwd=root,
            env=env,
            identity=ident,
            timeout=timeout,
        )
        _run_git(
            ["commit", "--quiet", "--no-verify", "--allow-empty", "-m", "orch: initialise repository"],
            cwd=root,
            env=env,
            identity=ident,
            timeout=timeout,
        )
    git = Git(
        root,
        identity=identity,
        main_branch=main_branch,
        lock_timeout=lock_timeout,
        timeout=timeout,
        stale_lock_seconds=stale_lock_seconds,
    )
    git.exclude_orch_dir()
    return git
