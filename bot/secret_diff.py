"""Secrets a diff adds, with the file and line where each one lands: what blocks its approval.

Run it on the diff as the builder left it, before redaction: a stored diff is redacted, and a
`[REDACTED:…]` marker cannot tell a secret that was there from a task text that quoted one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.redact import find_secrets

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class DiffSecret:
    path: str
    line: int  # the line number in the new version of the file
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} — {self.kind.replace('_', ' ')}"


def _path(header: str) -> str:
    path = header[4:].strip().split("\t")[0]
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    return path[2:] if path.startswith(("a/", "b/")) else path


def _added_lines(diff: str) -> dict[str, list[tuple[int, str]]]:
    """For each file of a unified diff, its added lines as (new line number, text)."""
    files: dict[str, list[tuple[int, str]]] = {}
    path, old_path, number, in_hunk = "?", "?", 0, False
    for raw in diff.splitlines():
        if raw.startswith("diff --git "):
            in_hunk = False
        elif not in_hunk and raw.startswith("--- "):
            old_path = _path(raw)
        elif not in_hunk and raw.startswith("+++ "):
            path = _path(raw)
            if path == "/dev/null":  # a deleted file adds nothing
                path = old_path
        elif match := _HUNK.match(raw):
            number, in_hunk = int(match.group(1)), True
        elif in_hunk and raw.startswith("+"):
            files.setdefault(path, []).append((number, raw[1:]))
            number += 1
        elif in_hunk and raw.startswith(" "):
            number += 1
    return files


def added_secrets(diff: str) -> list[DiffSecret]:
    """Every secret on a line the diff adds, by file and line, once per line and kind."""
    found: list[DiffSecret] = []
    for path, lines in _added_lines(diff).items():
        # One text per file, so a secret spanning added lines (a private key block) is seen whole.
        text = "\n".join(line for _, line in lines)
        here = {(lines[f.line - 1][0], f.kind) for f in find_secrets(text)}
        found += [DiffSecret(path, number, kind) for number, kind in sorted(here)]
    return found
