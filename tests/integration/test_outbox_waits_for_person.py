"""An effect waiting for a person's repair is looked at again and again, and never runs out of attempts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.effects.dispatcher import EffectDispatcher, WaitForPerson
from storage.db import make_engine, transaction
from storage.migrate import upgrade
from storage.models import Effect

# More attempts than a failing effect used to get before it was given up for good.
MAX_ATTEMPTS = 6


def test_an_effect_waiting_for_a_repair_outlasts_its_attempts_and_then_succeeds(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    with transaction(engine) as session:
        session.add(
            Effect(
                key="publish:G-0001:prd", kind="repo.probe", goal_id="G-0001", payload={}, created_at=now[0]
            )
        )
    dispatcher = EffectDispatcher(engine=engine, clock=lambda: now[0])
    repaired_after = MAX_ATTEMPTS * 3
    looks: list[int] = []

    async def probe(effect: Effect) -> None:
        looks.append(effect.attempts)
        if len(looks) < repaired_after:
            raise WaitForPerson("a merge is in progress in the bot's checkout", delay=15)

    dispatcher.register("repo.probe", probe)

    async def scenario() -> None:
        for _ in range(repaired_after):
            await dispatcher.run_pending()
            now[0] += timedelta(seconds=15)

    asyncio.run(scenario())
    with Session(engine) as session:
        row = session.get(Effect, 1)
        assert row is not None
        assert row.status == "done" and row.attempts == 1
    assert len(looks) == repaired_after and set(looks) == {1}  # every look was its first attempt


def test_a_note_saying_the_commits_are_made_waits_for_a_commit_that_failed(tmp_path: Path) -> None:
    from bot.effects.repo_truth import require_commits_landed

    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with transaction(engine) as session:
        session.add(
            Effect(
                key="merge:G-0001:2:1", kind="repo.merge", goal_id="G-0001", status="failed", created_at=at
            )
        )
        session.add(Effect(key="note:G-0001:done", kind="slack.thread_note", goal_id="G-0001",
                           payload={"text": "🎉 done", "after_repo": True}, created_at=at))  # fmt: skip
    with Session(engine) as session:
        note = session.get(Effect, 2)
    assert note is not None
    with pytest.raises(WaitForPerson, match="merge:G-0001:2:1"):
        require_commits_landed(engine, note)
    with transaction(engine) as session:
        merge = session.get(Effect, 1)
        assert merge is not None
        merge.status = "done"
        session.add(merge)
    require_commits_landed(engine, note)  # landed: the note may say so
