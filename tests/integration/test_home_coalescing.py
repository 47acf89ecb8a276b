"""Many goals changing at once republish each person's App Home a couple of times, not once per goal,
and the last Home sent is built from the latest state."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.blocks.view_models import HomeView
from bot.effects.slack_effects import SlackEffects
from bot.services.authority import ApproverDirectory
from bot.services.unit import system_clock
from storage.db import make_engine
from storage.models import Goal

BOUND = 10.0  # seconds any single wait may take before the test fails


class HeldClient:
    """Slack's `views.publish`, held open on its first call until released; refuses when told to."""

    def __init__(self, refuse_first: bool = False) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.refuse_first = refuse_first

    async def views_publish(self, *, user_id: str, view: dict[str, Any]) -> None:
        first = not self.entered.is_set()
        self.entered.set()
        if first:
            await self.release.wait()
            if self.refuse_first:
                raise SlackApiError("refused", {"ok": False, "error": "ratelimited"})  # type: ignore[arg-type]
        self.published.append((user_id, view))


def _effects(tmp_path: Path, client: HeldClient, state: dict[str, int], builds: list[int]) -> SlackEffects:
    def home(user: str) -> HomeView:
        builds.append(state["n"])
        return HomeView(user=user, recent=[f"state {state['n']}"])

    return SlackEffects(
        engine=make_engine(f"sqlite:///{tmp_path / 'orch.db'}"),
        client=client,  # type: ignore[arg-type]
        directory=ApproverDirectory(users=frozenset(), groups=(), resolve_group=lambda _g: []),
        clock=system_clock,
        tz="UTC",
        approvals_required=1,
        offline=True,
        home=home,
    )


async def _until(done: Any) -> None:
    while not done():
        await asyncio.sleep(0.001)


def _burst(fx: SlackEffects, client: HeldClient, state: dict[str, int], size: int) -> None:
    goal = Goal(
        id="G-0001", title="t", brief="b", requester="U_REQ", phase="prd", status="drafting", approvers=[]
    )

    async def scenario() -> None:
        first = asyncio.create_task(fx.publish_homes(goal))
        await asyncio.wait_for(client.entered.wait(), BOUND)  # the first Home is on its way to Slack
        rest = []
        for n in range(2, size + 1):
            state["n"] = n  # a goal changed, then its card update asks for the Home again
            rest.append(asyncio.create_task(fx.publish_homes(goal)))
        # Every request is counted and waits behind the first (a bounded wait, not a timing).
        await asyncio.wait_for(_until(lambda: fx._home_asked.get("U_REQ") == size), BOUND)
        client.release.set()
        await asyncio.wait_for(asyncio.gather(first, *rest), BOUND)

    asyncio.run(scenario())


def test_a_burst_of_changes_builds_the_home_twice_and_sends_the_latest(tmp_path: Path) -> None:
    client, state, builds = HeldClient(), {"n": 1}, list[int]()
    fx = _effects(tmp_path, client, state, builds)
    _burst(fx, client, state, 20)
    assert builds == [1, 20]  # the first build, then one that covers the 19 requests made meanwhile
    assert [u for u, _ in client.published] == ["U_REQ", "U_REQ"]
    assert "state 20" in str(client.published[-1][1])


def test_a_home_slack_refused_covers_no_one(tmp_path: Path) -> None:
    client, state, builds = HeldClient(refuse_first=True), {"n": 1}, list[int]()
    fx = _effects(tmp_path, client, state, builds)
    _burst(fx, client, state, 5)
    assert builds == [1, 5]  # the refused first one; the next request builds the latest state itself
    assert len(client.published) == 1 and "state 5" in str(client.published[-1][1])
