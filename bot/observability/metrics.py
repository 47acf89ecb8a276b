"""Success metrics, computed from the audit log and this deployment's run records, never typed in.

- Gates before implementation: the share of goals whose PRD and Task List (and Mini-Spec, when
  it was required) were approved before their first implementation step. The procedure
  promises 100%; anything less names the goals and the gates that were skipped. Goals whose
  gates were all approved by people are counted apart from those with CLI or MCP approvals.
- Runs without fix-ups: of the build runs that posted a diff people decided on (the
  `artifact.drafted` entry names the run) or failed, the share that completed with a non-empty
  diff, were no offline scaffold, had their tests pass, had the diff approved with no change
  request, and needed no model retry, rebuild or human commit (`human_commits` in the run
  record, or a `worktree.human_commit` audit entry naming the run).
- Duplicated edits: the share of changed lines (path, sign, text) of posted run diffs that an
  earlier posted run had already changed, for the same goal and across goals, with the share
  before and after patterns were first adopted (the first `learn.approved` entry).
- Time to bootstrap: goal start to the first approval of its Action Plan (median, p90, range),
  and the approval wait per phase (an artifact version drafted → the first decision on it).

Run records join the audit log by run id, never by goal id alone: a record counts when it
carries this deployment's id, or (written by an older version, untagged) when the audit log
names its run id. p90 is the nearest rank (the smallest value with at least 90% of values at or
below it), so a figure always is one that happened. `since` keeps goals started (and runs begun)
at or after it. Presentation lives in `bot.observability.metrics_report`.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot.observability.metrics_inputs import RunRecord, changed_lines, deployment_runs, goal_runs, load_runs
from bot.observability.runs import adopt_legacy_runs, legacy_pending, runs_dir_for
from storage.audit import AuditEntry, iter_entries
from storage.db import read_session

if TYPE_CHECKING:
    from bot.config import Settings

# Phase names as the metrics print them.
LABELS = {
    "scaffold_check": "Scaffold Check",
    "prd": "PRD",
    "task_list": "Task List",
    "spec": "Mini-Spec",
    "action_plan": "Action Plan",
    "implementation": "Implementation",
}


def human_duration(seconds: float | None) -> str:
    """Readable units, two at most: `45 s`, `3 min 20 s`, `1 h 5 min`, `2 d 3 h`; never `0 min`."""
    if seconds is None:
        return "—"
    if 0 < seconds < 0.5:
        return "<1 s"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    first = next((i for i, (n, _) in enumerate(units) if n), len(units) - 1)
    shown = [f"{n} {u}" for n, u in units[first : first + 2] if n]
    return " ".join(shown) or "0 s"


REQUIRED_GATES = ("prd", "task_list")
DECISIONS = {"artifact.approved", "artifact.changes_requested", "artifact.rejected"}
PHASE_ORDER = ("scaffold_check", "prd", "task_list", "spec", "action_plan", "implementation")
_RELATIVE = re.compile(r"^(\d{1,4})([dhm])$")


def parse_since(value: str | None, *, now: datetime) -> datetime | None:
    """`7d`, `12h`, `30m` before `now`, or an ISO 8601 date or time (UTC when it has no zone)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if match := _RELATIVE.match(value):
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a duration (7d, 12h) or an ISO 8601 date: {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


ACTIONS_BY_AUTOMATION = ("cli", "mcp", "bot", "system", "scheduler")


def by_automation(actor: str | None) -> bool:
    """Whether an approval came from a script rather than a person clicking in Slack: the CLI
    (`cli:<name>`), the MCP server (`mcp`, `mcp:<client>`) or the bot itself."""
    name = (actor or "").strip().lower()
    return any(name == kind or name.startswith(f"{kind}:") for kind in ACTIONS_BY_AUTOMATION)


@dataclass(frozen=True)
class Share:
    count: int
    total: int
    details: list[str] = field(default_factory=list)  # what fell short, one line each
    evidence: list[str] = field(default_factory=list)  # every goal or run behind the number

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.count / self.total, 1) if self.total else None


@dataclass(frozen=True)
class GateShare(Share):
    """`count` split by who approved: every gate by a person, or at least one by the CLI or MCP."""

    by_people: int = 0
    by_automation: int = 0


@dataclass(frozen=True)
class Durations:
    count: int
    median_s: float | None
    p90_s: float | None
    min_s: float | None = None
    max_s: float | None = None


@dataclass(frozen=True)
class Duplication:
    changed_lines: int
    same_goal: int
    across_goals: int
    before_percent: float | None  # before patterns were adopted; None without adoption or runs
    after_percent: float | None
    adopted_at: datetime | None

    def percent(self, part: int) -> float | None:
        return round(100.0 * part / self.changed_lines, 1) if self.changed_lines else None


