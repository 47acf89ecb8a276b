"""The success metrics as people read them: short lines for the digest, the App Home and
`orch metrics`, durations in readable units, and `--explain`'s list of what is behind each number.

The numbers themselves are computed in `bot.observability.metrics`; this module only presents them (and reads
them through `bot.observability.metrics` for the digest and the App Home).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot.observability.metrics import LABELS, human_duration

if TYPE_CHECKING:
    from bot.observability.metrics import Durations, Metrics, Share


def _spread(d: Durations) -> str:
    return (
        f"median {human_duration(d.median_s)}, p90 {human_duration(d.p90_s)}, "
        f"range {human_duration(d.min_s)} – {human_duration(d.max_s)}"
    )


def _share(share: Share) -> str:
    return f"{share.count}/{share.total} ({share.percent}%)" if share.total else "no data yet"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value}%"


def summary_lines(m: Metrics) -> list[str]:
    """The metrics as short plain-text lines (the digest, the App Home, `orch metrics`)."""
    dup = m.duplication
    gates = m.gates_before_implementation
    lines = [
        f"Gates approved before implementation: {_share(gates)}"
        + (
            f" — by people {gates.by_people}, with CLI/MCP approvals {gates.by_automation}"
            if gates.total
            else ""
        ),
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
        f"Time to bootstrap (start → approved action plan): {_spread(b)} over {b.count} goal(s)"
        if b.count
        else "Time to bootstrap: no goal has an approved action plan yet"
    )
    waits = [
        f"{LABELS.get(p, p)} {human_duration(d.median_s)} (p90 {human_duration(d.p90_s)}, n={d.count})"
        for p, d in m.approval_wait.items()
    ]
    lines.append("Approval wait (median): " + (" · ".join(waits) if waits else "no decisions yet"))
    return lines


TITLES = {
    "gates_before_implementation": "Gates approved before implementation",
    "runs_without_fixups": "Automation runs without manual fix-ups",
    "duplication": "Duplicated edits",
    "bootstrap": "Time to bootstrap",
    "approval_wait": "Approval wait",
}


def how_lines() -> list[str]:
    from bot.observability.metrics import HOW

    return [f"{TITLES[key]}: {text}." for key, text in HOW.items()]


def explain_lines(m: Metrics) -> list[str]:
    """`orch metrics --explain`: how each number is computed and the goals and runs behind it."""
    from bot.observability.metrics import HOW

    out: list[str] = []
    for key, items in m.explain().items():
        out += [f"{TITLES[key]} — {HOW[key]}:", *(f"  · {item}" for item in items or ["(nothing yet)"]), ""]
    return out


def metrics_summary(engine: Engine, since: datetime | None, *, runs_dir: Path | None = None) -> list[str]:
    """Lines for the daily digest and `/orch metrics`: `runs_dir` is `bot.observability.runs.runs_dir_for(settings)`."""
    from bot.observability.metrics import collect

    return summary_lines(collect(engine, runs_dir=runs_dir, since=since))


def digest_metrics_lines(engine: Engine, *, runs_dir: Path | None, now: datetime) -> list[str]:
    """The digest's short metrics section: the last 7 days, gates, clean runs and bootstrap."""
    from bot.observability.metrics import collect

    m = collect(engine, runs_dir=runs_dir, since=now - timedelta(days=7))
    return [line for line in summary_lines(m) if not line.startswith(("Duplicated", "Approval wait"))]


HOME_WINDOWS = (7, 30)


def metrics_home_blocks(
    engine: Engine, *, runs_dir: Path | None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The App Home's metrics section (Block Kit dicts): the team's numbers for 7 and 30 days."""
    from bot.blocks.metrics import build_metrics_blocks
    from bot.observability.metrics import HOW, collect_windows

    now = now or datetime.now(UTC)
    computed = collect_windows(
        engine, runs_dir=runs_dir, windows=[now - timedelta(days=d) for d in HOME_WINDOWS]
    )
    windows = [
        (f"Last {days} days", summary_lines(m)) for days, m in zip(HOME_WINDOWS, computed, strict=True)
    ]
    note = "From the audit log and this deployment's run records (goals started in each window). " + " ".join(
        f"{TITLES[k]}: {HOW[k]}." for k in ("gates_before_implementation", "runs_without_fixups")
    )
    return build_metrics_blocks(windows, note=note)
