"""The inbox between a web process and a worker (storage.inbox), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.inbox import KEEP_DONE_SECONDS, Inbox, inbox_url
from storage.migrate import upgrade
from tests.support.databases import migrated_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inbox]:
    with migrated_database(request, tmp_path, request.param) as (main, url):
        found = Inbox.open(url, main)
        if request.param == "postgres":
            assert found.engine is main  # one database on PostgreSQL
        yield found


def test_sqlite_inbox_is_a_sibling_file_and_memory_is_refused(tmp_path: Path) -> None:
    assert inbox_url(f"sqlite:///{tmp_path}/orch.db") == f"sqlite:///{tmp_path}/orch.inbox.db"
    assert inbox_url("postgresql://root@127.0.0.1/test") == "postgresql://root@127.0.0.1/test"
    with pytest.raises(ValueError, match="file database"):
        inbox_url("sqlite:///:memory:")


def test_requests_come_back_in_order_until_done(inbox: Inbox) -> None:
    ids = [inbox.put(f"body={n}", "application/x-www-form-urlencoded", now=1000.0 + n) for n in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5

    items, last = inbox.pending(inbox.resume_point())
    assert [i.body for i in items] == [f"body={n}" for n in range(5)] and last == ids[-1]
    assert inbox.pending(last) == ([], last)

    inbox.mark_done(ids[1], now=2000.0)
    inbox.mark_done(ids[3], now=2000.0)
    inbox.mark_done(ids[3], now=2001.0)  # twice is once
    # A worker starting again looks back past the newest done id and skips what is done.
    items, _ = inbox.pending(inbox.resume_point())
    assert [i.id for i in items] == [ids[0], ids[2], ids[4]]
    assert inbox.counts() == (5, 2)


def test_prune_drops_old_finished_requests_but_keeps_the_resume_point(inbox: Inbox) -> None:
    ids = [inbox.put("x", "application/json", now=0.0) for _ in range(3)]
    for item_id in ids[:2]:
        inbox.mark_done(item_id, now=0.0)
    assert inbox.prune(now=KEEP_DONE_SECONDS - 1) == 0  # not old enough yet
    assert inbox.prune(now=KEEP_DONE_SECONDS + 1) == 2
    assert inbox.counts() == (1, 0)
    items, _ = inbox.pending(inbox.resume_point())
    assert [i.id for i in items] == [ids[2]]  # the one not done is still there, and found
    assert inbox.put("y", "application/json") > ids[2]  # ids are never reused


def test_a_worker_is_woken_by_the_web_process_not_by_its_poll(tmp_path: Path) -> None:
    """With the wake-up socket the worker runs a new request at once; its own poll is 60 s here."""
    import asyncio

    from bot.web.inbox_worker import InboxConsumer

    url = f"sqlite:///{tmp_path / 'orch.db'}"
    main = make_engine(url)
    upgrade(main)
    web, worker_side = Inbox.open(url, main), Inbox.open(url, main)
    seen: list[str] = []

    class Recorder:  # stands in for the worker's Bolt app: records what it is given
        async def async_dispatch(self, request: object) -> None:
            seen.append(getattr(request, "raw_body", ""))
            done.set()

    async def scenario() -> None:
        consumer = InboxConsumer(worker_side, Recorder(), poll=60.0, idle_poll=60.0)  # type: ignore[arg-type]
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        await asyncio.wait_for(consumer.listening.wait(), timeout=10)
        assert worker_side.wake_path and Path(worker_side.wake_path).exists()
        await asyncio.to_thread(web.put, "command=%2Forch&text=help", "application/x-www-form-urlencoded")
        await asyncio.wait_for(done.wait(), timeout=10)  # far below the 60 s poll
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    done = asyncio.Event()
    asyncio.run(scenario())
    assert seen == ["command=%2Forch&text=help"]
    assert worker_side.counts() == (1, 1)


def test_doctor_reports_what_waits_for_the_worker(tmp_path: Path, target_repo: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'orch.db'}"
    main = make_engine(url)
    upgrade(main)
    inbox = Inbox.open(url, main)
    first = inbox.put("command=%2Forch&text=help", "application/x-www-form-urlencoded")
    inbox.put("command=%2Forch&text=list", "application/x-www-form-urlencoded")
    inbox.mark_done(first)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ORCH_"))}
    env.update(ORCH_DATABASE_URL=url, ORCH_REPO=str(target_repo), ORCH_CONFIG=str(tmp_path / "none.toml"))
    out = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "inbox: 1 request(s) waiting for `orch worker`, 1 done" in out.stdout, out.stdout + out.stderr


def test_an_inbox_file_of_an_earlier_version_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'orch.db'}"
    main = make_engine(url)
    upgrade(main)
    old = sqlite3.connect(tmp_path / "orch.inbox.db")
    old.execute(
        "CREATE TABLE slack_inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at FLOAT NOT NULL,"
        " content_type VARCHAR(100) NOT NULL, body TEXT NOT NULL)"
    )
    old.execute(
        "INSERT INTO slack_inbox (received_at, content_type, body) VALUES (1.0, 'application/json', 'x')"
    )
    old.commit()
    old.close()
    inbox = Inbox.open(url, main)
    inbox.put("y", "application/json", goal_key="goal:G-0001")
    items, _ = inbox.pending(0)
    assert [(i.body, i.goal_key) for i in items] == [("x", None), ("y", "goal:G-0001")]