# How each number is computed, said next to it (`orch metrics`, the JSON's "how").
HOW = {
    "gates_before_implementation": (
        "goals that reached implementation whose PRD and Task List (and Mini-Spec when required) "
        "were approved before their first build; approvals from the CLI or MCP are counted apart "
        "from people's"
    ),
    "runs_without_fixups": (
        "decided or failed build runs of this deployment that completed with a non-empty diff, "
        "were no offline scaffold, had their tests pass, had the diff approved with no change "
        "request, and needed no retry, rebuild or human commit"
    ),
    "duplication": "changed lines of posted run diffs that an earlier posted run had already changed",
    "bootstrap": "goal start to the first approval of its Action Plan, per goal",
    "approval_wait": "an artifact version posted for approval to the first decision on it",
}


@dataclass(frozen=True)
class Metrics:
    since: datetime | None
    gates_before_implementation: GateShare
    runs_without_fixups: Share
    duplication: Duplication
    bootstrap: Durations
    approval_wait: dict[str, Durations]
    deployment_id: str | None = None
    evidence: dict[str, list[str]] = field(default_factory=dict)  # duplication, bootstrap, waits

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("gates_before_implementation", "runs_without_fixups"):
            data[key]["percent"] = getattr(self, key).percent
        dup = self.duplication
        data["duplication"]["same_goal_percent"] = dup.percent(dup.same_goal)
        data["duplication"]["across_goals_percent"] = dup.percent(dup.across_goals)
        data["duplication"]["percent"] = dup.percent(dup.same_goal + dup.across_goals)
        data["how"] = dict(HOW)
        return _jsonable(data)

    def explain(self) -> dict[str, list[str]]:
        """Every metric with the goals and runs behind it (`orch metrics --explain`)."""
        return {
            "gates_before_implementation": self.gates_before_implementation.evidence,
            "runs_without_fixups": self.runs_without_fixups.evidence,
            **self.evidence,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)), 1) - 1]


def durations(values: list[float]) -> Durations:
    if not values:
        return Durations(0, None, None)
    return Durations(
        len(values), float(statistics.median(values)), nearest_rank(values, 0.9), min(values), max(values)
    )


# -- the metrics ----------------------------------------------------------------------------------


def _goal_starts(entries: list[AuditEntry], since: datetime | None) -> dict[str, datetime]:
    starts = {e.goal_id: e.at for e in entries if e.action == "goal.started" and e.goal_id}
    return {g: at for g, at in starts.items() if since is None or at >= since}


def _stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def gates_before_implementation(
    entries: list[AuditEntry], runs: list[RunRecord], goals: dict[str, datetime]
) -> GateShare:
    by_goal: dict[str, list[AuditEntry]] = {}
    first_impl: dict[str, datetime] = {}
    for e in entries:
        if e.goal_id in goals:
            by_goal.setdefault(e.goal_id, []).append(e)
            if e.phase == "implementation":
                first_impl.setdefault(e.goal_id, e.at)
    for r in runs:
        if r.goal_id in goals and r.is_build and r.started_at is not None:
            goal = str(r.goal_id)
            first_impl[goal] = min(first_impl.get(goal, r.started_at), r.started_at)
    ok = people = scripts = 0
    details: list[str] = []
    evidence: list[str] = []
    for goal, started in sorted(first_impl.items()):
        approvers: dict[str, str] = {}  # gate → who approved it last before the first build
        spec_required = False
        for e in by_goal.get(goal, []):
            if e.at >= started:
                continue
            if e.action == "artifact.approved" and e.phase:
                approvers[e.phase] = e.actor
            elif e.action == "spec.assessed":
                spec_required = bool(e.payload_dict().get("required"))
            elif e.action in ("spec.required", "spec.waived"):
                spec_required = e.action == "spec.required"
        needed = [*REQUIRED_GATES, *(["spec"] if spec_required else [])]
        missing = [g for g in needed if g not in approvers]
        if missing:
            details.append(f"{goal}: {', '.join(missing)} not approved before implementation")
            evidence.append(
                f"{goal}: first build {_stamp(started)}; not approved before it: {', '.join(missing)}"
            )
            continue
        ok += 1
        scripted = [g for g in needed if by_automation(approvers[g])]
        if scripted:
            scripts += 1
        else:
            people += 1
        who = ", ".join(f"{g} by {approvers[g]}" for g in needed)
        evidence.append(f"{goal}: first build {_stamp(started)}; approved before it: {who}")
    return GateShare(ok, len(first_impl), details, evidence, by_people=people, by_automation=scripts)


