"""The outbox keeps running when a task one of its handlers awaited is cancelled from elsewhere."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from bot.effects.dispatcher import EffectDispatcher
from bot.services.unit import system_clock
from storage.db import make_engine, transaction
from storage.migrate import upgrade
from storage.models import Effect


def test_an_effect_whose_inner_task_was_cancelled_runs_again_and_the_outbox_goes_on(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        for key in ("first", "second"):
            session.add(Effect(key=key, kind="probe", goal_id=None, payload={}, created_at=datetime.now(UTC)))
    calls: list[str] = []

    async def probe(effect: Effect) -> None:
        calls.append(effect.key)
        if calls.count(effect.key) == 1 and effect.key == "first":
            # What a worker's heartbeat did to a job that had just finished: cancel the awaited task.
            inner = asyncio.create_task(asyncio.sleep(10))
            asyncio.get_running_loop().call_soon(inner.cancel)
            await asyncio.shield(inner)

    async def scenario() -> None:
        dispatcher = EffectDispatcher(engine=engine, clock=system_clock)
        dispatcher.register("probe", probe)
        await dispatcher.start()
        try:
            assert dispatcher.idle is not None
            await asyncio.wait_for(dispatcher.idle.wait(), 10)  # idle: it ran out of due effects
        finally:
            await dispatcher.stop()

    asyncio.run(scenario())
    assert calls == ["first", "first", "second"]
    with Session(engine) as session:
        assert [session.get(Effect, i).status for i in (1, 2)] == ["done", "done"]  # type: ignore[union-attr]
