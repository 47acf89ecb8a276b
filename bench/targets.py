"""The issue's targets, checked against a run's results: one row of the table per check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.stats import ratio


@dataclass(frozen=True)
class Check:
    figure: str
    value: float | None
    unit: str
    target: str
    ok: bool | None  # None: not measured in this run
    starlette: float | None = None
    bolt: float | None = None
    note: str = ""

    @property
    def vs_bolt(self) -> float | None:
        return ratio(self.value, self.bolt)


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _ge(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def _get(data: Any, *path: Any) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key, data.get(str(key)))
    return data


def ack_checks(fig: dict[str, Any]) -> list[Check]:
    out = []
    for kind, bolt_key, label in (
        ("orch_start", "bolt", "`/orch start`"),
        ("orch_click", "bolt_click", "Approve click"),
    ):
        for level in fig.get("levels", []):
            for q in ("p50", "p99"):
                value = _get(fig, kind, level, f"{q}_ms")
                bolt = _get(fig, bolt_key, level, f"{q}_ms")
                floor = _get(fig, "starlette", level, f"{q}_ms")
                limits = []
                if level == 1 and q == "p50":
                    limits.append(("≤ 2 ms", _le(value, 2.0)))
                if level == 20 and q == "p99":
                    limits.append(("≤ 25 ms", _le(value, 25.0)))
                r = ratio(value, bolt)
                limits.append(("≤ 1.0× Bolt", None if r is None else r <= 1.0))
                ok = None if any(o is None for _, o in limits) else all(o for _, o in limits)
                errors = _get(fig, kind, level, "errors")
                if errors:
                    ok = False
                out.append(
                    Check(
                        f"ack {label}, {level} client{'s' if level > 1 else ''}, {q}",
                        value,
                        "ms",
                        "; ".join(t for t, _ in limits),
                        ok,
                        floor,
                        bolt,
                        f"{errors} errors" if errors else "",
                    )
                )
    return out


def sustained_checks(fig: dict[str, Any]) -> list[Check]:
    per_s = fig.get("per_s")
    lost = sum((fig.get("lost") or {}).values()) if fig.get("lost") else None
    errors = fig.get("errors")
    return [
        Check(
            "sustained mixed interactions: acknowledged",
            per_s,
            "/s",
            "≥ 1,000/s",
            _ge(per_s, 1000),
            note=f"{fig.get('offered_per_s')}/s offered for {fig.get('seconds')} s; "
            f"{fig.get('cpu_ms_per_req')} CPU-ms per request; CPU seconds used: {fig.get('cpu_s')}"
            if fig.get("offered_per_s")
            else "",
        ),
        Check("sustained: errors", errors, "", "0", None if errors is None else errors == 0),
        Check(
            "sustained: lost (not processed afterwards)",
            lost,
            "",
            "0",
            None if lost is None else lost == 0,
            note=(
                f"caught up {fig.get('caught_up_s')} s after the load"
                if not lost
                else f"not processed {fig.get('caught_up_s')} s after the load; "
                f"{fig.get('queued_in_inbox')} still queued in the inbox (kept, to be run); "
                f"processed {fig.get('processed_per_s')}/s"
            )
            if fig.get("caught_up_s") is not None
            else "",
        ),
        Check(
            "sustained: requests run by the worker",
            fig.get("worker_ran_per_s"),
            "/s",
            "≥ 600/s",
            _ge(fig.get("worker_ran_per_s"), 600),
            note=f"{fig.get('worker_ran')} run over the load and the wait after it; "
            f"{fig.get('queued_in_inbox')} left in the inbox"
            if fig.get("worker_ran") is not None
            else "",
        ),
        Check(
            "sustained: worker CPU per request run",
            fig.get("worker_cpu_ms_per_interaction"),
            "ms",
            "≤ 0.4 ms",
            _le(fig.get("worker_cpu_ms_per_interaction"), 0.4),
        ),
    ]


def goals_checks(fig: dict[str, Any]) -> list[Check]:
    p50 = _get(fig, "one_at_a_time", "total", "p50_ms")
    per_s = _get(fig, "burst", "per_s")
    burst = fig.get("burst") or {}
    return [
        Check("goal fully processed (start → PRD posted), p50", p50, "ms", "≤ 150 ms", _le(p50, 150)),
        Check(
            "goals fully processed, sustained",
            per_s,
            "goals/s",
            "≥ 100/s",
            _ge(per_s, 100),
            note=f"{burst.get('completed')} of {burst.get('started')} within {burst.get('window_s')} s; "
            f"first stage (start → Scaffold Check posted) {burst.get('scaffold_per_s')}/s"
            if burst
            else "",
        ),
    ]


def parallel_checks(fig: dict[str, Any]) -> list[Check]:
    runs = fig.get("runs") or {}
    out = []
    for size, limit in ((10, 1.2), (50, 2.0)):
        r = _get(runs, size, "ratio")
        wall = _get(runs, size, "wall_s")
        out.append(
            Check(
                f"parallel goals: {size} vs 1 (wall-time ratio)",
                r,
                "×",
                f"≤ {limit}×",
                _le(r, limit),
                note=f"{wall} s vs {_get(runs, 1, 'wall_s')} s, 1 s per model step" if wall else "",
            )
        )
    return out


def store_checks(figs: dict[str, Any]) -> list[Check]:
    sla, digest = figs.get("sla_sweep") or {}, figs.get("digest") or {}
    append, verify = figs.get("audit_append") or {}, figs.get("audit_verify") or {}
    sla_ms = None if sla.get("seconds") is None else sla["seconds"] * 1000 * sla.get("scale", 1)
    digest_ms = None if digest.get("seconds") is None else digest["seconds"] * 1000
    verify_s = verify.get("seconds")
    hostile = figs.get("redact") or {}
    return [
        Check(
            "SLA sweep, 10,000 open approvals",
            _round(sla_ms),
            "ms",
            "≤ 50 ms",
            _le(sla_ms, 50),
            note=sla.get("missing")
            or (f"measured at {sla.get('n')} and scaled linearly" if sla.get("scale", 1) != 1 else ""),
        ),
        Check(
            "digest build, 1,000 goals in one channel",
            _round(digest_ms),
            "ms",
            "≤ 200 ms",
            _le(digest_ms, 200),
            note=digest.get("missing", ""),
        ),
        Check(
            "audit append (each its own transaction)",
            append.get("per_s"),
            "/s",
            "≥ 5,000/s",
            _ge(append.get("per_s"), 5000),
        ),
        Check(
            f"audit verify, {verify.get('n', 100_000):,} entries",
            verify_s,
            "s",
            "≤ 1 s",
            _le(verify_s, 1.0),
            note=f"`orch audit verify` wall time {verify.get('cli_wall_s')} s" if verify else "",
        ),
        Check(
            "redact 100 KB of hostile text, slowest input",
            hostile.get("worst_ms"),
            "ms",
            "≤ 100 ms",
            _le(hostile.get("worst_ms"), 100),
            note=f"slowest: {hostile['worst']}" if hostile else "",
        ),
    ]


def footprint_checks(figs: dict[str, Any]) -> list[Check]:
    rss, helpt = figs.get("idle_rss") or {}, figs.get("help") or {}
    wall = _get(helpt, "orch_help", "median_s")
    return [
        Check(
            "RSS of an idle `orch serve`",
            rss.get("orch_mb"),
            "MB",
            "≤ 120 MB",
            _le(rss.get("orch_mb"), 120),
            bolt=rss.get("bolt_mb"),
            note=f"one process; split: web {rss.get('web_mb')} MB + worker {rss.get('worker_mb')} MB"
            if rss.get("web_mb")
            else "",
        ),
        Check(
            "wall time of `orch --help`",
            wall,
            "s",
            "≤ 0.3 s",
            _le(wall, 0.3),
            note=f"bare python {_get(helpt, 'python_bare', 'median_s')} s; eager imports "
            f"{_get(helpt, 'eager_imports', 'median_s')} s"
            if helpt
            else "",
        ),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _retried(checks: list[Check], fig: dict[str, Any]) -> list[Check]:
    """Say so on every row of a figure that only succeeded at its second attempt."""
    error = fig.get("first_attempt_error")
    if not error:
        return checks
    note = f"second attempt; the first failed: {error[:120]}"
    return [Check(**{**c.__dict__, "note": "; ".join(n for n in (c.note, note) if n)}) for c in checks]


def drain_checks(figures: dict[str, Any]) -> list[Check]:
    """The worker draining a full inbox (bench.fig_scale): its rate, and its CPU per request."""
    checks: list[Check] = []
    runs = [("SQLite, 1 worker", figures.get("drain"))]
    pg = figures.get("pg_workers") or {}
    if "skipped" not in pg:
        runs += [(f"PostgreSQL, {k} worker{'s' if k > 1 else ''}", pg.get(f"workers_{k}")) for k in (1, 2)]
    for label, fig in runs:
        if fig is None or "error" in fig:
            continue
        note = (
            f"{fig.get('measured')} requests ({', '.join(fig.get('kinds') or [])}) in {fig.get('seconds')} s"
        )
        checks.append(
            Check(
                f"inbox drain, {label}: requests run",
                fig.get("processed_per_s"),
                "/s",
                "≥ 600/s",
                _ge(fig.get("processed_per_s"), 600),
                note=note,
            )
        )
        checks.append(
            Check(
                f"inbox drain, {label}: worker CPU per request",
                fig.get("cpu_ms_per_req"),
                "ms",
                "≤ 0.4 ms",
                _le(fig.get("cpu_ms_per_req"), 0.4),
            )
        )
    return checks


def evaluate(figures: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    if "ack" in figures:
        checks += _retried(ack_checks(figures["ack"]), figures["ack"])
    if "sustained" in figures:
        checks += _retried(sustained_checks(figures["sustained"]), figures["sustained"])
    if "goals" in figures:
        checks += _retried(goals_checks(figures["goals"]), figures["goals"])
    if "parallel" in figures:
        checks += _retried(parallel_checks(figures["parallel"]), figures["parallel"])
    if any(k in figures for k in ("drain", "pg_workers")):
        checks += drain_checks(figures)
    if any(k in figures for k in ("sla_sweep", "digest", "audit_append", "audit_verify", "redact")):
        checks += store_checks(figures)
    if any(k in figures for k in ("idle_rss", "help")):
        checks += footprint_checks(figures)
    return checks
