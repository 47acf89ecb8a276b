"""`orch eval`: draft each fixture's goal with the configured backend and score the artifacts.

A fixture (`evals/*.yaml` or `*.json`) is a brief and the properties its artifacts must have:

```yaml
name: csv-export
brief: Add a CSV export of monthly invoices to the admin page.
expect:
  spec_expected: false          # does the Mini-Spec trigger fire on brief + PRD + task list?
  triggers: []                  # trigger names that must be among those found (optional)
  tasks: {min: 2, max: 8}       # task count range of the task list
  sections:                     # required sections per phase (present and not left empty)
    prd: [Problem, Goals, Requirements]
    action_plan: [Steps, Test commands]
```

Each property is one check; a fixture's score is the share of its checks that pass. The phases
are drafted in order with the earlier drafts passed on as approved, as a goal would have them,
using the target repository's templates. Results are kept as a run under `.runs/eval-<time>/`:
`run.json`, `results.json` and every drafted artifact. Each run is compared with the last saved
one (`results.json` of the newest earlier `eval-*` folder): the table shows each fixture's
change in score, so a prompt or model change shows what it made better or worse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.agents.drafting import DraftRequest
from bot.agents.templates import NOT_COVERED, heading_key, load_template
from bot.learn.guidance import read_guidance
from bot.observability.runs import ignore_in_git
from bot.redact import redact
from bot.sop.phases import Phase
from bot.sop.triggers import detect_triggers

FIXTURE_SUFFIXES = (".yaml", ".yml", ".json")
DRAFTED = (Phase.PRD, Phase.TASK_LIST, Phase.SPEC, Phase.ACTION_PLAN)


class TaskRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: int = Field(default=1, ge=0)
    max: int = Field(default=50, ge=0)


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec_expected: bool | None = None
    triggers: list[str] = Field(default_factory=list)
    tasks: TaskRange | None = None
    sections: dict[Phase, list[str]] = Field(default_factory=dict)


class Fixture(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,60}$")
    title: str | None = None
    brief: str = Field(min_length=1)
    expect: Expect


class FixtureError(ValueError):
    """A fixture file that cannot be read; the message names the file."""


def load_fixtures(folder: Path) -> list[Fixture]:
    files = sorted(p for p in folder.iterdir() if p.suffix in FIXTURE_SUFFIXES and p.is_file())
    fixtures = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            fixtures.append(Fixture.model_validate(data))
        except (OSError, ValueError, yaml.YAMLError, ValidationError) as exc:
            raise FixtureError(f"{path.name}: {exc}") from exc
    names = [f.name for f in fixtures]
    if len(set(names)) != len(names):
        raise FixtureError("two fixtures share a name")
    return fixtures


def shipped_fixtures() -> Path:
    """The fixtures that ship with Codex-Orchestrator (the `evals/` folder next to `bot/`)."""
    return Path(__file__).resolve().parents[2] / "evals"


def fixture_dir(repo: Path) -> Path:
    """The target repository's `evals/` when it has fixtures, else the shipped ones."""
    own = repo / "evals"
    if own.is_dir() and any(p.suffix in FIXTURE_SUFFIXES for p in own.iterdir()):
        return own
    return shipped_fixtures()


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class FixtureResult:
    name: str
    checks: list[Check] = field(default_factory=list)
    drafted_by: str = ""
    artifacts: dict[str, str] = field(default_factory=dict)  # phase → markdown
    triggers: list[str] | None = None  # None: drafting never got as far as the spec decision
    error: str | None = None

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def score(self) -> float:
        return self.passed / len(self.checks) if self.checks else 0.0


def _covered_sections(markdown: str) -> dict[str, str]:
    """Section key → body of each `## ` section of a drafted artifact."""
    out: dict[str, str] = {}
    key = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            key = heading_key(line[3:].strip())
            out.setdefault(key, "")
        elif key is not None:
            out[key] += line + "\n"
    return out


