"""Run records: what one agent run did, kept on disk under `<runs_dir>/<run-id>/`.

- `run.json`: goal, phase, task, role, backend, model, start/end, status, token usage when known.
- `transcript.jsonl`: one JSON object per event (Codex events, agent tool calls, notes).
- `diff.patch`: the change the run produced, when it produced one.
- `tests.txt`: the test command's output, when tests ran.

Where: `runs_dir_for(settings)`, the target repository's `.runs/` unless `ORCH_RUNS_DIR` says
otherwise (a relative one is taken from the repository, never from the working directory). The
folder is kept out of git through the repository's `.git/info/exclude`. Each record carries the
deployment's id (`deployment_id`, from the database) so that deployments sharing a folder each
read only their own; `adopt_legacy_runs` brings over, once, the records an older version kept in
`.runs/` of the working directory.

Everything passes through `bot.redact` before it is written: a run that printed a token must not
keep it on disk. The run id is ours (time + random), never derived from user text, and is checked
before it is used as a folder name, so `orch runs show ../x` cannot read outside the runs folder.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.redact import redact, redact_obj

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

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


def runs_dir_for(settings: Settings) -> Path:
    """Where this deployment's run records live: the target repository's `.runs/` by default."""
    return settings.runs_path


def deployment_of(settings: Settings) -> str | None:
    return settings.deployment_id


def ignore_in_git(root: Path) -> None:
    """Keep a runs folder inside a git checkout out of `git status` (and out of every commit)."""
    try:
        parent = root.resolve().parent
        info = parent / ".git" / "info"
        if not info.is_dir():
            return
        exclude = info / "exclude"
        line = f"/{root.name}/"
        text = exclude.read_text(encoding="utf-8") if exclude.is_file() else ""
        if line not in text.splitlines():
            exclude.write_text(
                text + ("" if not text or text.endswith("\n") else "\n") + line + "\n", encoding="utf-8"
            )
    except OSError:
        log.warning("could not add the runs folder to .git/info/exclude", exc_info=True)


LEGACY_MARKER = ".legacy-runs-read"


def legacy_pending(target: Path, legacy: Path) -> bool:
    """Whether `legacy` still has to be read once into `target`."""
    if not legacy.is_dir() or (target / LEGACY_MARKER).exists():
        return False
    try:
        return legacy.resolve() != target.resolve()
    except OSError:
        return False


def adopt_legacy_runs(
    target: Path, *, legacy: Path, known_run_ids: Collection[str], deployment_id: str | None
) -> int:
    """Copy, once, the records of `legacy` (the old `.runs/` of the working directory) that this
    deployment's audit log names by run id into `target`, tagged with the deployment's id.

    Records the audit log does not name may belong to another deployment that shared the working
    directory, so they stay where they are. Returns how many records were copied.
    """
    marker = target / LEGACY_MARKER
    if not legacy_pending(target, legacy):
        return 0
    copied = 0
    for folder in sorted(legacy.iterdir()):
        if not RUN_ID_RE.match(folder.name) or folder.name not in known_run_ids:
            continue
        if (target / folder.name).exists() or not (folder / FILES["meta"]).is_file():
            continue
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, target / folder.name)
        meta_file = target / folder.name / FILES["meta"]
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        meta["deployment_id"] = meta.get("deployment_id") or deployment_id
        meta_file.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        copied += 1
    target.mkdir(parents=True, exist_ok=True)
    ignore_in_git(target)
    marker.write_text(f"read {legacy} once; copied {copied} record(s)\n", encoding="utf-8")
    return copied


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
    deployment_id: str | None = None
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
            deployment_id=meta.get("deployment_id"),
            meta=meta,
        )

    def _now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def start(self, **extra: Any) -> RunRecorder:
        self.path.mkdir(parents=True, exist_ok=True)
        ignore_in_git(Path(self.root))
        self.meta = {
            "run_id": self.run_id,
            "deployment_id": self.deployment_id,
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

    def record_tests(self, run: Any) -> None:
        """Keep a test run (`bot.agents.tools.tester.TestRun`): its output, and in run.json the
        outcome the metrics read (`tests`: passed | failed | timed_out)."""
        self.write_tests(run.transcript())
        self.note("tests", command=run.command, exit_code=run.exit_code, timed_out=run.timed_out)
        outcome = "timed_out" if run.timed_out else ("passed" if run.passed else "failed")
        self.update(tests=outcome, tests_exit_code=run.exit_code)

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
