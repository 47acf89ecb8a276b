"""The outbox runs different goals' effects side by side and each goal's effects in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.effects.dispatcher import EffectDispatcher
from bot.services.unit import system_clock
from storage.db import make_engine, transaction
from storage.migrate import upgrade
from storage.models import Effect


def _dispatcher(tmp_path: Path, effects: list[tuple[str, str | None]]) -> EffectDispatcher:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        for key, goal_id in effects:
            session.add(
                Effect(key=key, kind="probe", goal_id=goal_id, payload={}, created_at=datetime.now(UTC))
            )
    return EffectDispatcher(engine=engine, clock=system_clock)


def test_a_goal_waiting_on_its_effect_does_not_hold_up_another_goal(tmp_path: Path) -> None:
    dispatcher = _dispatcher(tmp_path, [("a1", "G-0001"), ("a2", "G-0001"), ("b1", "G-0002")])
    calls: list[str] = []

    async def scenario() -> None:
        b_ran = asyncio.Event()

        async def probe(effect: Effect) -> None:
            calls.append(effect.key)
            if effect.key == "a1":
                # In one queue this waits for ever (b1 comes after a1): only lanes let b1 run meanwhile.
                await asyncio.wait_for(b_ran.wait(), timeout=10)
            if effect.key == "b1":
                b_ran.set()

        dispatcher.register("probe", probe)
        await dispatcher.drain(timeout=30)

    asyncio.run(scenario())
    assert calls.index("a1") < calls.index("b1") < calls.index("a2")
    with Session(dispatcher.engine) as session:
        assert {e.key: e.status for e in session.exec(select(Effect)).all()} == {
            "a1": "done", "a2": "done", "b1": "done",
        }  # fmt: skip


def test_a_failed_effect_stops_its_goal_for_the_round_but_not_the_others(tmp_path: Path) -> None:
    dispatcher = _dispatcher(
        tmp_path, [("a1", "G-0001"), ("a2", "G-0001"), ("b1", "G-0002"), ("b2", "G-0002")]
    )
    calls: list[str] = []

    async def probe(effect: Effect) -> None:
        calls.append(effect.key)
        if effect.key == "a1":
            raise RuntimeError("Slack is down")

    dispatcher.register("probe", probe)
    ran = asyncio.run(dispatcher.run_pending())
    assert ran == 3 and "a2" not in calls and calls.index("b1") < calls.index("b2")
    with Session(dispatcher.engine) as session:
        rows = {e.key: e for e in session.exec(select(Effect)).all()}
    assert rows["a1"].status == "pending" and rows["a1"].not_before is not None
    assert [rows[k].status for k in ("a2", "b1", "b2")] == ["pending", "done", "done"]


def _kinds(tmp_path: Path, effects: list[tuple[str, str, str]], max_lanes: int) -> EffectDispatcher:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        for key, kind, goal_id in effects:
            session.add(Effect(key=key, kind=kind, goal_id=goal_id, payload={}, created_at=datetime.now(UTC)))
    return EffectDispatcher(engine=engine, clock=system_clock, max_lanes=max_lanes)


@pytest.mark.parametrize("run", ["loop", "drain"])
def test_commits_waiting_for_the_branch_lock_leave_lanes_for_other_goals_posts(
    tmp_path: Path, run: str
) -> None:
    # Four goals' commits are held (as by the branch lock) in a dispatcher of four lanes: a fifth
    # goal's post still goes out, in the server's loop and in a drain alike.
    commits = [(f"c{i}", "repo.publish_state", f"G-000{i}") for i in range(1, 5)]
    dispatcher = _kinds(tmp_path, [*commits, ("post", "slack.post_card", "G-0005")], max_lanes=4)
    posted: list[str] = []

    async def scenario() -> None:
        lock = asyncio.Event()
        post_done = asyncio.Event()

        async def commit(effect: Effect) -> None:
            await asyncio.wait_for(lock.wait(), timeout=10)

        async def post(effect: Effect) -> None:
            posted.append(effect.key)
            post_done.set()

        dispatcher.register("repo.publish_state", commit)
        dispatcher.register("slack.post_card", post)
        if run == "loop":
            await dispatcher.start()
            try:
                await asyncio.wait_for(post_done.wait(), timeout=10)
            finally:
                lock.set()
                await dispatcher.stop(grace=10)
        else:
            drained = asyncio.create_task(dispatcher.drain(timeout=30))
            await asyncio.wait_for(post_done.wait(), timeout=10)
            lock.set()
            await drained

    asyncio.run(scenario())
    assert posted == ["post"]


def test_a_card_drawn_again_later_in_its_lane_is_not_drawn_twice(tmp_path: Path) -> None:
    dispatcher = _kinds(
        tmp_path,
        [
            ("card-approved", "slack.update_card", "G-0001"),
            ("post-prd", "slack.post_artifact", "G-0001"),
            ("card-drafted", "slack.update_card", "G-0001"),
        ],
        max_lanes=4,
    )
    calls: list[str] = []

    async def handler(effect: Effect) -> None:
        calls.append(effect.key)

    dispatcher.register("slack.update_card", handler)
    dispatcher.register("slack.post_artifact", handler)
    asyncio.run(dispatcher.drain(timeout=30))
    # The card shows the goal as it is when drawn: the last drawing shows all the first one did.
    assert calls == ["post-prd", "card-drafted"]
    with Session(dispatcher.engine) as session:
        assert {e.key: e.status for e in session.exec(select(Effect)).all()} == {
            "card-approved": "done", "post-prd": "done", "card-drafted": "done",
        }  # fmt: skip
