"""The worker's heartbeat stops jobs that were taken away, never one that is recording its end."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.jobs import queue
from bot.jobs.config import JobsConfig
from bot.jobs.queue import Claimed
from bot.jobs.worker import JobWorker
from storage.db import make_engine
from storage.jobs_models import Job
from storage.migrate import upgrade

T0 = datetime(2025, 1, 14, 9, 0, tzinfo=UTC)


def test_a_job_whose_success_was_just_committed_is_not_cancelled_by_the_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    job_id = queue.enqueue(engine, key="draft:G-0001:prd:0:1", kind="draft", goal_id=None, now=T0, payload={})
    committed, release = threading.Event(), threading.Event()
    real_succeed = queue.succeed

    def succeed_then_pause(engine_: object, job: Claimed, *, now: datetime) -> bool:
        done = real_succeed(engine_, job, now=now)  # type: ignore[arg-type]
        committed.set()  # `succeeded` is in the database; the task has not seen the answer yet
        release.wait(timeout=10)
        return done

    monkeypatch.setattr(queue, "succeed", succeed_then_pause)

    async def handler(_job: Claimed) -> None:
        return None

    async def scenario() -> str:
        worker = JobWorker(
            engine=engine,
            clock=lambda: T0,
            handlers={"draft": handler},
            config=JobsConfig(),
            max_parallel=2,
            name="w",
        )
        (job,) = queue.claim(engine, now=T0, worker="w", limit=1)
        task = worker._spawn(job)
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, committed.wait, 10)
        await worker._beat()  # the heartbeat no longer sees the job running
        cancelled = task.cancelling() > 0
        release.set()
        await asyncio.wait_for(task, timeout=10)
        return "cancelled" if cancelled else "kept"

    assert asyncio.run(scenario()) == "kept"
    with Session(engine) as session:
        row = session.get(Job, job_id)
        assert row is not None and row.status == "succeeded"
