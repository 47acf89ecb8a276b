"""What the drafters and the builder read of a repository's learned conventions before they work.

`AGENTS.md` at the root (the file coding agents read; `orch learn` proposes it) and the convention
pages under `patterns/conventions/`, read from the target repository's main checkout. A file is
read only when it is a regular file inside the repository, UTF-8, and each is clipped, so a large
or hostile file cannot swamp a prompt. The text is redacted, and it reaches a model as data, in
its own tag, never as instructions that override the prompt's rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot.learn.agents_md import AGENTS_PATH
from bot.redact import redact

log = logging.getLogger(__name__)

CONVENTIONS = "patterns/conventions"
MAX_FILE_CHARS = 8000
MAX_TOTAL_CHARS = 20000


@dataclass(frozen=True)
class Guidance:
    text: str = ""
    paths: list[str] = field(default_factory=list)  # what was read, for the run record

    def __bool__(self) -> bool:
        return bool(self.text)


def _read(root: Path, rel: str) -> str | None:
    path = root / rel
    try:
        if path.is_symlink() or not path.is_file():
            return None
        path.resolve().relative_to(root.resolve())
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        log.warning("not reading %s as guidance: unreadable or outside the repository", rel)
        return None
    text = text.strip()
    return text if len(text) <= MAX_FILE_CHARS else text[:MAX_FILE_CHARS].rstrip() + "\n… (clipped)"


def read_guidance(repo: str | Path | None) -> Guidance:
    """The repository's AGENTS.md and convention pages, each under a `--- path ---` line."""
    if repo is None:
        return Guidance()
    root = Path(repo)
    folder = root / CONVENTIONS
    rels = [AGENTS_PATH]
    if folder.is_dir() and not folder.is_symlink():
        rels += sorted(f"{CONVENTIONS}/{p.name}" for p in folder.glob("*.md"))
    parts: list[str] = []
    used: list[str] = []
    total = 0
    for rel in rels:
        text = _read(root, rel)
        if not text or total + len(text) > MAX_TOTAL_CHARS:
            continue
        parts.append(f"--- {rel} ---\n{text}")
        used.append(rel)
        total += len(text)
    return Guidance(redact("\n\n".join(parts)), used)
