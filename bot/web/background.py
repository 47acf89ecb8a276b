"""A second event loop on its own thread, for background work that must not delay Slack's answers.

The effects dispatcher reads and writes SQLite synchronously between its awaits, and on SQLite
every transaction begins with BEGIN IMMEDIATE, which waits for the write lock. On the request
loop each such wait stalled every pending ack (the bench profile showed the loop parked in
`_on_begin` for tens of milliseconds under load). On this loop the waits only delay effects.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bot.app import Container

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> LoopThread:
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.loop = loop
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                from bot.slack_http import close_loop_session

                loop.run_until_complete(close_loop_session())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=main, name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"the {self.name} loop did not start")
        return self

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on this thread's loop and await its result from another loop."""
        assert self.loop is not None, "start() first"
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self, timeout: float = 10.0) -> None:
        if self.loop is not None and self._thread is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)


@asynccontextmanager
async def background_work(container: Container, *, grace: float = 0.0) -> AsyncIterator[LoopThread]:
    """The effects dispatcher and the jobs runtime (workers and, when leading, the scheduler) on their
    own loop, for as long as the block runs.

    At the end, running jobs and effects get `grace` seconds to finish (`orch serve` and `orch
    worker` pass ORCH_SHUTDOWN_GRACE); what is left is given back (jobs re-queued, effects still
    pending) and resumes after a restart."""
    background = LoopThread("orch-effects").start()
    jobs = container.jobs
    if jobs is not None:  # first: an outbox without a worker beside it runs jobs on its own loop
        await background.run(jobs.start())
    await background.run(container.dispatcher.start())
    try:
        yield background
    finally:
        # Jobs and effects wind down side by side, so the whole takes about `grace`, not twice it.
        stops = [container.dispatcher.stop(grace)] + ([jobs.stop(grace)] if jobs is not None else [])
        await background.run(_together(*stops))
        background.stop()


async def _together(*stops: Coroutine[Any, Any, None]) -> None:
    await asyncio.gather(*stops)
