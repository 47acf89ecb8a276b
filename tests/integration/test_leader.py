"""Exactly one scheduler: a file lock on SQLite, an advisory lock on PostgreSQL, with failover."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.app import build_container
from bot.jobs.leader import LeaderElector
from bot.jobs.scheduler import SWEEP_JOB
from storage.db import make_engine
from storage.jobs_models import LeaderLease
from tests.conftest import make_settings
from tests.integration.jobs_support import berlin, write_config


def _elector(engine: Any, log: list[str], name: str) -> LeaderElector:
    async def elected() -> None:
        log.append(f"{name} elected")

    async def lost() -> None:
        log.append(f"{name} lost")

    return LeaderElector(
        engine=engine,
        clock=lambda: berlin(2025, 1, 14, 9, 0),
        poll_seconds=0.02,
        on_elected=elected,
        on_lost=lost,
        name=name,
    )


async def _until(predicate: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0)  # yield to the electors' tasks; bounded by the timeout
            await asyncio.sleep(0.005)


def test_on_sqlite_one_process_leads_and_another_takes_over_when_it_stops(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    from storage.migrate import upgrade

    upgrade(engine)
    log: list[str] = []

    async def scenario() -> None:
        a, b = _elector(engine, log, "a"), _elector(engine, log, "b")
        await a.start()
        await b.start()
        assert (a.is_leader, b.is_leader) == (True, False)
        assert (tmp_path / "orch.db.scheduler.lock").exists()
        await a.stop()  # the lock is released (a crash releases it too: the kernel drops flocks)
        await _until(lambda: b.is_leader)
        await b.stop()

    asyncio.run(scenario())
    assert log == ["a elected", "a lost", "b elected", "b lost"]
    with Session(engine) as session:
        row = session.get(LeaderLease, "scheduler")
        assert row is not None and row.holder == "b"


def test_only_the_leader_starts_the_scheduler_and_a_restart_keeps_the_digest_schedule(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "ORCH_CONFIG",
        str(write_config(tmp_path, '[jobs]\nleader_poll_seconds = 0.05\n[digest]\ntime = "09:30"\n')),
    )
    settings = make_settings(tmp_path, target_repo, timezone="Europe/Berlin")

    def next_runs(engine: Any) -> dict[str, float]:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, next_run_time, job_state FROM apscheduler_jobs")).all()
        for _id, _next, state in rows:
            assert pickle.loads(state)["func"].startswith("bot.jobs.scheduler:")
        return {row[0]: row[1] for row in rows}

    async def scenario() -> dict[str, Any]:
        first, second = build_container(settings), build_container(settings)
        one, two = first.jobs, second.jobs
        await one.start()
        await two.start()
        seen: dict[str, Any] = {
            "leaders": (one.is_leader, two.is_leader),
            "schedulers": (one.scheduler is not None, two.scheduler is not None),
        }
        seen["runs"] = next_runs(first.engine)
        trigger = one.scheduler.get_job("orch.digest.0930").trigger
        seen["trigger"] = repr(trigger)
        await one.stop()
        await _until(lambda: two.is_leader)
        seen["after"] = next_runs(first.engine)
        seen["runtime_of_tick"] = two.scheduler.get_job(SWEEP_JOB).args == (two.token,)
        await two.stop()
        return seen

    seen = asyncio.run(scenario())
    assert seen["leaders"] == (True, False) and seen["schedulers"] == (True, False)
    assert set(seen["runs"]) == {SWEEP_JOB, "orch.digest.0930"}
    assert "timezone='Europe/Berlin'" in seen["trigger"]
    # The cron job was kept as it was (a missed run would be caught up); the sweep re-armed.
    assert seen["after"]["orch.digest.0930"] == seen["runs"]["orch.digest.0930"]
    assert seen["runtime_of_tick"]
