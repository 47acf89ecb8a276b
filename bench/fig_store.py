"""Figures measured in this process on a fresh SQLite file: the audit log, the SLA sweep, the digest.

Each uses the product's own code (`storage.audit`, `storage.db`, `bot.jobs` when it exists), so a
change there shows here. Nothing goes over HTTP.
"""

from __future__ import annotations

import importlib.util
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.procs import ROOT, child_env, python

# The audit figures use a keyed chain (HMAC-SHA256), as the product writes it.
BENCH_AUDIT_KEY = "bench-audit-key-not-a-secret-0123456789"


def _engine(path: Path) -> Any:
    from storage.audit_keys import AuditKeyring, bind_keyring
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(f"sqlite:///{path}")
    bind_keyring(engine, AuditKeyring.of(BENCH_AUDIT_KEY.encode()))
    # As the composition root does: the audit log redacts with the product's redactor.
    from bot.redact import redact, redact_obj
    from storage.audit import bind_redactor

    bind_redactor(redact, redact_obj)
    upgrade(engine)
    return engine


def audit_append(workdir: Path, n: int) -> dict[str, Any]:
    """Appends per second, each one its own transaction (BEGIN IMMEDIATE … COMMIT), as services do."""
    from storage.audit import append_audit
    from storage.db import transaction

    engine = _engine(workdir / "audit-append.db")
    at = datetime.now(UTC)
    for i in range(50):  # warm caches (statement compilation) outside the timing
        with transaction(engine) as session:
            append_audit(session, actor="U_APP1", action="bench.warmup", at=at, payload={"i": i})
    started = time.perf_counter()
    for i in range(n):
        with transaction(engine) as session:
            append_audit(
                session,
                actor="U_APP1",
                action="artifact.approved",
                at=at,
                goal_id=f"G-{i % 500:04d}",
                phase="prd",
                payload={"version": 1, "reason": "looks right"},
            )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {
        "n": n,
        "seconds": round(elapsed, 3),
        "per_s": round(n / elapsed),
        "ms_each": round(elapsed / n * 1000, 3),
    }


def _fill_audit(engine: Any, n: int) -> None:
    """n valid chained keyed entries, written in bulk (the chain is what is verified, not how it was
    written). Drafts, not decisions: `orch audit verify` also replays decisions against approval rows."""
    from sqlalchemy import insert

    from storage.audit import GENESIS_HASH, AuditEntry, entry_digest
    from storage.audit_keys import keyring_for

    keyring = keyring_for(engine)

    table = AuditEntry.__table__  # type: ignore[attr-defined]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            fields = {
                "seq": seq,
                "at": start + timedelta(seconds=seq),
                "actor": "U_APP1",
                "action": "artifact.drafted",
                "goal_id": f"G-{seq % 5000:04d}",
                "phase": "prd",
                "artifact_sha256": None,
                "mode": "read-only",
                "justification": None,
                "request_id": None,
                "run_id": None,
                "payload": '{"version":1}',
                "prev_hash": prev,
                "key_id": keyring.current_id,
            }
            prev = entry_digest(fields, keyring)
            rows.append({**fields, "hash": prev})
            if len(rows) == 10_000:
                conn.execute(insert(table), rows)
                rows = []
        if rows:
            conn.execute(insert(table), rows)