def _section_checks(phase: Phase, markdown: str | None, wanted: list[str]) -> list[Check]:
    found = _covered_sections(markdown or "")
    checks = []
    for heading in wanted:
        body = found.get(heading_key(heading))
        ok = body is not None and body.strip() not in ("", NOT_COVERED)
        why = "" if ok else ("not drafted" if markdown is None else "missing" if body is None else "empty")
        checks.append(Check(f"{phase.value}: section {heading}", ok, why))
    return checks


def _checks(fx: Fixture, result: FixtureResult, tasks: int | None) -> list[Check]:
    exp = fx.expect
    checks: list[Check] = []
    for phase in DRAFTED:
        if phase in exp.sections:
            checks += _section_checks(phase, result.artifacts.get(phase.value), exp.sections[phase])
    if exp.tasks is not None:
        ok = tasks is not None and exp.tasks.min <= tasks <= exp.tasks.max
        checks.append(Check(f"task count in {exp.tasks.min}..{exp.tasks.max}", ok, f"{tasks} task(s)"))
    found = result.triggers
    if exp.spec_expected is not None:
        label = "spec expected" if exp.spec_expected else "spec not expected"
        if found is None:
            checks.append(Check(label, False, "not reached"))
        else:
            checks.append(Check(label, bool(found) == exp.spec_expected, ", ".join(found) or "no trigger"))
    for name in exp.triggers:
        ok = found is not None and name in found
        checks.append(
            Check(f"trigger {name}", ok, "not reached" if found is None else ", ".join(found) or "none")
        )
    return checks


async def run_fixture(drafter: Any, fx: Fixture, *, repo: Path | None = None) -> FixtureResult:
    """Draft the fixture's phases in order and score them; a drafter error fails the rest."""
    result = FixtureResult(name=fx.name)
    title = fx.title or fx.brief.strip().splitlines()[0][:80]
    approved: dict[str, str] = {}
    tasks = None
    records: list[Any] = []
    guidance = read_guidance(repo).text
    try:
        for phase in DRAFTED:
            if phase is Phase.SPEC:
                result.triggers = [
                    t.name
                    for t in detect_triggers(
                        fx.brief, approved.get(Phase.PRD.value, ""), approved.get(Phase.TASK_LIST.value, "")
                    )
                ]
                if not result.triggers:
                    continue
            req = DraftRequest(
                goal_id="G-0000",
                title=title,
                brief=fx.brief,
                phase=phase,
                approved=dict(approved),
                tasks=records,
                triggers=result.triggers or [],
                template=load_template(phase, repo),
                repo_guidance=guidance or None,  # as a goal's drafts get it (bot.learn.guidance)
            )
            draft = await drafter.draft(req)
            result.drafted_by = draft.drafted_by
            approved[phase.value] = result.artifacts[phase.value] = draft.markdown
            if phase is Phase.TASK_LIST:
                records = list(draft.tasks or [])
                tasks = len(records)
    except Exception as exc:  # a model can fail in many ways; the eval reports it, not crashes
        result.error = f"{type(exc).__name__}: {exc}"
    result.checks = _checks(fx, result, tasks)
    if result.error:
        result.checks.append(Check("drafted without error", False, result.error))
    return result


