"""Run records: what one agent run did, kept on disk under `<runs_dir>/<run-id>/`.

- `run.json`: goal, phase, task, role, backend, model, start/end, status, token usage when known.
- `transcript.jsonl`: one JSON object per event (Codex events, agent tool calls, notes).
- `diff.patch`: the change the run produced, when it produced one.
- `tests.txt`: the test command's output, when tests ran.

Everything passes through `bot.redact` before it is written: a run that printed a token must not
keep it on disk. The run id is ours (time + random), never derived from user text, and is checked
before it is used as a folder name, so `orch runs show ../x` cannot read outside the runs folder.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.redact import redact, redact_obj

RUN_ID_RE = re.compile(r"^run-\d{8}-\d{6}-[0-9a-f]{6}$")
FILES = {"meta": "run.json", "transcript": "transcript.jsonl", "diff": "diff.patch", "tests": "tests.txt"}


class RunNotFound(LookupError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run record {run_id!r} (run ids look like run-20250101-120000-a1b2c3)")


def new_run_id(now: datetime | None = None) -> str:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"run-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def run_dir(root: Path, run_id: str) -> Path:
    if not RUN_ID_RE.match(run_id or ""):
        raise RunNotFound(run_id)
    return Path(root) / run_id


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class RunRecorder:
    """Writes one run's record as it goes; safe to call from several threads of the same run."""

    root: Path
    goal_id: str | None
    phase: str
    role: str
    backend: str
    model: str | None = None
    task_id: int | None = None
    run_id: str = ""
    clock: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.run_id = self.run_id or new_run_id(self._now())
        self.path = run_dir(self.root, self.run_id)

    @classmethod
    def reopen(cls, root: Path, run_id: str, *, clock: Any = None) -> RunRecorder:
        """The recorder of an existing run (after a restart), to append to it and finish it."""
        meta_file = run_dir(root, run_id) / FILES["meta"]
        if not meta_file.is_file():
            raise RunNotFound(run_id)
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        return cls(
            root=root,
            goal_id=meta.get("goal_id"),
            phase=meta.get("phase", ""),
            role=meta.get("role", ""),
            backend=meta.get("backend", ""),
            model=meta.get("model"),
            task_id=meta.get("task_id"),
            run_id=run_id,
            clock=clock,
            meta=meta,
        )

    def _now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def start(self, **extra: Any) -> RunRecorder:
        self.path.mkdir(parents=True, exist_ok=True)
        self.meta = {
            "run_id": self.run_id,
            "goal_id": self.goal_id,
            "phase": self.phase,
            "task_id": self.task_id,
            "role": self.role,
            "backend": self.backend,
            "model": self.model,
            "started_at": _iso(self._now()),
            "ended_at": None,
            "status": "running",
            "usage": None,
            **extra,
        }
        self._write_meta()
        return self

    def _write_meta(self) -> None:
        target = self.path / FILES["meta"]
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(redact_obj(self.meta), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(target)  # a reader never sees half a run.json

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.meta.update(fields)
            self._write_meta()

    def event(self, event: dict[str, Any]) -> None:
        """Append one event to the transcript (redacted)."""
        line = json.dumps(redact_obj(event), sort_keys=True, default=str)
        with self._lock, (self.path / FILES["transcript"]).open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def note(self, kind: str, **data: Any) -> None:
        self.event({"type": f"orch.{kind}", "at": _iso(self._now()), **data})

    def write_diff(self, diff: str) -> None:
        (self.path / FILES["diff"]).write_text(redact(diff), encoding="utf-8")

    def write_tests(self, output: str) -> None:
        (self.path / FILES["tests"]).write_text(redact(output), encoding="utf-8")

    def finish(self, status: str, *, usage: dict[str, Any] | None = None, **extra: Any) -> None:
        self.update(status=status, ended_at=_iso(self._now()), usage=usage or self.meta.get("usage"), **extra)


def load_run(root: Path, run_id: str) -> dict[str, Any]:
    """The run's metadata plus its transcript events, diff and test output (missing parts empty)."""
    path = run_dir(root, run_id)
    meta_file = path / FILES["meta"]
    if not meta_file.is_file():
        raise RunNotFound(run_id)
    transcript = path / FILES["transcript"]
    events = (
        [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines() if line.strip()]
        if transcript.is_file()
        else []
    )
    diff = path / FILES["diff"]
    tests = path / FILES["tests"]
    return {
        "meta": json.loads(meta_file.read_text(encoding="utf-8")),
        "events": events,
        "diff": diff.read_text(encoding="utf-8") if diff.is_file() else "",
        "tests": tests.read_text(encoding="utf-8") if tests.is_file() else "",
    }


def format_run(record: dict[str, Any], *, max_diff_lines: int = 200) -> str:
    """A readable page for `orch runs show`."""
    meta = record["meta"]
    usage = meta.get("usage") or {}
    lines = [
        f"{meta['run_id']}  {meta.get('status')}",
        f"goal {meta.get('goal_id')}  phase {meta.get('phase')}  task {meta.get('task_id')}  role {meta.get('role')}",
        f"backend {meta.get('backend')}  model {meta.get('model')}",
        f"started {meta.get('started_at')}  ended {meta.get('ended_at')}",
    ]
    if usage:
        lines.append("usage " + ", ".join(f"{k}={v}" for k, v in sorted(usage.items())))
    if meta.get("summary"):
        lines.append(f"summary: {meta['summary']}")
    if meta.get("error"):
        lines.append(f"error: {meta['error']}")
    lines += ["", f"transcript ({len(record['events'])} events):"]
    lines += [f"  {describe_event(e)}" for e in record["events"]]
    if record["tests"]:
        lines += ["", "tests:", *("  " + t for t in record["tests"].splitlines()[-20:])]
    if record["diff"]:
        diff_lines = record["diff"].splitlines()
        lines += ["", "diff:", *diff_lines[:max_diff_lines]]
        if len(diff_lines) > max_diff_lines:
            lines.append(f"… {len(diff_lines) - max_diff_lines} more lines in diff.patch")
    return "\n".join(lines)


def describe_event(event: dict[str, Any]) -> str:
    kind = str(event.get("type", "?"))
    item = event.get("item") if isinstance(event.get("item"), dict) else None
    if item is not None:
        detail = (
            item.get("command")
            or item.get("text")
            or ", ".join(str(c.get("path")) for c in item.get("changes", []) if isinstance(c, dict))
        )
        return f"{kind} {item.get('type', '')} {str(detail)[:120]}".rstrip()
    extra = {k: v for k, v in event.items() if k not in ("type", "at")}
    return f"{kind} {json.dumps(extra, sort_keys=True)[:160]}" if extra else kind
