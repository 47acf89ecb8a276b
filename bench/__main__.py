"""`python -m bench [--quick] [--only ack,goals,…] [--keep]`: run the figures, write the results.

Exit status 0 when every target is met, 1 when one is missed (or a figure failed to run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import fig_footprint, fig_goals, fig_http, fig_scale, fig_store
from bench.machine import describe, load_average
from bench.procs import ROOT
from bench.report import section, table, write_doc
from bench.targets import evaluate


@dataclass(frozen=True)
class Profile:
    """How many iterations: `make bench` (full) or `make bench-quick`, the same figures."""

    ack_counts: dict[int, int]
    ack_rounds: int  # each level's servers are visited this many times, interleaved
    gates: int
    sustained_s: float
    sustained_rate: float
    sustained_inflight: int
    sustained_catch_up: float  # how long to wait afterwards for every interaction to be processed
    goals_sequential: int
    goals_burst: int
    goals_window: float
    parallel_sizes: tuple[int, ...]
    sla_n: int
    digest_n: int
    audit_appends: int
    audit_verify_n: int
    help_runs: int
    rss_settle: float
    pg_requests: int = 20_000  # inbox drains: SQLite, and PostgreSQL (needs ORCH_BENCH_POSTGRES_URL)


FULL = Profile(
    ack_counts={1: 1000, 20: 4000, 50: 5000},
    ack_rounds=3,
    gates=20,
    sustained_s=60,
    sustained_rate=1050,
    sustained_inflight=256,
    sustained_catch_up=240,
    goals_sequential=20,
    goals_burst=200,
    goals_window=60,
    parallel_sizes=(1, 10, 50),
    sla_n=10_000,
    digest_n=1000,
    audit_appends=5000,
    audit_verify_n=100_000,
    help_runs=7,
    rss_settle=5,
)
QUICK = Profile(
    ack_counts={1: 300, 20: 1000, 50: 1500},
    ack_rounds=2,
    gates=8,
    sustained_s=10,
    sustained_rate=1050,
    sustained_inflight=256,
    sustained_catch_up=20,  # keeps `make bench-quick` under 3 minutes
    goals_sequential=5,
    goals_burst=40,
    goals_window=15,
    parallel_sizes=(1, 10, 50),
    sla_n=2000,
    digest_n=1000,
    audit_appends=2000,
    audit_verify_n=100_000,
    help_runs=3,
    rss_settle=2,
    pg_requests=3000,
)


def _sla(work: Path, p: Profile) -> dict[str, Any]:
    result = fig_store.sla_sweep(work, p.sla_n, repeats=1 if p is QUICK else 3)
    result["scale"] = 10_000 / p.sla_n  # the target is for 10,000 open approvals
    return result


FIGURES: dict[str, Callable[[Path, Profile], dict[str, Any]]] = {
    "help": lambda work, p: fig_footprint.help_time(p.help_runs),
    "idle_rss": lambda work, p: fig_footprint.idle_rss(work, p.rss_settle),
    "audit_append": lambda work, p: fig_store.audit_append(work, p.audit_appends),
    "audit_verify": lambda work, p: fig_store.audit_verify(work, p.audit_verify_n),
    "redact": lambda work, p: fig_store.redact_hostile(),
    "digest": lambda work, p: fig_store.digest_build(work, p.digest_n),
    "sla_sweep": _sla,
    "ack": lambda work, p: fig_http.ack_latency(work, p.ack_counts, p.gates, rounds=p.ack_rounds),
    "sustained": lambda work, p: fig_http.sustained(
        work, p.sustained_s, p.sustained_rate, p.sustained_inflight, p.gates, p.sustained_catch_up
    ),
    "goals": lambda work, p: fig_goals.goals_processed(
        work, p.goals_sequential, p.goals_burst, p.goals_window
    ),
    "parallel": lambda work, p: fig_goals.parallel_goals(work, p.parallel_sizes, delay=1.0),
    "drain": lambda work, p: fig_scale.drain(work, p.pg_requests),
    "pg_workers": lambda work, p: fig_scale.pg_workers(work, p.pg_requests),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (under 3 minutes)")
    parser.add_argument("--only", help="comma-separated figures: " + ",".join(FIGURES))
    parser.add_argument("--keep", action="store_true", help="keep the working directories (logs, databases)")
    parser.add_argument(
        "--doc",
        type=Path,
        default=None,
        help="the Markdown file to update (default: docs/BENCHMARKS.md for a full run of every figure)",
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    names = [n.strip() for n in args.only.split(",")] if args.only else list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figures: {', '.join(unknown)}")

    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="orch-bench-"))
    results: dict[str, Any] = {
        "mode": mode,
        "command": "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else ""),
        "machine": describe(),
        "profile": profile.__dict__,
        "figures": {},
    }
    try:
        for name in names:
            t0 = time.time()
            print(f"bench: {name} …", flush=True)
            first_error = None
            for attempt in (1, 2):  # a figure that fails is run once more, and the failure is kept
                try:
                    results["figures"][name] = FIGURES[name](work / f"{name}-{attempt}", profile)
                    break
                except Exception as exc:  # one broken figure must not hide the others
                    traceback.print_exc()
                    error = f"{type(exc).__name__}: {exc}"[:500]
                    results["figures"][name] = {"error": error}
                    first_error = first_error or error
            if first_error and "error" not in results["figures"][name]:
                results["figures"][name]["first_attempt_error"] = first_error
            results["figures"][name]["elapsed_s"] = round(time.time() - t0, 1)
    finally:
        if args.keep:
            print(f"bench: working directories kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_average_end"] = load_average()
    results["seconds"] = time.time() - started
    out = ROOT / "bench" / "results" / f"{mode}{'-partial' if args.only else ''}.json"
    results["json"] = str(out.relative_to(ROOT))
    checks = evaluate(results["figures"])
    results["checks"] = [{**c.__dict__, "vs_bolt": c.vs_bolt} for c in checks]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    doc = args.doc or (ROOT / "docs" / "BENCHMARKS.md" if not args.quick and not args.only else None)
    if doc is not None:
        write_doc(doc, section(results, checks))
    print()
    print(table(checks))
    missed = [c for c in checks if c.ok is not True]
    print(
        f"\nbench: {len(checks) - len(missed)} of {len(checks)} targets met in {results['seconds']:.0f} s; "
        f"results in {out.relative_to(ROOT)}" + (f", table in {doc}" if doc else "")
    )
    return 1 if missed or not checks else 0


if __name__ == "__main__":
    sys.exit(main())
