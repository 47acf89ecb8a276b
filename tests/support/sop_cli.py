"""Drive `orch` in-process against a real target repo and check the repo's state of record after each step.

`OrchCli` runs `bot.cli.app` with Typer's CliRunner (the environment comes from monkeypatch);
`RepoWatch.check()` asserts the invariants that must hold after every step (schema-valid index,
append-only mirrors and events, approved files matching their sha256, a clean work tree) and
returns a snapshot for the step's own assertions.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from bot.sop.index import EVENTS_PATH, INDEX_PATH, parse_index, schema_errors
from bot.sop.mirrors import MARKER_START
from bot.sop.phases import MIRROR_FILES
from bot.sop.records import GoalRecord, IndexFile
from bot.sop.spec_guard import check

APPROVERS = ("U_LEAD", "U_QA")
REQUESTER = "U_REQ"
MIRRORS = sorted(MIRROR_FILES.values())
_SECTION_RE = re.compile(r"^" + re.escape(MARKER_START) + r"(G-\d+) (\w+) v(\d+) ", re.MULTILINE)


def setup_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: Path) -> str:
    """Point `orch` at the repo and a fresh SQLite file; returns the database URL."""
    url = f"sqlite:///{tmp_path / 'orch.db'}"
    monkeypatch.setenv("ORCH_REPO", str(repo))
    monkeypatch.setenv("ORCH_DATABASE_URL", url)
    monkeypatch.setenv("ORCH_APPROVERS", ",".join(APPROVERS))
    monkeypatch.setenv("ORCH_AGENT_BACKEND", "offline")
    monkeypatch.setenv("ORCH_LOG_LEVEL", "WARNING")
    return url


@dataclass
class OrchCli:
    def __call__(self, *args: str, code: int = 0) -> Result:
        from bot.cli import app

        result = CliRunner().invoke(app, list(args))
        shown = result.output
        if result.exc_info and not isinstance(result.exception, SystemExit):
            shown += "".join(traceback.format_exception(*result.exc_info))
        assert result.exit_code == code, f"orch {' '.join(args)} -> {result.exit_code}\n{shown}"
        # A refusal ends the command on purpose (SystemExit); anything else escaped as a crash.
        assert result.exception is None or isinstance(result.exception, SystemExit), shown
        # A refusal is a sentence, never a traceback.
        assert "Traceback" not in result.output, result.output
        return result

    def container(self) -> Any:
        """The composition root the CLI uses, for service-level calls the CLI does not offer."""
        from bot.app import build_container
        from bot.config import load_settings

        return build_container(load_settings())


@dataclass(frozen=True)
class Commit:
    subject: str
    trailers: dict[str, str]


@dataclass(frozen=True)
class Snapshot:
    index: IndexFile
    sections: dict[str, list[tuple[str, str, int]]]  # mirror -> [(goal, phase, version)] in file order
    events: list[dict[str, Any]]
    log: list[Commit]  # newest first

    def goal(self, goal_id: str) -> GoalRecord:
        found = self.index.goal(goal_id)
        assert found is not None, f"{goal_id} is not in {INDEX_PATH}"
        return found

    def actions(self, goal_id: str) -> list[str]:
        return [e["action"] for e in self.events if e.get("goal") == goal_id]

    def has_in_order(self, goal_id: str, *wanted: str, since: str | None = None) -> bool:
        """`wanted` occur in this order among the goal's events (after the last `since`, if given).

        Other bookkeeping events (jobs, reminders) may sit in between; the procedure's order may not.
        """
        actions = self.actions(goal_id)
        if since is not None:
            if since not in actions:
                return False
            actions = actions[len(actions) - actions[::-1].index(since) - 1 :]
        it = iter(actions)
        return all(any(a == w for a in it) for w in wanted)

    def subjects(self) -> list[str]:
        return [c.subject for c in self.log]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def git_log(repo: Path) -> list[Commit]:
    raw = git(repo, "log", "--format=%s%x00%(trailers:only,unfold)%x1e")
    commits = []
    for record in raw.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        subject, _, block = record.partition("\x00")
        trailers = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        commits.append(Commit(subject, trailers))
    return commits


@dataclass
class RepoWatch:
    repo: Path
    seen: dict[str, bytes] = field(default_factory=dict)

    def check(self, *, now: datetime | None = None) -> Snapshot:
        index_text = (self.repo / INDEX_PATH).read_text(encoding="utf-8")
        assert schema_errors(json.loads(index_text)) == []
        index = parse_index(index_text)

        # Mirrors and events only ever grow: what was there before is a byte-for-byte prefix.
        for rel in [*MIRRORS, EVENTS_PATH]:
            path = self.repo / rel
            now_bytes = path.read_bytes() if path.exists() else b""
            before = self.seen.get(rel, b"")
            assert now_bytes.startswith(before), f"{rel} was rewritten, not appended to"
            self.seen[rel] = now_bytes
        sections = {
            rel: [(m[1], m[2], int(m[3])) for m in _SECTION_RE.finditer(self.seen[rel].decode("utf-8"))]
            for rel in MIRRORS
        }
        for rel, found in sections.items():
            assert len(found) == len(set(found)), f"{rel} holds a section twice: {found}"

        events = [json.loads(line) for line in self.seen[EVENTS_PATH].decode("utf-8").splitlines()]
        ids = [e["id"] for e in events]
        assert len(ids) == len(set(ids)), "an event was appended twice"
        assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)

        # Every approved artifact is on disk with the approved bytes; the bot left nothing uncommitted.
        for goal in index.goals:
            for art in goal.artifacts:
                if art.approved_sha256:
                    assert sha256_file(self.repo / art.path) == art.approved_sha256, art.path
        assert check(self.repo, now=now or datetime.now(UTC)) == []
        assert git(self.repo, "status", "--porcelain") == ""
        return Snapshot(index=index, sections=sections, events=events, log=git_log(self.repo))