def posted_runs(entries: list[AuditEntry]) -> dict[str, str]:
    """Run id → sha256 of the artifact it posted for approval (`artifact.drafted` names the run)."""
    return {e.run_id: str(e.artifact_sha256) for e in entries if e.action == "artifact.drafted" and e.run_id}


_TESTS = {"failed": "its tests failed", "timed_out": "its tests timed out"}


def runs_without_fixups(entries: list[AuditEntry], runs: list[RunRecord]) -> Share:
    """Build runs that posted a diff people decided on, or failed; see HOW for what makes one clean.

    A run that neither posted a diff nor failed (a sub-run under a manager, say) is not counted:
    its work reaches people through the run that posted it. A diff still waiting for its decision
    is not counted yet either.
    """
    posted = {
        e.run_id: (e.goal_id, e.artifact_sha256)
        for e in entries
        if e.action == "artifact.drafted" and e.run_id
    }
    decisions: dict[tuple[str | None, str | None], set[str]] = {}
    for e in entries:
        if e.action in DECISIONS:
            decisions.setdefault((e.goal_id, e.artifact_sha256), set()).add(e.action.split(".", 1)[1])
    human = {e.run_id for e in entries if e.action == "worktree.human_commit" and e.run_id}
    builds = [r for r in runs if r.is_build and not r.in_progress and (r.run_id in posted or not r.completed)]
    latest: dict[tuple[str | None, str | None], str] = {}  # (goal, task) → its last build run
    for run in builds:  # oldest first
        latest[(run.goal_id, run.task_id)] = run.run_id
    clean, total = 0, 0
    details: list[str] = []
    evidence: list[str] = []
    for run in builds:
        label = f"{run.run_id} ({run.goal_id} task {run.task_id})"
        decided = decisions.get(posted[run.run_id], set()) if run.run_id in posted else set()
        if run.completed and not decided:
            evidence.append(f"{label}: not counted yet, its diff waits for a decision")
            continue
        total += 1
        reasons = [
            *([] if run.completed else [f"status {run.status}"]),
            *(["offline scaffold (a stub, not the work)"] if run.stub else []),
            *(["empty diff"] if run.completed and not run.diff.strip() else []),
            *(["changes requested on its diff"] if "changes_requested" in decided else []),
            *(["diff rejected"] if "rejected" in decided else []),
            *([_TESTS[run.tests]] if run.tests in _TESTS else []),
            *(["no tests ran"] if run.completed and run.tests not in (*_TESTS, "passed") else []),
            *([f"model call retried {run.retries}x"] if run.retries else []),
            *(["built again later"] if latest[(run.goal_id, run.task_id)] != run.run_id else []),
            *(["human commit in the worktree"] if run.human_commits or run.run_id in human else []),
        ]
        if reasons:
            details.append(f"{label}: {'; '.join(reasons)}")
            evidence.append(f"{label}: not clean: {'; '.join(reasons)}")
        else:
            clean += 1
            evidence.append(f"{label}: clean")
    return Share(clean, total, details, evidence)


def duplication(runs: list[RunRecord], adopted_at: datetime | None) -> tuple[Duplication, list[str]]:
    """Overlap of changed lines with earlier runs (oldest first; only runs whose diff was posted)."""
    seen: dict[tuple[str, str, str], set[str]] = {}  # line → goals that changed it
    total = same = across = 0
    period = {"before": [0, 0], "after": [0, 0]}  # [duplicated, changed]
    evidence = []
    for run in runs:
        lines = changed_lines(run.diff)
        goal = str(run.goal_id)
        dup_same = {k for k in lines if goal in seen.get(k, set())}
        dup_other = {k for k in lines - dup_same if seen.get(k)}
        total, same, across = total + len(lines), same + len(dup_same), across + len(dup_other)
        evidence.append(
            f"{run.run_id} ({goal}): {len(lines)} changed line(s), {len(dup_same)} repeated from the same "
            f"goal, {len(dup_other)} from other goals"
        )
        if adopted_at is not None and run.started_at is not None:
            bucket = period["after" if run.started_at >= adopted_at else "before"]
            bucket[0] += len(dup_same) + len(dup_other)
            bucket[1] += len(lines)
        for key in lines:
            seen.setdefault(key, set()).add(goal)

    def pct(bucket: list[int]) -> float | None:
        return round(100.0 * bucket[0] / bucket[1], 1) if bucket[1] else None

    dup = Duplication(total, same, across, pct(period["before"]), pct(period["after"]), adopted_at)
    return dup, evidence


