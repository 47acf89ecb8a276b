"""The SLA sweep reads every open gate in one plain read and writes only for the gates that are due,
on real SQLite and PostgreSQL; what it sends is exactly what each gate's clock says."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from bot.jobs.config import load_scheduler_config
from bot.jobs.digest import gather
from bot.jobs.sla import SlaDeps, sweep
from bot.jobs.sla_policy import gate_clock
from bot.services.authority import ApproverDirectory
from storage.db import READ_ONLY, make_engine, transaction
from storage.migrate import upgrade
from storage.models import Artifact, Counter, Goal

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 31, 11, 7, tzinfo=BERLIN)  # a Monday, the day after the spring-forward change
SLA = {"approval_sla": "4h", "approval_ttl": "72h", "expiry_warning": "12h", "quiet_hours": ""}


def _deps(engine: Engine) -> SlaDeps:
    config = load_scheduler_config(timezone="Europe/Berlin", raw={"sla": SLA})
    directory = ApproverDirectory(users=frozenset({"U_APP1"}), groups=(), resolve_group=lambda _g: [])
    return SlaDeps(engine=engine, directory=directory, policy=config.sla)


def _fill(engine: Engine, ages: list[timedelta]) -> dict[str, datetime]:
    """One open gate per age (its artifact stored that long before NOW), each goal with an older,
    stale version of the same phase first; returns when each current version was stored."""
    goals: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    opened: dict[str, datetime] = {}
    for i, age in enumerate(ages, start=1):
        goal_id = f"G-{i:04d}"
        since = (NOW - age).astimezone(UTC)  # as the database gives it back
        opened[goal_id] = since
        goals.append(
            {
                "id": goal_id,
                "title": f"Goal {i}",
                "brief": "b",
                "requester": "U_REQ",
                "channel_id": "C_DEV",
                "thread_ts": f"1.{i}",
                "phase": "prd",
                "status": "awaiting_approval",
                "state": "active",
                "approvers": [],
                "spec_triggers": [],
                "tasks": [],
                "phase_started_at": since,
                "created_at": since,
                "updated_at": since,
            }
        )
        for version, stored in ((1, since - timedelta(days=9)), (2, since)):
            artifacts.append(
                {
                    "goal_id": goal_id,
                    "phase": "prd",
                    "version": version,
                    "task_id": 0,
                    "content": "c",
                    "sha256": f"{i:032d}{version:032d}",
                    "created_at": stored,
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(Goal.__table__), goals)  # type: ignore[attr-defined]
        conn.execute(insert(Artifact.__table__), artifacts)  # type: ignore[attr-defined]
    return opened


def _count_write_transactions(engine: Engine) -> list[int]:
    """Transactions begun on `engine` other than read sessions (a one-item list, incremented)."""
    count = [0]

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            count[0] += 1

    return count


def test_the_sweep_sends_what_each_clock_says_and_writes_only_for_due_gates(engine: Engine) -> None:
    ages = [timedelta(minutes=m) for m in range(0, 80 * 60, 97)] + [timedelta(hours=72)]
    opened = _fill(engine, ages)
    deps = _deps(engine)
    expected: dict[str, list[str]] = {"reminded": [], "escalated": [], "warned": [], "expired": []}
    for goal_id, since in sorted(opened.items()):
        clock = gate_clock(deps.policy, "prd", since)
        tag = f"{goal_id}:prd:0:v2"
        if clock.expires_at <= NOW:
            expected["expired"].append(tag)
            continue
        for level, at in (("reminded", clock.reminder_at), ("escalated", clock.escalation_at)):
            if at <= NOW:
                expected[level].append(tag)
        if clock.warning_at <= NOW:
            expected["warned"].append(tag)
    due = {tag.split(":")[0] for tags in expected.values() for tag in tags}
    assert 0 < len(due) < len(opened)  # some gates are due, the others are not

    writes = _count_write_transactions(engine)
    report = sweep(deps, now=NOW)
    assert {
        "reminded": report.reminded,
        "escalated": report.escalated,
        "warned": report.warned,
        "expired": report.expired,
    } == expected
    assert writes[0] == report.sent  # one write transaction per level sent, none for the rest

    writes[0] = 0
    again = sweep(deps, now=NOW + timedelta(minutes=1))
    assert again.sent == 0 and writes[0] == 0  # levels already sent are known from the read


def test_the_sweep_and_the_digest_read_while_another_transaction_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    _fill(engine, [timedelta(minutes=5), timedelta(minutes=30)])  # nothing is due
    deps = _deps(engine)
    results: list[object] = []

    def read() -> None:
        results.append(sweep(deps, now=NOW))
        results.append(gather(deps, channel="C_DEV", now=NOW))

    with transaction(engine) as writer:
        writer.add(Counter(name="held", value=1))
        writer.flush()  # on SQLite this transaction holds the write lock until it ends
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=10)  # bounded: a reader that waited for the lock would still be waiting
        finished = not reader.is_alive()
    reader.join(timeout=40)
    engine.dispose()
    assert finished, "the sweep waited for the write lock"
    assert len(results) == 2 and results[0].sent == 0  # type: ignore[attr-defined]
