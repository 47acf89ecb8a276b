"""What the success metrics are computed from, besides the audit log: run records and their diffs.

An agent run writes `.runs/<run-id>/run.json` and, when it changed files, `diff.patch`. The
reader is lenient about names, because run records are written by several runners: the goal is
`goal_id` or `goal`, the start `started_at` or `start`, the end `ended_at`, `end` or
`finished_at`. Fields read:

- `goal_id`, `phase`, `role`, `task_id`, `version`, `status`, `started_at`, `ended_at`
- `human_commits`: commits a person made in the goal's worktree during or after the run (a
  count or a list of shas), as the runner saw them when it collected the diff.
- `deployment_id`: the deployment that wrote the record (bot/observability/runs.py); records of another
  deployment sharing the folder are left out, and an untagged (older) record counts only when
  this deployment's audit log names its run id.
- `stub` (the offline builder's scaffold), `tests` (passed | failed | timed_out | not_run),
  `retries` or `attempts` (model calls tried again), `backend`, `feedback` (a rebuild after a
  change request).

A record without a goal (an `orch eval` run, say) is read but never counted as goal work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
DIFF_FILE = "diff.patch"
MAX_DIFF_BYTES = 5 * 1024 * 1024
COMPLETED = frozenset({"completed", "succeeded", "success", "ok", "done", "passed"})
IN_PROGRESS = frozenset({"running", "queued", "pending", "started"})
# Runs that change the goal's worktree (the ones whose diff is posted for approval).
BUILD_ROLES = frozenset({"builder", "codex", "manager"})


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    goal_id: str | None
    phase: str | None
    role: str | None
    task_id: str | None
    version: int | None
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    human_commits: int
    diff: str
    deployment_id: str | None = None
    stub: bool = False
    tests: str | None = None
    retries: int = 0
    feedback: bool = False

    @property
    def completed(self) -> bool:
        return self.status in COMPLETED

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    @property
    def is_build(self) -> bool:
        return self.phase == "implementation" or (self.role or "").lower() in BUILD_ROLES


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _first(data: dict[str, Any], *names: str) -> Any:
    return next((data[n] for n in names if data.get(n) not in (None, "")), None)


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, list):
        return len(value)
    return 0


def read_run(folder: Path) -> RunRecord | None:
    """One run record, or None when the folder holds no readable `run.json`."""
    try:
        data = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    diff = ""
    patch = folder / DIFF_FILE
    if patch.is_file() and patch.stat().st_size <= MAX_DIFF_BYTES:
        diff = patch.read_text(encoding="utf-8", errors="replace")
    task = _first(data, "task_id", "task")
    version = _first(data, "version")
    return RunRecord(
        run_id=str(_first(data, "run_id", "id") or folder.name),
        goal_id=_first(data, "goal_id", "goal"),
        phase=_first(data, "phase"),
        role=_first(data, "role"),
        task_id=str(task) if task is not None else None,
        version=int(version) if isinstance(version, int) or str(version).isdigit() else None,
        status=str(_first(data, "status") or "unknown").lower(),
        started_at=_time(_first(data, "started_at", "start", "started")),
        ended_at=_time(_first(data, "ended_at", "end", "finished_at", "ended")),
        human_commits=_count(data.get("human_commits")),
        diff=diff,
        deployment_id=_first(data, "deployment_id", "deployment"),
        stub=data.get("stub") is True
        or (str(data.get("backend")) == "offline" and str(data.get("role")) == "builder"),
        tests=str(data["tests"]).lower() if isinstance(data.get("tests"), str) else None,
        retries=max(_count(data.get("retries")), _count(data.get("attempts")) - 1, 0),
        feedback=bool(data.get("feedback")),
    )


def load_runs(runs_dir: Path | None) -> list[RunRecord]:
    """Every run record under `runs_dir`, oldest first (by start, then id)."""
    if runs_dir is None or not runs_dir.is_dir():
        return []
    runs = [r for folder in sorted(runs_dir.iterdir()) if folder.is_dir() and (r := read_run(folder))]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(runs, key=lambda r: (r.started_at or epoch, r.run_id))


def changed_lines(diff: str) -> set[tuple[str, str, str]]:
    """The changed lines of a unified diff as (path, "+" or "-", text) keys.

    Blank lines carry no meaning of their own and are left out; leading and trailing whitespace
    is ignored, so a re-indented copy of the same edit still matches.
    """
    keys: set[tuple[str, str, str]] = set()
    old_path = new_path = ""
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            in_hunk = False
            old_path = new_path = ""
        elif line.startswith("--- ") and not in_hunk:
            old_path = _strip_prefix(line[4:])
        elif line.startswith("+++ ") and not in_hunk:
            new_path = _strip_prefix(line[4:])
        elif line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line[:1] in ("+", "-"):
            text = line[1:].strip()
            if text:
                path = new_path if new_path and new_path != "/dev/null" else old_path
                keys.add((path, line[0], text))
    return keys


def _strip_prefix(name: str) -> str:
    name = name.split("\t", 1)[0].strip()
    return name[2:] if name.startswith(("a/", "b/")) else name


def goal_runs(runs: Iterable[RunRecord]) -> list[RunRecord]:
    return [r for r in runs if r.goal_id]


def deployment_runs(
    runs: Iterable[RunRecord], *, deployment_id: str | None, audit_run_ids: set[str]
) -> list[RunRecord]:
    """The runs that belong to this deployment: tagged with its id, or untagged and named by run
    id in its audit log. A goal id alone never makes a run ours (another deployment has a G-0001)."""
    return [
        r
        for r in runs
        if (deployment_id is not None and r.deployment_id == deployment_id)
        or (r.deployment_id is None and r.run_id in audit_run_ids)
    ]
