"""The same `/orch start` text from one person within the window is one goal, even when the copies race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.services.authority import ApproverDirectory
from bot.services.errors import DuplicateStart
from bot.services.goals import GoalService
from bot.services.unit import Actor


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_racing_copies_of_one_start_make_one_goal_and_the_window_then_reopens(engine: Engine) -> None:
    clock = Clock()
    goals = GoalService(engine=engine, directory=ApproverDirectory(), clock=clock, start_dedupe_seconds=60)
    outcomes: list[str] = []
    gate = threading.Barrier(4)

    def start() -> None:
        gate.wait(timeout=10)
        try:
            outcomes.append(
                goals.start_goal(brief="Add a CSV export", actor=Actor("U_REQ"), channel_id="C1").id
            )
        except DuplicateStart:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["G-0001", "duplicate", "duplicate", "duplicate"]

    # Another channel, another person, the CLI, or a confirmation: each is its own goal.
    assert goals.start_goal(brief="Add a CSV export", actor=Actor("U_REQ"), channel_id="C2").id == "G-0002"
    assert goals.start_goal(brief="Add a CSV export", actor=Actor("U_APP"), channel_id="C1").id == "G-0003"
    assert goals.start_goal(brief="Add a CSV export", actor=Actor("U_REQ"), source="cli").id == "G-0004"
    assert goals.start_another(goal_id="G-0001", actor=Actor("U_REQ")).id == "G-0005"
    with pytest.raises(DuplicateStart, match="You started G-0005 with the same text 30 s ago"):
        clock.now += timedelta(seconds=30)
        goals.start_goal(brief="Add a CSV export", actor=Actor("U_REQ"), channel_id="C1")
    clock.now += timedelta(seconds=61)
    assert goals.start_goal(brief="Add a CSV export", actor=Actor("U_REQ"), channel_id="C1").id == "G-0006"
