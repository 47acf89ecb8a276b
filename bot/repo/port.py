"""What the worktree and effect-map helpers need of a repository, as a protocol.

`bot.repo.git.Git` satisfies it and delegates to those helpers; typing them against this small
port instead of the class keeps the import arrow pointing one way (git → worktrees, effect_map).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

# The trailer that names the outbox effect a commit carries (one definition for the repository room).
EFFECT_TRAILER = "Orch-Effect"


class GitPort(Protocol):
    root: Path
    git_dir: Path
    main_branch: str

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        stdin: str | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> str: ...

    def run_full(
        self,
        *args: str,
        cwd: Path | None = None,
        stdin: str | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> subprocess.CompletedProcess[str]: ...

    def ensure_unlocked(self) -> None: ...

    def resolve_commit(self, rev: str, *, cwd: Path | None = None) -> str: ...

    def lock(self, *, timeout: float | None = None) -> AbstractContextManager[None]: ...

    def require_main_checked_out(self) -> None: ...

    def stamp(self, text: str) -> str: ...

    def commit_staged(self, extra: list[str], text: str, *, cwd: Path | None = None) -> str: ...

    def find_commit_by_trailer(self, name: str, value: str, *, ref: str | None = None) -> str | None: ...

    def search_trailer(self, name: str, value: str, *, ref: str | None = None) -> str | None: ...

    def exclude_orch_dir(self) -> None: ...
