"""Errors raised by the repository side; callers catch these, never `subprocess` errors."""

from __future__ import annotations

from pathlib import Path

from bot.repo.lock import LockTimeoutError
from bot.repo.validate import UnsafeInputError

__all__ = [
    "GitError",
    "GitLockHeld",
    "LockTimeoutError",
    "MergeConflictError",
    "NotARepositoryError",
    "UnsafeInputError",
]


class GitError(RuntimeError):
    def __init__(self, message: str, *, args: list[str] | None = None, stderr: str = "") -> None:
        super().__init__(message if not stderr.strip() else f"{message}: {stderr.strip()}")
        self.git_args = args or []
        self.stderr = stderr


class GitLockHeld(GitError):
    """git's own lock file is there and may still be held (young, or a git process runs nearby)."""

    def __init__(self, lock: Path, cause: GitError) -> None:
        super().__init__(f"{lock.name} is held by a running git or was left moments ago", stderr=cause.stderr)
        self.lock = lock


class NotARepositoryError(GitError):
    pass


class MergeConflictError(GitError):
    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files
