"""Agent jobs run in parallel up to ORCH_MAX_PARALLEL_JOBS, with a scripted drafter that waits.

Ten goals are walked to their PRD; each PRD draft is a job. The drafter (the model's port) counts
how many drafts are in flight and holds each one until ten are in at once (a barrier), so the test
fails, on a bounded timeout, unless the ten jobs really overlap.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.jobs.queue import goal_jobs
from bot.services.unit import Actor
from tests.conftest import Live, start_live
from tests.integration.jobs_support import until, write_config

pytestmark = pytest.mark.slow
GOALS = 10


class WaitingDrafter:
    """Wraps the real (offline) drafter: every draft waits until `parties` drafts are in flight, or a gate."""

    def __init__(self, inner: Any, parties: int, timeout: float = 60.0, gated: bool = False) -> None:
        self.inner, self.timeout = inner, timeout
        self.barrier = asyncio.Barrier(parties)
        self.gate = asyncio.Event() if gated else None
        self.current = self.peak = 0
        self.loop: asyncio.AbstractEventLoop | None = None

    async def draft(self, request: Any) -> Any:
        self.loop = asyncio.get_running_loop()
        self.current += 1
        self.peak = max(self.peak, self.current)
        try:
            async with asyncio.timeout(self.timeout):
                await (self.gate.wait() if self.gate else self.barrier.wait())
            return await self.inner.draft(request)
        finally:
            self.current -= 1

    def release(self) -> None:
        assert self.loop is not None and self.gate is not None
        self.loop.call_soon_threadsafe(self.gate.set)


def _live(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Live:
    monkeypatch.setenv("ORCH_CONFIG", str(write_config(tmp_path, "[jobs]\npoll_seconds = 0.05\n")))
    return start_live(tmp_path, repo, **overrides)


def _walk_to_prd(live: Live) -> list[str]:
    goals = live.container.goals
    ids = [
        goals.start_goal(brief=f"Goal {i}: add export number {i}", actor=Actor("U_REQ")).id
        for i in range(GOALS)
    ]
    until(
        lambda: all(goals.get(g).status == "awaiting_approval" for g in ids),
        timeout=60,
        what="every scaffold check to await approval",
    )
    for goal_id in ids:
        goals.decide(goal_id=goal_id, phase=None, sha256=None, decision="approve", actor=Actor("U_APP1"))
    return ids


def _prd_jobs(live: Live, ids: list[str]) -> list[Any]:
    return [j for g in ids for j in goal_jobs(live.container.engine, g) if j.phase == "prd"]


def test_ten_agent_jobs_run_at_once_with_the_default_limit(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = _live(tmp_path, target_repo, monkeypatch)
    try:
        runtime = live.container.jobs
        assert runtime.worker.max_parallel == 10  # ORCH_MAX_PARALLEL_JOBS's default
        drafter = WaitingDrafter(runtime.work.drafter, parties=GOALS)
        runtime.work.drafter = drafter
        ids = _walk_to_prd(live)
        # The job is marked succeeded just after its draft is recorded: wait for the jobs themselves.
        until(
            lambda: [j.status for j in _prd_jobs(live, ids)] == ["succeeded"] * GOALS,
            timeout=90,
            what="every PRD draft job to finish",
        )
        assert all(live.container.goals.get(g).status == "awaiting_approval" for g in ids)
        assert drafter.peak == GOALS and runtime.worker.peak >= GOALS
        jobs = _prd_jobs(live, ids)
        assert [(j.status, j.attempts) for j in jobs] == [("succeeded", 1)] * GOALS
    finally:
        live.bot.stop()
        live.sb.stop()


def test_no_more_than_the_configured_number_of_jobs_run_at_once(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = _live(tmp_path, target_repo, monkeypatch, max_parallel_jobs=3)
    try:
        runtime = live.container.jobs
        drafter = WaitingDrafter(runtime.work.drafter, parties=GOALS, gated=True)
        runtime.work.drafter = drafter
        ids = _walk_to_prd(live)

        def held() -> bool:
            jobs = _prd_jobs(live, ids)
            return len(jobs) == GOALS and sorted(j.status for j in jobs) == ["queued"] * 7 + ["running"] * 3

        until(held, timeout=60, what="three PRD jobs running and seven queued")
        seen = runtime.worker.loops
        until(lambda: runtime.worker.loops >= seen + 5, timeout=10, what="the worker to look for work again")
        assert held() and drafter.current == 3  # it looked, and took no fourth job
        drafter.release()
        until(
            lambda: all(j.status == "succeeded" for j in _prd_jobs(live, ids)),
            timeout=60,
            what="every PRD job to finish",
        )
        assert drafter.peak == 3 and runtime.worker.peak == 3
    finally:
        live.bot.stop()
        live.sb.stop()
