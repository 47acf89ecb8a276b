"""Success metrics, computed from the audit log and the run records (`.runs/`), never typed in.

- Gates before implementation: the share of goals whose PRD and Task List (and Mini-Spec, when
  it was required) were approved before their first implementation step. The procedure
  promises 100%; anything less names the goals and the gates that were skipped.
- Runs without fix-ups: of the implementation runs that posted a diff for approval (the
  `artifact.drafted` entry names the run) or failed, the share that completed with no request
  for changes on that diff and no human commit in the worktree (`human_commits` in the run
  record, or a `worktree.human_commit` audit entry naming the run).
- Duplicated edits: the share of changed lines (path, sign, text) of posted run diffs that an
  earlier posted run had already changed, for the same goal and across goals, with the share
  before and after patterns were first adopted (the first `learn.approved` entry).
- Time to bootstrap: goal start to the first approval of its Action Plan (median, p90), and
  the approval wait per phase (an artifact version drafted → the first decision on it).

p90 is the nearest rank (the smallest value with at least 90% of values at or below it), so a
figure always is one that happened. `since` keeps goals started (and runs begun) at or after it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.metrics_inputs import RunRecord, changed_lines, goal_runs, load_runs
from storage.audit import AuditEntry, iter_entries

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


@dataclass(frozen=True)
class Share:
    count: int
    total: int
    details: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.count / self.total, 1) if self.total else None


@dataclass(frozen=True)
class Durations:
    count: int
    median_s: float | None
    p90_s: float | None


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


@dataclass(frozen=True)
class Metrics:
    since: datetime | None
    gates_before_implementation: Share
    runs_without_fixups: Share
    duplication: Duplication
    bootstrap: Durations
    approval_wait: dict[str, Durations]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("gates_before_implementation", "runs_without_fixups"):
            data[key]["percent"] = getattr(self, key).percent
        dup = self.duplication
        data["duplication"]["same_goal_percent"] = dup.percent(dup.same_goal)
        data["duplication"]["across_goals_percent"] = dup.percent(dup.across_goals)
        data["duplication"]["percent"] = dup.percent(dup.same_goal + dup.across_goals)
        return _jsonable(data)


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
    return Durations(len(values), float(statistics.median(values)), nearest_rank(values, 0.9))


# -- the metrics ----------------------------------------------------------------------------------


def _goal_starts(entries: list[AuditEntry], since: datetime | None) -> dict[str, datetime]:
    starts = {e.goal_id: e.at for e in entries if e.action == "goal.started" and e.goal_id}
    return {g: at for g, at in starts.items() if since is None or at >= since}


def gates_before_implementation(
    entries: list[AuditEntry], runs: list[RunRecord], goals: dict[str, datetime]
) -> Share:
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
    ok, details = 0, []
    for goal, started in sorted(first_impl.items()):
        approved, spec_required = set(), False
        for e in by_goal.get(goal, []):
            if e.at >= started:
                continue
            if e.action == "artifact.approved" and e.phase:
                approved.add(e.phase)
            elif e.action == "spec.assessed":
                spec_required = bool(e.payload_dict().get("required"))
            elif e.action in ("spec.required", "spec.waived"):
                spec_required = e.action == "spec.required"
        needed = [*REQUIRED_GATES, *(["spec"] if spec_required else [])]
        missing = [g for g in needed if g not in approved]
        if missing:
            details.append(f"{goal}: {', '.join(missing)} not approved before implementation")
        else:
            ok += 1
    return Share(ok, len(first_impl), details)


def posted_runs(entries: list[AuditEntry]) -> dict[str, str]:
    """Run id → sha256 of the artifact it posted for approval (`artifact.drafted` names the run)."""
    return {e.run_id: str(e.artifact_sha256) for e in entries if e.action == "artifact.drafted" and e.run_id}


def runs_without_fixups(entries: list[AuditEntry], runs: list[RunRecord]) -> Share:
    """Build runs that posted a diff or failed; clean = completed, no changes requested, no human commit.

    A run that neither posted a diff nor failed (a sub-run under a manager, say) is not counted:
    its work reaches people through the run that posted it.
    """
    posted = posted_runs(entries)
    asked = {e.artifact_sha256 for e in entries if e.action == "artifact.changes_requested"}
    human = {e.run_id for e in entries if e.action == "worktree.human_commit" and e.run_id}
    clean, total, details = 0, 0, []
    for run in runs:
        if not run.is_build or run.in_progress or (run.completed and run.run_id not in posted):
            continue
        total += 1
        reasons = [
            *([] if run.completed else [f"status {run.status}"]),
            *(["changes requested on its diff"] if posted.get(run.run_id) in asked else []),
            *(["human commit in the worktree"] if run.human_commits or run.run_id in human else []),
        ]
        if reasons:
            details.append(f"{run.run_id} ({run.goal_id}): {'; '.join(reasons)}")
        else:
            clean += 1
    return Share(clean, total, details)


def duplication(runs: list[RunRecord], adopted_at: datetime | None) -> Duplication:
    """Overlap of changed lines with earlier runs (oldest first; only runs whose diff was posted)."""
    seen: dict[tuple[str, str, str], set[str]] = {}  # line → goals that changed it
    total = same = across = 0
    period = {"before": [0, 0], "after": [0, 0]}  # [duplicated, changed]
    for run in runs:
        lines = changed_lines(run.diff)
        goal = str(run.goal_id)
        dup_same = {k for k in lines if goal in seen.get(k, set())}
        dup_other = {k for k in lines - dup_same if seen.get(k)}
        total, same, across = total + len(lines), same + len(dup_same), across + len(dup_other)
        if adopted_at is not None and run.started_at is not None:
            bucket = period["after" if run.started_at >= adopted_at else "before"]
            bucket[0] += len(dup_same) + len(dup_other)
            bucket[1] += len(lines)
        for key in lines:
            seen.setdefault(key, set()).add(goal)

    def pct(bucket: list[int]) -> float | None:
        return round(100.0 * bucket[0] / bucket[1], 1) if bucket[1] else None

    return Duplication(total, same, across, pct(period["before"]), pct(period["after"]), adopted_at)


def bootstrap(entries: list[AuditEntry], goals: dict[str, datetime]) -> Durations:
    done: dict[str, datetime] = {}
    for e in entries:
        if e.action == "artifact.approved" and e.phase == "action_plan" and e.goal_id in goals:
            done.setdefault(e.goal_id, e.at)
    return durations([(at - goals[g]).total_seconds() for g, at in done.items()])


def approval_wait(entries: list[AuditEntry], goals: dict[str, datetime]) -> dict[str, Durations]:
    posted: dict[tuple[str, str], tuple[str, datetime]] = {}  # (goal, sha) → (phase, drafted at)
    waits: dict[str, list[float]] = {}
    for e in entries:
        if e.goal_id not in goals or not e.artifact_sha256:
            continue
        key = (e.goal_id, e.artifact_sha256)
        if e.action == "artifact.drafted" and e.phase:
            posted.setdefault(key, (e.phase, e.at))
        elif e.action in DECISIONS and key in posted:
            phase, at = posted.pop(key)
            waits.setdefault(phase, []).append((e.at - at).total_seconds())
    ranked = sorted(waits, key=lambda p: (PHASE_ORDER.index(p) if p in PHASE_ORDER else len(PHASE_ORDER), p))
    return {phase: durations(waits[phase]) for phase in ranked}


def compute_metrics(
    entries: Iterable[AuditEntry], runs: Iterable[RunRecord], *, since: datetime | None = None
) -> Metrics:
    """Every metric from audit entries (in chain order) and run records (pure)."""
    log = list(entries)
    goals = _goal_starts(log, since)
    work = [
        r for r in goal_runs(runs) if since is None or (r.started_at is not None and r.started_at >= since)
    ]
    adopted = next((e.at for e in log if e.action == "learn.approved"), None)
    posted = posted_runs(log)
    return Metrics(
        since=since,
        gates_before_implementation=gates_before_implementation(log, work, goals),
        runs_without_fixups=runs_without_fixups(log, work),
        duplication=duplication([r for r in work if r.run_id in posted], adopted),
        bootstrap=bootstrap(log, goals),
        approval_wait=approval_wait(log, goals),
    )


def collect(engine: Engine, *, runs_dir: Path | None, since: datetime | None = None) -> Metrics:
    with Session(engine) as session:
        entries = list(iter_entries(session))
    return compute_metrics(entries, load_runs(runs_dir), since=since)


# -- presentation -----------------------------------------------------------------------------------

LABELS = {
    "scaffold_check": "Scaffold Check",
    "prd": "PRD",
    "task_list": "Task List",
    "spec": "Mini-Spec",
    "action_plan": "Action Plan",
    "implementation": "Implementation",
}


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _share(share: Share) -> str:
    return f"{share.count}/{share.total} ({share.percent}%)" if share.total else "no data yet"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value}%"


def summary_lines(m: Metrics) -> list[str]:
    """The metrics as short plain-text lines (the digest, the App Home, `orch metrics`)."""
    dup = m.duplication
    lines = [
        f"Gates approved before implementation: {_share(m.gates_before_implementation)}",
        f"Automation runs without manual fix-ups: {_share(m.runs_without_fixups)}",
    ]
    if dup.changed_lines:
        text = (
            f"Duplicated edits: {_pct(dup.percent(dup.same_goal + dup.across_goals))} of "
            f"{dup.changed_lines} changed lines (same goal {_pct(dup.percent(dup.same_goal))}, "
            f"across goals {_pct(dup.percent(dup.across_goals))})"
        )
        if dup.adopted_at is not None:
            text += f"; before patterns {_pct(dup.before_percent)}, after {_pct(dup.after_percent)}"
        lines.append(text)
    else:
        lines.append("Duplicated edits: no run diffs yet")
    b = m.bootstrap
    lines.append(
        f"Time to bootstrap (start → approved action plan): median {human_duration(b.median_s)}, "
        f"p90 {human_duration(b.p90_s)} over {b.count} goal(s)"
        if b.count
        else "Time to bootstrap: no goal has an approved action plan yet"
    )
    waits = [
        f"{LABELS.get(p, p)} {human_duration(d.median_s)} (p90 {human_duration(d.p90_s)}, n={d.count})"
        for p, d in m.approval_wait.items()
    ]
    lines.append("Approval wait (median): " + (" · ".join(waits) if waits else "no decisions yet"))
    return lines


def metrics_summary(engine: Engine, since: datetime | None, *, runs_dir: Path | None = None) -> list[str]:
    """Lines for the daily digest: `runs_dir` is `bot.metrics_inputs.runs_dir_for(settings)`."""
    return summary_lines(collect(engine, runs_dir=runs_dir, since=since))


def metrics_home_blocks(
    engine: Engine, *, runs_dir: Path | None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """The App Home's metrics section (Block Kit dicts), to append to the home view's blocks."""
    from bot.blocks.metrics import build_metrics_blocks

    note = "From the audit log and run records" + (
        f", goals since {since:%Y-%m-%d}." if since else ", all time."
    )
    return build_metrics_blocks(summary_lines(collect(engine, runs_dir=runs_dir, since=since)), note=note)
