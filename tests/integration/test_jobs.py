"""The jobs table as a queue on real databases: atomic claims, heartbeats, re-queueing, retries, cancel."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.jobs import queue
from bot.jobs.config import JobsConfig
from bot.jobs.queue import Claimed
from bot.jobs.worker import JobWorker
from storage.db import make_engine, transaction
from storage.jobs_models import Job
from storage.migrate import upgrade
from storage.models import Effect, Goal
from tests.integration.jobs_support import audit_actions

T0 = datetime(2025, 1, 14, 9, 0, tzinfo=UTC)


def _goal(engine: Engine, goal_id: str = "G-0001") -> None:
    with transaction(engine) as session:
        session.add(
            Goal(
                id=goal_id,
                title="t",
                brief="b",
                requester="U_REQ",
                channel_id="C_DEV",
                thread_ts="1.1",
                phase="prd",
                status="drafting",
                phase_started_at=T0,
                created_at=T0,
                updated_at=T0,
            )
        )


def _enqueue(engine: Engine, n: int, goal_id: str | None = None, max_attempts: int = 3) -> list[int]:
    return [
        queue.enqueue(
            engine,
            key=f"draft:{goal_id or 'x'}:{i}",
            kind="draft",
            goal_id=goal_id,
            now=T0,
            payload={"phase": "prd", "version": 1},
            max_attempts=max_attempts,
        )
        for i in range(n)
    ]


def test_enqueueing_the_same_key_twice_gives_one_job(engine: Engine) -> None:
    first = queue.enqueue(engine, key="draft:G-0001:prd:0:1", kind="draft", goal_id=None, now=T0, payload={})
    again = queue.enqueue(engine, key="draft:G-0001:prd:0:1", kind="draft", goal_id=None, now=T0, payload={})
    assert first == again
    with Session(engine) as session:
        assert len(session.exec(select(Job)).all()) == 1


def test_concurrent_claims_never_hand_one_job_to_two_workers(engine: Engine) -> None:
    ids = _enqueue(engine, 120)
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(8)

    def worker(name: str) -> None:
        start.wait()
        mine: list[int] = []
        while batch := queue.claim(engine, now=T0, worker=name, limit=3):
            mine += [job.id for job in batch]
        taken[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [job_id for mine in taken.values() for job_id in mine]
    assert sorted(claimed) == sorted(ids)  # every job once, none twice
    assert sum(1 for mine in taken.values() if mine) >= 2  # the work was actually shared
    started = [p["job"] for a, p in audit_actions(engine, prefix="job.started")]
    assert sorted(started) == sorted(ids)


def test_a_job_whose_heartbeat_expired_is_requeued_with_backoff_then_failed_after_its_attempts(
    engine: Engine,
) -> None:
    _goal(engine)
    (job_id,) = _enqueue(engine, 1, goal_id="G-0001", max_attempts=2)
    cfg = JobsConfig(lease_seconds=30, backoff_seconds=10)
    (first,) = queue.claim(engine, now=T0, worker="dead", limit=1)
    assert queue.heartbeat(engine, run_ids=[first.run_id], now=T0 + timedelta(seconds=20)) == {first.run_id}
    # Alive at 20 s: not re-queued at 49 s; silent since 20 s: re-queued at 51 s, due 10 s later.
    assert queue.requeue_expired(engine, now=T0 + timedelta(seconds=49), lease=30, backoff=cfg.backoff) == []
    assert queue.requeue_expired(engine, now=T0 + timedelta(seconds=51), lease=30, backoff=cfg.backoff) == [
        job_id
    ]
    assert queue.claim(engine, now=T0 + timedelta(seconds=60), worker="w2", limit=1) == []
    (second,) = queue.claim(engine, now=T0 + timedelta(seconds=61), worker="w2", limit=1)
    assert second.attempts == 2 and second.run_id != first.run_id
    # The dead worker's late report is fenced off by its run id.
    assert queue.succeed(engine, first, now=T0 + timedelta(seconds=62)) is False
    assert queue.requeue_expired(engine, now=T0 + timedelta(seconds=200), lease=30, backoff=cfg.backoff) == [
        job_id
    ]
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.attempts) == ("failed", 2)
        # The draft held its goal: the thread gets the failure message with Retry (bot.jobs.recovery).
        note = session.exec(select(Effect).where(Effect.kind == "slack.work_failed")).one()
        assert session.get(Goal, "G-0001").status == "failed"  # type: ignore[union-attr]
    assert note.payload["attempts"] == 2 and "stopped heartbeating" in note.payload["error"]
    actions = [a for a, _ in audit_actions(engine, "G-0001", prefix="job.")]
    assert actions == ["job.started", "job.requeued", "job.started", "job.failed"]


def test_cancelling_a_goal_cancels_its_queued_and_running_jobs_only(engine: Engine) -> None:
    _goal(engine, "G-0001")
    _goal(engine, "G-0002")
    _enqueue(engine, 2, goal_id="G-0001")
    (other,) = _enqueue(engine, 1, goal_id="G-0002")
    (running,) = queue.claim(engine, now=T0, worker="w", limit=1)
    with transaction(engine) as session:
        assert queue.cancel_goal_jobs(session, "G-0001", T0) == 2
    assert [j.status for j in queue.goal_jobs(engine, "G-0001")] == ["cancelled", "cancelled"]
    assert [j.status for j in queue.goal_jobs(engine, "G-0002")] == ["queued"]
    assert queue.heartbeat(engine, run_ids=[running.run_id], now=T0) == set()  # its worker will stop it
    assert queue.succeed(engine, running, now=T0) is False
    assert queue.claim(engine, now=T0, worker="w", limit=5)[0].id == other


def test_a_failing_job_is_retried_after_its_backoff_and_succeeds(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    (job_id,) = _enqueue(engine, 1)
    runs: list[int] = []

    async def flaky(job: Claimed) -> None:
        runs.append(job.attempts)
        if job.attempts == 1:
            raise RuntimeError("the model timed out")

    async def scenario() -> None:
        cfg = JobsConfig(backoff_seconds=0.01, poll_seconds=0.02, heartbeat_seconds=0.05)
        worker = JobWorker(
            engine=engine,
            clock=lambda: datetime.now(UTC),
            handlers={"draft": flaky},
            config=cfg,
            max_parallel=2,
            name="w",
        )
        finished = asyncio.Event()
        worker.on_done.append(finished.set)  # called after each attempt ends
        await worker.start()
        try:
            for _attempt in range(2):
                await asyncio.wait_for(finished.wait(), timeout=10)
                finished.clear()
        finally:
            await worker.stop()

    asyncio.run(scenario())
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.attempts, job.last_error) == ("succeeded", 2, None)
    assert runs == [1, 2]
    failed = dict(audit_actions(engine, prefix="job.attempt_failed"))["job.attempt_failed"]
    assert failed["error"] == "RuntimeError: the model timed out" and failed["attempt"] == 1


def test_the_cli_still_completes_agent_work_before_it_returns(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app

    env: dict[str, Any] = {
        "ORCH_DATABASE_URL": f"sqlite:///{tmp_path / 'orch.db'}",
        "ORCH_REPO": str(target_repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2",
        "ORCH_AGENT_BACKEND": "offline",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    started = runner.invoke(app, ["goal", "start", "Add a CSV export of monthly invoices"])
    assert started.exit_code == 0, started.output
    assert "G-0001 started" in started.output and "awaiting approval" in started.output
    approved = runner.invoke(app, ["goal", "approve", "G-0001", "--as", "U_APP1"])
    assert approved.exit_code == 0, approved.output
    assert "now prd (awaiting approval)" in approved.output
    engine = make_engine(env["ORCH_DATABASE_URL"])
    assert [(j.kind, j.status, j.attempts) for j in queue.goal_jobs(engine, "G-0001")] == [
        ("draft", "succeeded", 1),
        ("draft", "succeeded", 1),
    ]
