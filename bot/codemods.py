"""Codemods: deterministic, reviewable code transformations kept under `patterns/codemods/`.

Each codemod is a folder holding an ast-grep rule and a test fixture:

```
patterns/codemods/<id>/
  rule.yml              ast-grep rule: id, language, message (the description), rule, fix
  fixture/before.<ext>  input the rule is run on
  fixture/after.<ext>   what the rule must turn it into
```

ast-grep (the `ast-grep-cli` package) is a well-kept, language-agnostic structural rewriter: a
rule only matches syntax and rewrites it, it cannot run anything. A codemod counts only when its
fixture holds (`before` rewritten equals `after`), checked when it is harvested and again before
the builder applies it. The builder applies a codemod a task names (its id in the task's title,
description or details) as a deterministic step instead of asking a model; the diff then goes
through the same approval as any other.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

CODEMODS_DIR = "patterns/codemods"
RULE_FILE = "rule.yml"
MAX_RULE_BYTES = 64 * 1024
TIMEOUT_S = 60.0


class CodemodError(RuntimeError):
    """A codemod that cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Codemod:
    id: str
    language: str
    description: str
    folder: Path
    before: Path
    after: Path

    @property
    def rule(self) -> Path:
        return self.folder / RULE_FILE


def ast_grep_binary() -> str | None:
    """The `ast-grep` of this environment (installed with the package), else one on PATH."""
    beside = Path(sys.executable).parent / "ast-grep"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ast-grep")


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return not path.is_symlink()


def read_codemod(folder: Path) -> Codemod:
    """The codemod in `folder`; CodemodError when its rule or fixture is missing or malformed."""
    rule = folder / RULE_FILE
    if not rule.is_file() or not _inside(folder, rule) or rule.stat().st_size > MAX_RULE_BYTES:
        raise CodemodError(f"{folder.name}: no readable {RULE_FILE}")
    try:
        data = yaml.safe_load(rule.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CodemodError(f"{folder.name}: {RULE_FILE} is not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise CodemodError(f"{folder.name}: {RULE_FILE} is not a mapping")
    missing = [k for k in ("id", "language", "message", "rule", "fix") if not data.get(k)]
    if missing:
        raise CodemodError(f"{folder.name}: {RULE_FILE} lacks {', '.join(missing)}")
    if str(data["id"]) != folder.name:
        raise CodemodError(f"{folder.name}: its rule id {data['id']!r} differs from the folder name")
    fixture = folder / "fixture"
    before = sorted(fixture.glob("before.*")) if fixture.is_dir() else []
    after = sorted(fixture.glob("after.*")) if fixture.is_dir() else []
    if len(before) != 1 or len(after) != 1 or not all(_inside(folder, p) for p in (*before, *after)):
        raise CodemodError(f"{folder.name}: needs one fixture/before.* and one fixture/after.*")
    return Codemod(
        id=folder.name,
        language=str(data["language"]),
        description=" ".join(str(data["message"]).split()),
        folder=folder,
        before=before[0],
        after=after[0],
    )


def load_codemods(repo: Path | str | None) -> list[Codemod]:
    """The codemods of a repository (those that read cleanly), by id."""
    if repo is None:
        return []
    root = Path(repo) / CODEMODS_DIR
    if not root.is_dir() or root.is_symlink():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            found.append(read_codemod(folder))
        except CodemodError as exc:
            log.warning("codemod not usable: %s", exc)
    return found


def apply(codemod: Codemod, cwd: Path, paths: list[str]) -> None:
    """Rewrite `paths` (relative to `cwd`) in place with the codemod's rule."""
    binary = ast_grep_binary()
    if binary is None:
        raise CodemodError("ast-grep is not installed (the ast-grep-cli package)")
    proc = subprocess.run(
        [binary, "scan", "--rule", str(codemod.rule.resolve()), "--update-all", "--", *paths],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")},
        check=False,
    )
    if proc.returncode != 0:
        raise CodemodError(f"{codemod.id}: ast-grep failed: {(proc.stderr or proc.stdout).strip()[:300]}")


def check_fixture(codemod: Codemod) -> None:
    """Run the codemod on a copy of its `before` fixture; CodemodError unless it gives `after`."""
    with tempfile.TemporaryDirectory(prefix="orch-codemod-") as tmp:
        work = Path(tmp) / codemod.before.name
        shutil.copyfile(codemod.before, work)
        apply(codemod, Path(tmp), [work.name])
        if work.read_text(encoding="utf-8") != codemod.after.read_text(encoding="utf-8"):
            raise CodemodError(f"{codemod.id}: its fixture does not hold (before does not become after)")


def named_in(codemods: list[Codemod], *texts: str) -> Codemod | None:
    """The first codemod whose id the task's words name."""
    words = " ".join(texts).lower()
    return next((c for c in codemods if c.id.lower() in words), None)
