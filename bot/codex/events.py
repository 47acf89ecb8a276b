"""Codex's `exec --json` events turned into progress a person can follow. Pure: no I/O.

`codex exec --json` prints one JSON object per line: `thread.started`, `turn.started`, then
`item.started` / `item.updated` / `item.completed` for each item (`file_change`,
`command_execution`, `agent_message`, `reasoning`, `todo_list`, `mcp_tool_call`, `error`…), and
finally `turn.completed` (with token usage) or `turn.failed`. Unknown event and item types are kept
in the transcript and otherwise ignored, so a newer Codex does not break the runner.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TEST_COMMAND = re.compile(
    r"\b(pytest|unittest|tox|nox|jest|vitest|mocha|rspec|phpunit)\b|\b(npm|yarn|pnpm|make|go|cargo|mvn|gradle)\s+(run\s+)?test\b"
)
_BASH_WRAPPER = re.compile(r"^(?:/bin/|/usr/bin/)?(?:ba|z)?sh -lc (['\"])(?P<cmd>.*)\1$", re.DOTALL)
MAX_LINE = 160


def parse_line(line: str) -> dict[str, Any] | None:
    """One stdout line as an event, or None when it is not a JSON object (Codex may print text)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and "type" in value else None


def display_command(command: str) -> str:
    """`/bin/bash -lc 'pytest -q'` shown as `pytest -q`."""
    match = _BASH_WRAPPER.match(command.strip())
    text = match.group("cmd") if match else command
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


@dataclass
class CodexProgress:
    """What a Codex run has done so far, folded from its events."""

    cwd: Path | None = None
    thread_id: str | None = None
    files: list[str] = field(default_factory=list)
    commands: list[tuple[str, int | None]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Actions that did not go through: a failed or refused file change, a command that failed.
    failed_actions: list[str] = field(default_factory=list)
    finished: bool = False
    stopped: bool = False  # a person interrupted the turn
    steps: int = 0  # actions completed so far (file changes and commands)
    tests: tuple[str, int | None] | None = None  # the last test command Codex ran, and its exit code

    def _rel(self, path: str) -> str:
        if self.cwd is not None:
            try:
                return Path(path).resolve().relative_to(self.cwd.resolve()).as_posix()
            except ValueError:
                return path
        return path

    def apply(self, event: dict[str, Any]) -> str | None:
        """Fold one event in; return a one-line update when something a person cares about happened."""
        kind = event.get("type")
        if kind == "thread.started":
            self.thread_id = str(event.get("thread_id") or "") or None
            return "Codex started"
        if kind == "turn.completed":
            self.finished = True
            usage = event.get("usage")
            self.usage = dict(usage) if isinstance(usage, dict) else None
            if event.get("status") == "interrupted":
                self.stopped = True
                return "Codex stopped"
            return "Codex finished"
        if kind == "turn.failed":
            nested = event.get("error")
            err: dict[str, Any] = nested if isinstance(nested, dict) else event
            self.error = str(err.get("message") or "Codex reported an error")
            return f"Codex failed: {self.error[:MAX_LINE]}"
        if kind == "error":  # often transient ("Reconnecting… 1/5"); the turn's end decides
            self.warnings.append(str(event.get("message") or "")[:MAX_LINE])
            return f"Codex: {self.warnings[-1]}"
        if kind != "item.completed" or not isinstance(event.get("item"), dict):
            return None
        item = event["item"]
        item_type = item.get("type")
        if item_type in ("file_change", "command_execution"):
            self.steps += 1
        if item_type == "file_change":
            changed = [self._rel(str(c.get("path"))) for c in item.get("changes", []) if isinstance(c, dict)]
            for path in changed:
                if path not in self.files:
                    self.files.append(path)
            verb = "changed" if item.get("status") != "failed" else "failed to change"
            if item.get("status") in ("failed", "declined"):
                what = "refused" if item.get("status") == "declined" else "failed"
                self.failed_actions.append(f"change {', '.join(changed)} ({what})")
            return f"Codex {verb} {', '.join(changed)}"
        if item_type == "command_execution":
            command = display_command(str(item.get("command", "")))
            code = item.get("exit_code")
            self.commands.append((command, code if isinstance(code, int) else None))
            if _TEST_COMMAND.search(command):
                self.tests = (command, code if isinstance(code, int) else None)
            if item.get("status") == "declined":
                self.failed_actions.append(f"`{command}` (refused)")
            elif code != 0 or item.get("status") == "failed":
                self.failed_actions.append(f"`{command}` (exit {code})")
            return f"Codex ran `{command}` (exit {code})"
        if item_type == "agent_message":
            text = str(item.get("text") or "").strip()
            if text:
                self.messages.append(text)
            return None
        if item_type == "error":
            return f"Codex warning: {str(item.get('message', ''))[:MAX_LINE]}"
        return None

    @property
    def final_message(self) -> str:
        return self.messages[-1] if self.messages else ""

    def status_line(self) -> str:
        """The one status line shown (and updated) in the goal's thread."""
        state = (
            "failed"
            if self.error
            else ("stopped" if self.stopped else "done" if self.finished else "working")
        )
        parts = [f"Codex {state}" + (f" (step {self.steps + 1})" if state == "working" else "")]
        if self.files:
            parts.append(f"{len(self.files)} file(s) changed: {', '.join(self.files[:5])}")
        if self.commands:
            last, code = self.commands[-1]
            outcome = f"exit {code}" if code is not None else "not run"
            parts.append(f"{len(self.commands)} command(s) run, last `{last}` ({outcome})")
        if self.tests is not None:
            command, code = self.tests
            verdict = "passed" if code == 0 else ("not run" if code is None else f"failed (exit {code})")
            parts.append(f"tests `{command}` {verdict}")
        if self.error:
            parts.append(self.error[:MAX_LINE])
        return " · ".join(parts)
