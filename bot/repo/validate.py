"""Checks on every name that reaches the git command line or the file system.

Goal ids, titles and paths come from Slack users and from models, so they are hostile until
proven otherwise. These checks are pure (no git, no I/O beyond path resolution); the `Git`
class adds `git check-ref-format` on top for branch names.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from bot.sop.ids import GOAL_ID_RE

# Trailer keys are what git itself accepts without quoting: a token of letters, digits and dashes.
TRAILER_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*", re.ASCII)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SHA_RE = re.compile(r"[0-9a-f]{7,64}", re.ASCII)


class UnsafeInputError(ValueError):
    """A name or path that could be read as an option, escape the repository or smuggle data."""


def validate_goal_id(goal_id: object) -> str:
    """Return the goal id if it looks like `G-0001`, else refuse it."""
    if not isinstance(goal_id, str) or not GOAL_ID_RE.fullmatch(goal_id):
        raise UnsafeInputError(f"not a goal id (expected G-0001 style): {goal_id!r}")
    return goal_id


def validate_trailer(key: str, value: str) -> tuple[str, str]:
    """Trailers are parsed back by git, so a newline in a value would forge another trailer."""
    if not TRAILER_KEY_RE.fullmatch(key):
        raise UnsafeInputError(f"not a trailer key: {key!r}")
    value = value.strip()
    if not value or _CONTROL_RE.search(value) or len(value) > 500:
        raise UnsafeInputError(f"trailer {key} has an empty, overlong or multi-line value: {value!r}")
    return key, value


def one_line(text: str, *, limit: int = 120) -> str:
    """Collapse user text (a goal title) into one printable line for subjects and headings.

    Newlines in a title would otherwise start a new paragraph of a commit message, where a line
    like `Orch-Effect: …` could pass for one of our trailers.
    """
    flat = " ".join(_CONTROL_RE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def check_rev_shape(rev: str) -> str:
    """Refuse revisions git could read as an option or a range before asking git about them."""
    if (
        not isinstance(rev, str)
        or not rev
        or rev.startswith("-")
        or ".." in rev
        or _CONTROL_RE.search(rev)
        or " " in rev
    ):
        raise UnsafeInputError(f"not an acceptable revision: {rev!r}")
    return rev


def looks_like_sha(rev: str) -> bool:
    return bool(_SHA_RE.fullmatch(rev))


def safe_relpath(root: Path, path: str | Path) -> str:
    """Return `path` as a POSIX path relative to `root`, refusing anything that leaves it.

    Absolute paths are accepted only when they resolve inside `root`. Symlinks are resolved, so
    a link pointing outside the repository is refused too. The `.git` folder is off limits.
    """
    raw = str(path)
    if not raw or "\x00" in raw or raw.startswith("-"):
        raise UnsafeInputError(f"unsafe path: {raw!r}")
    if _CONTROL_RE.search(raw):
        raise UnsafeInputError(f"path with control characters: {raw!r}")
    base = root.resolve()
    candidate = Path(raw)
    if not candidate.is_absolute():
        if ".." in PurePosixPath(candidate.as_posix()).parts:
            raise UnsafeInputError(f"path climbs out with '..': {raw!r}")
        candidate = base / candidate
    resolved = candidate.resolve()
    try:
        rel = resolved.relative_to(base)
    except ValueError:
        raise UnsafeInputError(f"path is outside the repository: {raw!r}") from None
    if not rel.parts or rel.parts[0] == ".git":
        raise UnsafeInputError(f"path is the repository root or inside .git: {raw!r}")
    return rel.as_posix()