def audit_verify(workdir: Path, n: int) -> dict[str, Any]:
    """`verify_chain` over n entries (what `orch audit verify` runs), and the command's wall time."""
    from storage.audit import verify_chain

    path = workdir / "audit-verify.db"
    engine = _engine(path)
    _fill_audit(engine, n)
    started = time.perf_counter()
    result = verify_chain(engine)
    elapsed = time.perf_counter() - started
    engine.dispose()
    if not result.ok or result.checked != n:
        raise RuntimeError(f"verify found {result} on a freshly written chain")
    env = child_env(
        ORCH_DATABASE_URL=f"sqlite:///{path}",
        ORCH_CONFIG=str(workdir / "no-orch.toml"),
        ORCH_AUDIT_KEY=BENCH_AUDIT_KEY,
    )
    t0 = time.perf_counter()
    cli = subprocess.run(
        python("-m", "bot", "audit", "verify"), env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    cli_wall = time.perf_counter() - t0
    return {
        "n": n,
        "seconds": round(elapsed, 3),
        "per_s": round(n / elapsed),
        "cli_wall_s": round(cli_wall, 3),
        "cli_ok": cli.returncode == 0,
        "cli_out": cli.stdout.strip()[-200:],
    }


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _fill_goals(engine: Any, n: int, *, channel: str, now: datetime, awaiting_share: float = 1.0) -> None:
    """n goals in `channel`: a share awaiting approval of a fresh artifact, the rest drafting or done."""
    from sqlalchemy import insert

    from storage.models import Approval, Artifact, Counter, Goal

    phases = ("scaffold_check", "prd", "task_list", "action_plan", "implementation")
    goals, artifacts, approvals = [], [], []
    for i in range(1, n + 1):
        goal_id = f"G-{i:05d}"
        phase = phases[i % len(phases)]
        kind = "awaiting" if i <= n * awaiting_share else ("done" if i % 2 else "drafting")
        created = now - timedelta(minutes=10 + i % 50)
        goals.append(
            {
                "id": goal_id,
                "title": f"Bench goal {i}",
                "brief": f"Bench goal number {i}.",
                "requester": "U_REQ",
                "channel_id": channel,
                "thread_ts": f"1700000000.{i:06d}",
                "card_ts": f"1700000000.{i:06d}",
                "source": "slash",
                "phase": "done" if kind == "done" else phase,
                "status": {"awaiting": "awaiting_approval", "done": "approved", "drafting": "drafting"}[kind],
                "state": "done" if kind == "done" else "active",
                "mode": "read-only",
                "priority": "medium",
                "approvers": [],
                "spec_triggers": [],
                "tasks": [],
                "phase_started_at": created,
                "created_at": created,
                "updated_at": created,
            }
        )
        if kind == "awaiting":
            sha = f"{i:064x}"
            artifacts.append(
                {
                    "goal_id": goal_id,
                    "phase": phase,
                    "version": 1,
                    # An implementation diff belongs to a task; the phase documents to task 0.
                    "task_id": 1 if phase == "implementation" else 0,
                    "content": f"# Draft {i}\n",
                    "summary": "draft",
                    "sha256": sha,
                    "drafted_by": "offline",
                    "offline": True,
                    "message_ts": f"1700000001.{i:06d}",
                    "created_at": created,
                }
            )
            if i % 3 == 0:  # some gates need two approvals and have one already
                approvals.append(
                    {
                        "goal_id": goal_id,
                        "phase": phase,
                        "artifact_version": 1,
                        "artifact_sha256": sha,
                        "decision": "approve",
                        "by": "U_APP2",
                        "at": created,
                    }
                )
    with engine.begin() as conn:
        conn.execute(insert(Goal.__table__), goals)  # type: ignore[attr-defined]
        if artifacts:
            conn.execute(insert(Artifact.__table__), artifacts)  # type: ignore[attr-defined]
        if approvals:
            conn.execute(insert(Approval.__table__), approvals)  # type: ignore[attr-defined]
        conn.execute(insert(Counter.__table__), [{"name": "goal", "value": n}])  # type: ignore[attr-defined]


def _sla_deps(engine: Any) -> Any:
    from bot.jobs.config import load_scheduler_config
    from bot.jobs.sla import SlaDeps
    from bot.services.authority import ApproverDirectory

    config = load_scheduler_config(timezone="UTC", raw={})
    directory = ApproverDirectory(
        users=frozenset({"U_APP1", "U_APP2"}), groups=(), resolve_group=lambda _g: []
    )
    return SlaDeps(engine=engine, directory=directory, policy=config.sla)


def sla_sweep(workdir: Path, n: int, repeats: int = 3) -> dict[str, Any]:
    """One sweep over n open approvals none of which is due yet (the sweep that runs every minute)."""
    if not has_module("bot.jobs.sla"):
        return {"n": n, "missing": "bot.jobs.sla does not exist in this version"}
    from bot.jobs.sla import sweep

    engine = _engine(workdir / "sla.db")
    now = datetime.now(UTC)
    _fill_goals(engine, n, channel="C_DEV", now=now)
    deps = _sla_deps(engine)
    times, sent = [], 0
    for _ in range(repeats):
        if sum(times) > 2.0:  # a slow sweep is measured once: repeating it tells nothing new
            break
        started = time.perf_counter()
        report = sweep(deps, now=now)
        times.append(time.perf_counter() - started)
        sent += report.sent
    engine.dispose()
    return {"n": n, "seconds": round(min(times), 4), "all_s": [round(t, 4) for t in times], "messages": sent}


def digest_build(workdir: Path, n: int, repeats: int = 3) -> dict[str, Any]:
    """Build the digest of one channel holding n goals (40% awaiting approval, the rest drafting or done)."""
    if not has_module("bot.jobs.digest"):
        return {"n": n, "missing": "bot.jobs.digest does not exist in this version"}
    from bot.jobs.digest import gather

    engine = _engine(workdir / "digest.db")
    now = datetime.now(UTC)
    _fill_goals(engine, n, channel="C_DEV", now=now, awaiting_share=0.4)
    deps = _sla_deps(engine)
    times, blocks = [], 0
    for _ in range(repeats):
        if sum(times) > 2.0:
            break
        started = time.perf_counter()
        digest = gather(deps, channel="C_DEV", now=now)
        times.append(time.perf_counter() - started)
        blocks = len(digest.blocks)
    engine.dispose()
    return {"n": n, "seconds": round(min(times), 4), "all_s": [round(t, 4) for t in times], "blocks": blocks}


HOSTILE = {
    "prose": "The quick brown fox jumps over the lazy dog. " * 2300,
    "sk-run": "sk-" * 33_000,
    "xoxb-run": "xoxb-1" * 16_000,
    "begin-run": "-----BEGIN PRIVATE KEY-----" * 3_700,
    "aws-run": "aws" * 33_000,
    "secret-words": "secret " * 14_000,
    "token-eq": "token=" * 16_000,
    "schemes": "a://b:" * 16_000,
    "eyJ-run": "eyJ" * 33_000,
}


def redact_hostile(repeats: int = 3) -> dict[str, Any]:
    """`redact` over 100 KB of text made to trip a backtracking pattern: the slowest input's best time.

    A quadratic pattern shows as seconds here; typical text takes a few milliseconds."""
    from bot.redact import redact

    per_input: dict[str, float] = {}
    for name, text in HOSTILE.items():
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            redact(text)
            best = min(best, time.perf_counter() - started)
        per_input[name] = round(best * 1000, 2)
    worst = max(per_input, key=per_input.__getitem__)
    return {"worst": worst, "worst_ms": per_input[worst], "ms": per_input}
