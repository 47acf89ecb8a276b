"""Several workers share one inbox on PostgreSQL (storage.inbox claims, bot.web.inbox_worker's LISTEN)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.web.inbox_worker import InboxConsumer
from storage.db import make_engine
from storage.inbox import Inbox
from tests.support.databases import migrated_database
from tests.support.processes import OrchProcess

pytestmark = pytest.mark.postgres


@pytest.fixture
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    with migrated_database(request, tmp_path, "postgres") as found:
        yield found


class ModuleProcess(OrchProcess):
    """`python -m <module> <args>` (a test's own worker), with OrchProcess's output handling."""

    def start(self) -> ModuleProcess:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *self.args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        return self


def _put(inbox: Inbox, n: int, key: str | None) -> None:
    inbox.put(json.dumps({"n": n, "key": key}), "application/json", goal_key=key)


def test_claims_take_one_request_of_a_goal_at_a_time_and_a_dead_workers_claims_age(
    shared: tuple[Engine, str],
) -> None:
    main, url = shared
    inbox = Inbox.open(url, main)
    first, second, other, loose = (
        inbox.put("a", "application/json", goal_key="goal:G-0001", now=1.0),
        inbox.put("b", "application/json", goal_key="goal:G-0001", now=2.0),
        inbox.put("c", "application/json", goal_key="goal:G-0002", now=3.0),
        inbox.put("d", "application/json", now=4.0),
    )
    # The second request of G-0001 waits for the first, whoever runs it.
    assert [i.id for i in inbox.claim("A", 10, now=100.0)] == [first, other, loose]
    assert inbox.claim("B", 10, now=101.0) == []
    inbox.mark_done(first, now=102.0)
    assert [i.id for i in inbox.claim("B", 10, now=103.0)] == [second]
    inbox.mark_done(second, now=104.0)
    # A renews its claims while it runs them; once A stops renewing, the claims age and B takes them.
    inbox.renew("A", [other, loose], now=150.0)
    assert inbox.claim("B", 10, now=150.0 + 59.0) == []
    assert [i.id for i in inbox.claim("B", 10, now=150.0 + 61.0)] == [other, loose]
    # B stops before finishing them and gives them back: C need not wait for a lease to run out.
    inbox.release("B", [other, loose])
    assert [i.id for i in inbox.claim("C", 10, now=150.0 + 62.0)] == [other, loose]
    assert inbox.counts() == (4, 2)


def test_two_worker_processes_run_every_request_once_and_each_goals_in_order(
    shared: tuple[Engine, str],
) -> None:
    main, url = shared
    table = "inbox_seen"
    with main.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {table} (n integer NOT NULL, goal_key text, worker text NOT NULL,"
                " started_at timestamptz NOT NULL, finished_at timestamptz)"
            )
        )
    inbox = Inbox.open(url, main)
    keys = [f"goal:G-{g:04d}" for g in range(1, 7)] + [None]  # six goals and requests of no goal
    plan = [(n, keys[n % len(keys)]) for n in range(140)]
    for n, key in plan[:70]:  # half waits before the workers start, half comes while they run
        _put(inbox, n, key)

    conninfo = main.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {table}")
        workers = [
            ModuleProcess(["tests.support.inbox_worker", url, table], env={}).start() for _ in range(2)
        ]
        try:
            for worker in workers:
                worker.wait_for_line("listening", timeout=60)
            for n, key in plan[70:]:
                _put(inbox, n, key)
            finished: set[int] = set()
            for note in listener.notifies(timeout=60):
                finished.add(int(note.payload))
                if len(finished) == len(plan):
                    break
        finally:
            codes = [worker.stop() for worker in workers]
    assert codes == [0, 0], "".join(w.seen[-20] for w in workers)
    assert finished == {n for n, _ in plan}

    with main.connect() as conn:
        rows = conn.execute(
            text(f"SELECT n, goal_key, worker, started_at, finished_at FROM {table} ORDER BY n")
        ).all()
    ran = [r.n for r in rows]
    assert ran == sorted(n for n, _ in plan), "a request ran twice, or not at all"
    assert all(r.finished_at is not None for r in rows)
    for key in keys[:-1]:  # each goal's requests one after the other, in the order they came
        mine = [r for r in rows if r.goal_key == key]
        assert [r.n for r in mine] == [n for n, k in plan if k == key]
        for before, after in itertools.pairwise(mine):
            assert after.started_at >= before.finished_at, (
                f"{key}: {after.n} started before {before.n} finished"
            )
    assert inbox.counts() == (len(plan), len(plan))


def test_a_notify_wakes_a_waiting_worker_before_its_poll(shared: tuple[Engine, str]) -> None:
    """The worker's poll is 60 s here: only the web process's NOTIFY can make it run the request."""
    main, url = shared
    web = Inbox.open(url, make_engine(url))  # another engine, as another process would have
    worker_side = Inbox.open(url, main)
    seen: list[str] = []
    done = asyncio.Event()

    class Recorder:  # stands in for the worker's Bolt app: records what it is given
        async def async_dispatch(self, request: object) -> None:
            seen.append(getattr(request, "raw_body", ""))
            done.set()

    async def scenario() -> None:
        consumer = InboxConsumer(worker_side, Recorder(), poll=60.0, idle_poll=60.0)  # type: ignore[arg-type]
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        await asyncio.wait_for(consumer.listening.wait(), timeout=30)
        await asyncio.to_thread(web.put, "command=%2Forch&text=help", "application/x-www-form-urlencoded")
        await asyncio.wait_for(done.wait(), timeout=10)  # far below the 60 s poll
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    try:
        asyncio.run(scenario())
    finally:
        web.engine.dispose()
    assert seen == ["command=%2Forch&text=help"]
    assert worker_side.counts() == (1, 1)


def test_the_outbox_lock_is_taken_and_given_back_off_the_loop(shared: tuple[Engine, str]) -> None:
    """`locks.claim_async`: one holder at a time; every step in a thread; no connection or lock left
    behind, also when the lane is cancelled while the lock is being taken."""
    from storage import locks

    main, _url = shared
    threads: set[int] = set()
    real = locks._acquire

    def spying(*args: object) -> object:
        threads.add(threading.get_ident())
        return real(*args)  # type: ignore[arg-type]

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        async with locks.claim_async(main, locks.EFFECTS, 7) as first:
            assert first
            async with locks.claim_async(main, locks.EFFECTS, 7) as second:
                assert not second  # another session holds it
            async with locks.claim_async(main, locks.EFFECTS, 8) as other:
                assert other
        async with locks.claim_async(main, locks.EFFECTS, 7) as again:
            assert again
        # Cancelled while taking the lock: the connection goes back once the thread has it.
        taking = asyncio.ensure_future(locks.claim_async(main, locks.EFFECTS, 9).__aenter__())
        await asyncio.sleep(0)
        taking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await taking
        assert loop_thread not in threads and threads
        deadline = asyncio.get_running_loop().time() + 10
        while main.pool.checkedout() and asyncio.get_running_loop().time() < deadline:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)

    locks._acquire = spying  # type: ignore[assignment]
    try:
        asyncio.run(scenario())
    finally:
        locks._acquire = real  # type: ignore[assignment]
    assert main.pool.checkedout() == 0  # type: ignore[attr-defined]
    ns = locks.lock_namespace(main, locks.EFFECTS)
    with main.connect() as conn:
        held = conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :ns"), {"ns": ns}
        ).scalar_one()
    assert held == 0  # this schema's outbox locks (the server is shared with other schemas)


def test_a_job_queued_by_another_process_wakes_an_idle_job_worker(shared: tuple[Engine, str]) -> None:
    """The job worker's poll is 60 s here: only the NOTIFY of the enqueue can start the job."""
    from datetime import UTC, datetime

    from bot.jobs import queue
    from bot.jobs.config import JobsConfig
    from bot.jobs.queue import Claimed
    from bot.jobs.worker import JobWorker

    main, url = shared
    elsewhere = make_engine(url)  # another process's engine
    now = datetime(2025, 1, 14, 9, 0, tzinfo=UTC)
    ran: list[str] = []

    async def scenario() -> None:
        done = asyncio.Event()

        async def handler(job: Claimed) -> None:
            ran.append(job.key)
            done.set()

        config = JobsConfig(poll_seconds=60, heartbeat_seconds=60, lease_seconds=600)
        worker = JobWorker(main, lambda: now, {"draft": handler}, config, max_parallel=2, name="w1")
        await worker.start()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not worker.listening and loop.time() < deadline:  # bounded: the LISTEN connection
                await asyncio.sleep(0.01)
            assert worker.listening
            await asyncio.to_thread(
                queue.enqueue, elsewhere, key="draft:x:1", kind="draft", goal_id=None, now=now, payload={}
            )
            await asyncio.wait_for(done.wait(), timeout=10)  # far below the 60 s poll
        finally:
            await worker.stop()

    try:
        asyncio.run(scenario())
    finally:
        elsewhere.dispose()
    assert ran == ["draft:x:1"]