def bootstrap(entries: list[AuditEntry], goals: dict[str, datetime]) -> tuple[Durations, list[str]]:
    done: dict[str, datetime] = {}
    for e in entries:
        if e.action == "artifact.approved" and e.phase == "action_plan" and e.goal_id in goals:
            done.setdefault(e.goal_id, e.at)
    seconds = {g: (at - goals[g]).total_seconds() for g, at in done.items()}
    evidence = [f"{g}: {human_duration(s)}" for g, s in sorted(seconds.items())]
    return durations(list(seconds.values())), evidence


def approval_wait(
    entries: list[AuditEntry], goals: dict[str, datetime]
) -> tuple[dict[str, Durations], list[str]]:
    posted: dict[tuple[str, str], tuple[str, datetime]] = {}  # (goal, sha) → (phase, drafted at)
    waits: dict[str, list[float]] = {}
    evidence = []
    for e in entries:
        if e.goal_id not in goals or not e.artifact_sha256:
            continue
        key = (e.goal_id, e.artifact_sha256)
        if e.action == "artifact.drafted" and e.phase:
            posted.setdefault(key, (e.phase, e.at))
        elif e.action in DECISIONS and key in posted:
            phase, at = posted.pop(key)
            waits.setdefault(phase, []).append((e.at - at).total_seconds())
            evidence.append(
                f"{e.goal_id} {LABELS.get(phase, phase)}: {human_duration((e.at - at).total_seconds())} "
                f"({e.action.split('.', 1)[1].replace('_', ' ')} by {e.actor})"
            )
    ranked = sorted(waits, key=lambda p: (PHASE_ORDER.index(p) if p in PHASE_ORDER else len(PHASE_ORDER), p))
    return {phase: durations(waits[phase]) for phase in ranked}, evidence


def compute_metrics(
    entries: Iterable[AuditEntry],
    runs: Iterable[RunRecord],
    *,
    since: datetime | None = None,
    deployment_id: str | None = None,
) -> Metrics:
    """Every metric from audit entries (in chain order) and run records (pure).

    Only this deployment's runs count: those tagged with `deployment_id`, and untagged ones whose
    run id the audit log names. A goal id alone never joins a run to this log.
    """
    log = list(entries)
    goals = _goal_starts(log, since)
    ours = deployment_runs(
        goal_runs(runs), deployment_id=deployment_id, audit_run_ids={e.run_id for e in log if e.run_id}
    )
    work = [r for r in ours if since is None or (r.started_at is not None and r.started_at >= since)]
    adopted = next((e.at for e in log if e.action == "learn.approved"), None)
    posted = posted_runs(log)
    dup, dup_evidence = duplication([r for r in work if r.run_id in posted], adopted)
    boot, boot_evidence = bootstrap(log, goals)
    waits, wait_evidence = approval_wait(log, goals)
    return Metrics(
        since=since,
        gates_before_implementation=gates_before_implementation(log, work, goals),
        runs_without_fixups=runs_without_fixups(log, work),
        duplication=dup,
        bootstrap=boot,
        approval_wait=waits,
        deployment_id=deployment_id,
        evidence={"duplication": dup_evidence, "bootstrap": boot_evidence, "approval_wait": wait_evidence},
    )


def collect(engine: Engine, *, runs_dir: Path | None, since: datetime | None = None) -> Metrics:
    """Read-only (a digest or the App Home never waits for the write lock)."""
    return collect_windows(engine, runs_dir=runs_dir, windows=[since])[0]


def collect_windows(
    engine: Engine, *, runs_dir: Path | None, windows: list[datetime | None]
) -> list[Metrics]:
    """The metrics for each `since` in `windows`, from one read of the log and the run records."""
    from storage.deployment import known_deployment_id

    with read_session(engine) as session:
        entries = list(iter_entries(session))
    runs = load_runs(runs_dir)
    deployment = known_deployment_id(engine)
    return [compute_metrics(entries, runs, since=since, deployment_id=deployment) for since in windows]


def adopt_legacy_for(engine: Engine, settings: Settings) -> int:
    """Bring over, once, the records an older version kept in `.runs/` of the working directory
    (those this deployment's audit log names by run id); the log is read only the first time."""
    from storage.deployment import deployment_id

    target, legacy = runs_dir_for(settings), Path.cwd() / ".runs"
    if not legacy_pending(target, legacy):
        return 0
    with read_session(engine) as session:
        known = {e.run_id for e in iter_entries(session) if e.run_id}
    return adopt_legacy_runs(target, legacy=legacy, known_run_ids=known, deployment_id=deployment_id(engine))


def collect_for(engine: Engine, settings: Settings, *, since: datetime | None = None) -> Metrics:
    """`collect` for a deployment's settings, after `adopt_legacy_for`."""
    adopt_legacy_for(engine, settings)
    return collect(engine, runs_dir=runs_dir_for(settings), since=since)
