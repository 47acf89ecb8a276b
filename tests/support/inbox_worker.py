"""A worker process for the inbox tests: `python -m tests.support.inbox_worker <database url> <table>`.

It runs the real `InboxConsumer` (claims, LISTEN, renewals) over a shared PostgreSQL inbox. In
place of the Bolt app it records each request it runs in `<table>`: when it started and finished
by the server's clock (one clock for every process), then NOTIFYs `<table>` so the test can wait
for the work without polling. It stops on SIGTERM, after what it has started.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from sqlalchemy import text

from bot.web.inbox_worker import InboxConsumer
from storage.db import make_engine
from storage.inbox import Inbox


class Recorder:
    """Stands in for the worker's Bolt app: two transactions per request, so requests overlap."""

    def __init__(self, inbox: Inbox, table: str, worker: str) -> None:
        self.engine = inbox.engine
        self.table = table
        self.worker = worker

    def _start(self, n: int, key: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO {self.table} (n, goal_key, worker, started_at) VALUES (:n, :k, :w, clock_timestamp())"
                ),
                {"n": n, "k": key, "w": self.worker},
            )

    def _finish(self, n: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE {self.table} SET finished_at = clock_timestamp() WHERE n = :n AND worker = :w"),
                {"n": n, "w": self.worker},
            )
            conn.execute(text("SELECT pg_notify(:channel, :n)"), {"channel": self.table, "n": str(n)})

    async def async_dispatch(self, request: object) -> None:
        body = json.loads(getattr(request, "raw_body", "{}"))
        await asyncio.to_thread(self._start, int(body["n"]), body.get("key"))
        await asyncio.to_thread(self._finish, int(body["n"]))


async def main(url: str, table: str) -> None:
    engine = make_engine(url)
    inbox = Inbox.open(url, engine)
    consumer = InboxConsumer(inbox, Recorder(inbox, table, str(os.getpid())), concurrency=8)  # type: ignore[arg-type]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(consumer.run(stop))
    await consumer.listening.wait()
    print("listening", flush=True)
    await task
    print(f"stopped after {consumer.handled} requests", flush=True)
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
