"""Safe names for files that drafts declare and builders write.

Task titles and file lists come from people (a Slack brief) or from a model, so neither may reach
the file system or a shell unchecked. Everything here is pure string work.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Only these characters may appear in a declared path: no spaces, quotes, `;`, `$`, backslashes
# or globbing, so a path can never be read as two arguments or as shell syntax.
_PATH_CHARS = re.compile(r"^[A-Za-z0-9._/-]+$")
_SLUG_WORD = re.compile(r"[a-z0-9]+")
MAX_PATH_LEN = 200
MAX_SLUG_LEN = 40

# Words that make file names longer without making them clearer.
_STOP_WORDS_TEXT = (
    "a an the and or of to for in on with by from into as at be is are it its this that we "
    "our should must will can so then when which who all any each new add make let"
)
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


class UnsafePathError(ValueError):
    """A declared path could escape the worktree or be misread as an option or shell syntax."""


def check_relative_path(path: str) -> str:
    """Return `path` normalised (no `./`, no doubled slashes) if it is a safe relative path.

    Refused: absolute paths, `..` anywhere, a part starting with `-` (would read as an option),
    anything inside `.git`, characters outside `[A-Za-z0-9._/-]`, and over-long paths.
    """
    if not path or len(path) > MAX_PATH_LEN or not _PATH_CHARS.match(path):
        raise UnsafePathError(f"unsafe path {path!r}: only [A-Za-z0-9._/-] are allowed")
    if path.startswith("/"):
        raise UnsafePathError(f"unsafe path {path!r}: must be relative")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        raise UnsafePathError(f"unsafe path {path!r}: empty")
    for part in parts:
        if part == "..":
            raise UnsafePathError(f"unsafe path {path!r}: '..' is not allowed")
        if part.startswith("-"):
            raise UnsafePathError(f"unsafe path {path!r}: a part may not start with '-'")
        if part == ".git":
            raise UnsafePathError(f"unsafe path {path!r}: .git is off limits")
    return str(PurePosixPath(*parts))


def is_safe_relative_path(path: str) -> bool:
    try:
        check_relative_path(path)
    except UnsafePathError:
        return False
    return True


def slugify(text: str, *, max_words: int = 4, fallback: str = "task") -> str:
    """A `[a-z0-9_]` identifier made from the meaningful words of `text`.

    The result always starts with a letter, so it is a valid Python module name, and is never
    empty: `fallback` stands in when the text has no usable words.
    """
    # "goal's phase" should give goal_phase, not goal_s_phase.
    words = _SLUG_WORD.findall(re.sub(r"['’]s\b", "", text.lower()))
    meaningful = [w for w in words if w not in _STOP_WORDS] or words
    slug = "_".join(meaningful[:max_words])[:MAX_SLUG_LEN].strip("_")
    if not slug:
        slug = fallback
    if not slug[0].isalpha():
        slug = f"{fallback}_{slug}"[:MAX_SLUG_LEN].strip("_")
    return slug


def unique_slug(slug: str, taken: set[str]) -> str:
    """`slug`, or `slug_2`, `slug_3`… whichever is not in `taken`; adds the result to `taken`."""
    candidate, n = slug, 2
    while candidate in taken:
        candidate = f"{slug}_{n}"
        n += 1
    taken.add(candidate)
    return candidate
