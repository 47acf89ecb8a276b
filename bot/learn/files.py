"""What a harvest is made of, and careful reading of files from a repository we do not trust.

The source of a harvest may be any repository a person points at, so a file is read only when it
is a regular file inside the source (a symlink leading out is refused: its target would be
committed and posted to Slack), small, and UTF-8. Everything harvested is redacted before it is
kept, the same way artifacts and diffs are.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.redact import redact

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Asset:
    """One file proposed for the target repository."""

    path: str  # where it goes in the target, e.g. "adapters/linters/ruff.toml"
    content: str
    kind: str  # linter | formatter | typecheck | editor | hooks | ci | tests | template | convention | doc
    tool: str  # ruff, black, eslint, github-actions, …
    origin: str  # where it came from in the source, e.g. "pyproject.toml [tool.ruff]"


@dataclass
class Harvest:
    """Assets plus the facts the convention pages are written from (topic → sentences)."""

    source: str
    assets: list[Asset] = field(default_factory=list)
    facts: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, asset: Asset) -> None:
        # The first harvester to claim a target path wins (they run in order of precedence).
        if all(a.path != asset.path for a in self.assets):
            self.assets.append(asset)

    def fact(self, topic: str, sentence: str) -> None:
        lines = self.facts.setdefault(topic, [])
        if sentence not in lines:
            lines.append(sentence)


class Source:
    """Read-only access to the files of the repository being learned from."""

    def __init__(self, root: Path, harvest: Harvest) -> None:
        self.root = root.resolve()
        self.harvest = harvest

    def exists(self, rel: str) -> bool:
        return self._safe(rel) is not None

    def _safe(self, rel: str) -> Path | None:
        path = self.root / rel
        if not path.is_file():
            return None
        try:
            path.resolve().relative_to(self.root)
        except ValueError:
            self.harvest.notes.append(f"{rel}: skipped, it points outside the repository")
            return None
        return path

    def glob(self, pattern: str) -> list[str]:
        """Matching files as sorted relative POSIX paths (deterministic order for a stable diff)."""
        found = (p.relative_to(self.root).as_posix() for p in self.root.glob(pattern))
        return sorted(rel for rel in found if self._safe(rel) is not None)

    def text(self, rel: str) -> str | None:
        path = self._safe(rel)
        if path is None:
            return None
        data = path.read_bytes()
        if len(data) > MAX_FILE_BYTES:
            self.harvest.notes.append(f"{rel}: skipped, larger than {MAX_FILE_BYTES // 1024} KiB")
            return None
        try:
            return redact(data.decode("utf-8"))
        except UnicodeDecodeError:
            self.harvest.notes.append(f"{rel}: skipped, not UTF-8")
            return None

    def toml(self, rel: str) -> dict[str, Any] | None:
        text = self.text(rel)
        if text is None:
            return None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.harvest.notes.append(f"{rel}: not valid TOML ({exc})")
            return None

    def yaml(self, rel: str) -> Any:
        text = self.text(rel)
        if text is None:
            return None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            self.harvest.notes.append(f"{rel}: not valid YAML ({str(exc).splitlines()[0]})")
            return None

    def json(self, rel: str) -> Any:
        text = self.text(rel)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            self.harvest.notes.append(f"{rel}: not valid JSON ({exc})")
            return None


def words(items: Any) -> str:
    """A list of rule codes or names as `a, b, c` (a scalar is shown as itself)."""
    if isinstance(items, list | tuple):
        return ", ".join(str(i) for i in items) or "none"
    return str(items)
