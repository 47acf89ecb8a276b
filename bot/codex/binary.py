"""Find the `codex` executable: configuration first, then the project-local install, then PATH.

`make codex` installs the pinned npm package `@openai/codex` under `.orch/node` of this project
(the binary is large, so it is cached there and git-ignored).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CODEX_VERSION = "0.169.0"
LOCAL_INSTALL = Path(".orch") / "node" / "node_modules" / ".bin" / "codex"


class CodexNotInstalled(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            f"the codex CLI is not installed: run `make codex` (npm package @openai/codex@{CODEX_VERSION}) "
            "or set ORCH_CODEX_BIN to the codex executable"
        )


def project_root() -> Path:
    """The folder holding this checkout (bot/ sits directly under it)."""
    return Path(__file__).resolve().parents[2]


def find_codex(configured: str | None = None) -> Path | None:
    """The codex executable, or None when there is none."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_file() and os.access(path, os.X_OK) else None
    for base in (Path.cwd(), project_root()):
        candidate = base / LOCAL_INSTALL
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("codex")
    return Path(found) if found else None


def require_codex(configured: str | None = None) -> Path:
    found = find_codex(configured)
    if found is None:
        raise CodexNotInstalled()
    return found
