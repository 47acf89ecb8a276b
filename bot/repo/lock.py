"""The lock that serialises writers of the shared branch.

Every change to the main branch (publishing an approval, merging a goal's worktree) is a
read-modify-write of `tasks/index.json` and a commit; two writers interleaving would lose an
update or commit each other's half-written files. A file lock inside the git directory works
across threads and processes on one machine. It is reentrant within a thread, so a publish that
holds it may call `Git.commit`, which takes it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "orch-main.lock"


class LockTimeoutError(RuntimeError):
    """Another writer held the branch lock for longer than we were willing to wait."""


class BranchLock:
    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = FileLock(str(path), timeout=timeout)

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked

    @contextmanager
    def hold(self, *, timeout: float | None = None) -> Iterator[None]:
        # Acquire outside the try so a Timeout raised by the body is not mistaken for ours.
        try:
            self._lock.acquire(timeout=self.timeout if timeout is None else timeout)
        except Timeout:
            raise LockTimeoutError(
                f"the branch lock {self.path.name} is held by another writer; gave up after "
                f"{self.timeout if timeout is None else timeout:g}s"
            ) from None
        try:
            yield
        finally:
            self._lock.release()