@dataclass
class EvalReport:
    run_id: str
    backend: str
    results: list[FixtureResult]
    folder: Path | None = None
    previous: dict[str, Any] | None = None  # results.json of the last saved run, if any

    def previous_scores(self) -> dict[str, float]:
        fixtures = (self.previous or {}).get("fixtures") or []
        return {
            str(f["name"]): float(f["score"])
            for f in fixtures
            if isinstance(f, dict) and isinstance(f.get("score"), int | float) and "name" in f
        }

    def change(self, name: str | None = None) -> float | None:
        """Score now minus score in the last saved run (None: no earlier run or a new fixture)."""
        if self.previous is None:
            return None
        if name is None:
            before = self.previous.get("score")
            return round(self.score - float(before), 4) if isinstance(before, int | float) else None
        scores = self.previous_scores()
        now = next((r.score for r in self.results if r.name == name), None)
        return round(now - scores[name], 4) if name in scores and now is not None else None

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return sum(len(r.checks) for r in self.results)

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def _delta(self, name: str | None) -> str:
        if self.previous is None:
            return ""
        value = self.change(name)
        if value is None:
            return "new"
        points = round(value * 100)
        return "±0" if points == 0 else f"{points:+d} pts"

    def table(self) -> str:
        rows = [("fixture", "checks", "passed", "score", "change" if self.previous is not None else "")]
        rows += [
            (r.name, str(len(r.checks)), str(r.passed), f"{r.score:.0%}", self._delta(r.name))
            for r in self.results
        ]
        rows.append(("TOTAL", str(self.total), str(self.passed), f"{self.score:.0%}", self._delta(None)))
        width = max(len(r[0]) for r in rows)
        lines = [f"{a:<{width}}  {b:>6}  {c:>6}  {d:>5}  {e:>7}".rstrip() for a, b, c, d, e in rows]
        lines.insert(len(lines) - 1, "-" * max(len(line) for line in lines))
        if self.previous is not None:
            gone = sorted(set(self.previous_scores()) - {r.name for r in self.results})
            lines.insert(0, f"compared with {self.previous.get('run_id')} ({self.previous.get('backend')})")
            lines += [f"{name:<{width}}  (in the last run, not in this one)" for name in gone]
        failures = [
            f"  ✗ {r.name}: {c.name}" + (f" ({c.detail})" if c.detail else "")
            for r in self.results
            for c in r.checks
            if not c.passed
        ]
        return "\n".join(lines + (["", "Failed checks:", *failures] if failures else []))


def last_results(runs_dir: Path) -> dict[str, Any] | None:
    """`results.json` of the newest saved eval run under `runs_dir` (None when there is none)."""
    if not runs_dir.is_dir():
        return None
    for folder in sorted(runs_dir.glob("eval-*"), key=_run_order, reverse=True):
        try:
            data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict):
            return data
    return None


def _run_order(folder: Path) -> tuple[str, int]:
    """eval-<time> and, within the same second, eval-<time>-2, -3 …"""
    match = re.fullmatch(r"(.*Z)-(\d+)", folder.name)
    return (match.group(1), int(match.group(2))) if match else (folder.name, 1)


def _run_folder(runs_dir: Path, at: datetime) -> Path:
    base = f"eval-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    folder, n = runs_dir / base, 1
    while folder.exists():
        n += 1
        folder = runs_dir / f"{base}-{n}"
    return folder


def save_report(report: EvalReport, runs_dir: Path, *, started: datetime, ended: datetime) -> Path:
    folder = _run_folder(runs_dir, started)
    folder.mkdir(parents=True)
    ignore_in_git(runs_dir)
    report.run_id = folder.name
    results = {
        "run_id": report.run_id,
        "backend": report.backend,
        "score": round(report.score, 4),
        "passed": report.passed,
        "total": report.total,
        "fixtures": [
            {
                "name": r.name,
                "score": round(r.score, 4),
                "drafted_by": r.drafted_by,
                "triggers": r.triggers,
                "error": r.error,
                "checks": [asdict(c) for c in r.checks],
            }
            for r in report.results
        ],
    }
    run = {
        "run_id": report.run_id,
        "kind": "eval",
        "role": "eval",
        "backend": report.backend,
        "status": "completed",
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "score": results["score"],
    }
    (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    (folder / "results.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    for r in report.results:
        for phase, markdown in r.artifacts.items():
            path = folder / r.name / f"{phase}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(redact(markdown), encoding="utf-8")
    report.folder = folder
    return folder


async def run_eval(
    drafter: Any,
    fixtures: list[Fixture],
    *,
    backend: str,
    repo: Path | None,
    runs_dir: Path,
    clock: Callable[[], datetime],
) -> EvalReport:
    started = clock()
    results = [await run_fixture(drafter, fx, repo=repo) for fx in fixtures]
    report = EvalReport(run_id="", backend=backend, results=results, previous=last_results(runs_dir))
    save_report(report, runs_dir, started=started, ended=clock())
    return report
