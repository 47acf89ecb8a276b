"""The lock that serialises writers of the shared branch.

Every change to the main branch (publishing an approval, merging a goal's worktree) is a
read-modify-write of `tasks/index.json` and a commit; two writers interleaving would lose an
update or commit each other's half-written files. A file lock inside the git directory works
across threads and processes on one machine. It is reentrant within a thread, so a publish that
holds it may call `Git.commit`, which takes it again.

Writers in one process first queue on a thread lock for the same file: the file lock only polls
(every few milliseconds), so without it threads of one process waiting for each other would each
sleep a poll interval after every release, and publishing many goals at once would crawl.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "orch-main.lock"
POLL_SECONDS = 0.01  # how often a waiter in another process looks at the file lock again

_GATES: dict[str, threading.RLock] = {}
_GATES_GUARD = threading.Lock()


def _gate(path: Path) -> threading.RLock:
    """The one thread lock of this process in front of the file lock at `path`."""
    key = str(path.resolve())
    with _GATES_GUARD:
        return _GATES.setdefault(key, threading.RLock())


class LockTimeoutError(RuntimeError):
    """Another writer held the branch lock for longer than we were willing to wait."""


class BranchLock:
    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = FileLock(str(path), timeout=timeout, poll_interval=POLL_SECONDS)
        self._gate = _gate(path)

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked

    @contextmanager
    def hold(self, *, timeout: float | None = None) -> Iterator[None]:
        # Only the acquiring is guarded, so a Timeout raised by the body is not mistaken for ours.
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait if wait >= 0 else None
        if not self._gate.acquire(timeout=wait if wait >= 0 else -1):
            raise self._timed_out(wait)
        try:
            left = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                self._lock.acquire(timeout=left)
            except Timeout:
                raise self._timed_out(wait) from None
            try:
                yield
            finally:
                self._lock.release()
        finally:
            self._gate.release()

    def _timed_out(self, wait: float) -> LockTimeoutError:
        return LockTimeoutError(
            f"the branch lock {self.path.name} is held by another writer; gave up after {wait:g}s"
        )
