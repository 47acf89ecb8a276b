"""`orch worker`: the half of a web/worker split that does the work.

`orch serve --role web` answers Slack: it verifies each request, runs its listener up to `ack()`
and appends the request to the inbox (storage.inbox) before answering. This process reads the
inbox in id order, runs the same Bolt listeners to their end (the services, their database
transactions, the Slack posts after the answer), and runs the effects dispatcher, the jobs and the
scheduler. Several requests run at once (`concurrency`); each is marked done once its listener
has finished, so a worker that dies mid-request runs it again when it starts (the services are
idempotent for a repeated delivery: see bot.services.dedupe).

On PostgreSQL several workers (on several machines) share one inbox: each claims the requests it
runs (storage.inbox: `FOR UPDATE SKIP LOCKED`, one goal's requests in order), renews its claims
while it runs them, and is woken by the web process's `NOTIFY` on a connection of its own that
`LISTEN`s; the poll is then only a fallback, for a notification lost with a broken connection.

Why split at all: one Python process answers Slack and does the work under one GIL, so under
load every answer waits behind the work (docs/BENCHMARKS.md). Apart, the web process does little
more than a bare Bolt app, and the worker can run at a lower CPU priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import uuid
from typing import TYPE_CHECKING

from slack_bolt.request.async_request import AsyncBoltRequest

from bot.observability.logging import log_context
from bot.web.bolt import CLEANED_AT_DOOR
from storage.inbox import CLAIM_LEASE_SECONDS
from storage.wakeups import INBOX, listen

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.config import Settings
    from storage.inbox import Inbox, InboxItem

log = logging.getLogger(__name__)
PRUNE_EVERY = 3600.0


class InboxConsumer:
    """Run every request of the inbox through the worker's Bolt app, at most `concurrency` at once."""

    def __init__(
        self,
        inbox: Inbox,
        bolt: AsyncApp,
        *,
        concurrency: int = 8,
        poll: float = 0.01,
        idle_poll: float = 0.25,
        name: str | None = None,
        lease: float = CLAIM_LEASE_SECONDS,
    ) -> None:
        self.inbox = inbox
        self.bolt = bolt
        self.poll = poll  # without a wake-up (no socket, or PostgreSQL's LISTEN is down)
        self.idle_poll = idle_poll  # with one: only a fallback
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = lease  # how long a claim of ours lives without renewal (PostgreSQL)
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._woken: asyncio.Event | None = None
        # Requests whose listener has finished and that are not yet recorded as done: they are
        # recorded together (on PostgreSQL with the next claim, in its transaction), not one
        # transaction each. A worker that dies before that runs them again when it starts, as it
        # would one that died before its mark (the services are idempotent for a redelivery).
        self._finished: list[int] = []
        self._flushing: asyncio.Task[None] | None = None
        self._notified = False  # PostgreSQL: our LISTEN connection is up
        self.handled = 0
        self.listening = asyncio.Event()  # set once the consumer reads the inbox (and can be woken)
        self.grace: float | None = None

    async def run(self, stop: asyncio.Event, *, grace: float | None = None) -> None:
        """Read and run the inbox until `stop` is set; then give the requests in flight up to
        `grace` seconds (None: as long as they take). One not finished by then stays in the inbox,
        not done, and runs again when a worker starts."""
        self.grace = grace
        if self.inbox.shared:
            await self._run_shared(stop)
            return
        after = await asyncio.to_thread(self.inbox.resume_point)
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        listener = self._listen(loop, woken)
        poll = self.poll if listener is None else self.idle_poll
        self.listening.set()
        try:
            await self._loop(stop, woken, poll, after)
        finally:
            if listener is not None:
                loop.remove_reader(listener.fileno())
                listener.close()

    def _listen(self, loop: asyncio.AbstractEventLoop, woken: asyncio.Event) -> socket.socket | None:
        """Bind the inbox's wake-up socket (the web process sends a datagram after each request)."""
        path = self.inbox.wake_path
        if path is None:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # left by a worker that died
            sock.bind(path)
        except OSError as exc:  # e.g. a path longer than a socket address allows
            log.info("no wake-up socket (%s); polling the inbox every %.0f ms", exc, self.poll * 1000)
            sock.close()
            return None
        sock.setblocking(False)

        def readable() -> None:
            with contextlib.suppress(BlockingIOError):
                while sock.recv(64):
                    pass
            woken.set()

        loop.add_reader(sock.fileno(), readable)
        return sock

    async def _loop(self, stop: asyncio.Event, woken: asyncio.Event, poll: float, after: int) -> None:
        loop = asyncio.get_running_loop()
        next_prune = loop.time()
        while not stop.is_set():
            woken.clear()
            if loop.time() >= next_prune:
                pruned = await asyncio.to_thread(self.inbox.prune)
                if pruned:
                    log.info("pruned %d finished requests from the inbox", pruned)
                next_prune = loop.time() + PRUNE_EVERY
            items, after = await asyncio.to_thread(self.inbox.pending, after)
            for item in items:
                if item.id in self._running:
                    continue
                await self._slots.acquire()
                self._running[item.id] = asyncio.create_task(self._slotted(item))
            if not items:
                waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(woken.wait())}
                _, pending = await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                for waiter in pending:
                    waiter.cancel()
        if self._running:  # let what has started finish; the rest stays in the inbox
            running = list(self._running.values())
            _done, late = await asyncio.wait(running, timeout=self.grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        await self._flush_all()

    async def _slotted(self, item: InboxItem) -> None:
        try:
            await self._handle(item)
        finally:
            self._running.pop(item.id, None)
            self._slots.release()
            if self._woken is not None:  # a free slot, and maybe the next request of its goal
                self._woken.set()

    # -- several workers on PostgreSQL -------------------------------------------------------------

    async def _run_shared(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        woken = self._woken = asyncio.Event()
        # A connection of its own LISTENs for the web process's NOTIFY (storage.wakeups); while it is
        # down, the loop polls every `poll` instead of every `idle_poll`.
        listener = asyncio.create_task(
            listen(
                self.inbox.engine.url, INBOX, woken.set, up=self._listening, retry=max(self.idle_poll, 1.0)
            ),
            name="orch-inbox-listen",
        )
        next_prune = next_renew = loop.time()
        try:
            while not stop.is_set():
                woken.clear()
                try:
                    if loop.time() >= next_prune:
                        pruned = await asyncio.to_thread(self.inbox.prune)
                        if pruned:
                            log.info("pruned %d finished requests from the inbox", pruned)
                        next_prune = loop.time() + PRUNE_EVERY
                    if loop.time() >= next_renew:
                        await asyncio.to_thread(self.inbox.renew, self.name, list(self._running))
                        next_renew = loop.time() + self.lease / 4
                    free = self.concurrency - len(self._running)
                    finished, self._finished = self._finished, []
                    try:
                        items = await asyncio.to_thread(
                            self.inbox.claim, self.name, free, lease=self.lease, done=finished
                        )
                    except BaseException:
                        self._finished[:0] = finished  # not recorded: with the next claim, then
                        raise
                    self.handled += len(finished)
                except Exception:  # the loop must outlive a database hiccup; the poll tries again
                    log.exception("reading the inbox failed; trying again")
                    items, free = [], 0
                for item in items:
                    await self._slots.acquire()  # free at once: no more were claimed than slots free
                    self._running[item.id] = asyncio.create_task(self._slotted(item))
                if free <= 0 or len(items) < free:  # nothing more to take now: wait for news
                    poll = self.idle_poll if self._notified else self.poll
                    timeout = max(0.0, min(poll, next_renew - loop.time()))
                    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(woken.wait())}
                    _, pending = await asyncio.wait(
                        waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                    for waiter in pending:
                        waiter.cancel()
            unfinished: list[int] = []
            if self._running:  # the same grace as on SQLite; the rest stays in the inbox for others
                running = dict(self._running)
                _done, late = await asyncio.wait(running.values(), timeout=self.grace)
                for task in late:
                    task.cancel()
                await asyncio.gather(*running.values(), return_exceptions=True)
                unfinished = [item_id for item_id, task in running.items() if task in late]
            await self._flush_all()
            if unfinished:  # another worker may take them at once, not after the lease
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.inbox.release, self.name, unfinished)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    def _listening(self, up: bool) -> None:
        self._notified = up
        self.listening.set()  # the loop reads the inbox either way; without LISTEN it polls faster

    async def _handle(self, item: InboxItem) -> None:
        with log_context(request_id=f"inbox-{item.id}"):
            request = AsyncBoltRequest(body=item.body, headers={"content-type": [item.content_type]})
            request.context[CLEANED_AT_DOOR] = True  # the inbox keeps bodies as cleaned at the door
            try:
                await self.bolt.async_dispatch(request)
            except Exception:  # a listener's own errors are Bolt's to log; this is anything else
                log.exception("request %d of the inbox failed", item.id)
        self._finished.append(item.id)
        if not self.inbox.shared and self._flushing is None:
            # SQLite: one writer's unit records every request finished meanwhile; those finished
            # while it runs go with the next one.
            self._flushing = asyncio.create_task(self._flush())

    # -- recording what is done --------------------------------------------------------------------

    async def _flush(self) -> None:
        try:
            while self._finished:
                finished, self._finished = self._finished, []
                try:
                    await asyncio.to_thread(self.inbox.mark_done_many, finished)
                except Exception:
                    # Kept for the next try (a full disk, say); a crash meanwhile runs them again.
                    self._finished[:0] = finished
                    log.exception("recording %d finished requests of the inbox failed", len(finished))
                    return
                self.handled += len(finished)
        finally:
            self._flushing = None

    async def _flush_all(self) -> None:
        """At shutdown: record what has finished (what is not recorded runs again at the next start)."""
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        if self._finished:
            finished, self._finished = self._finished, []
            try:
                await asyncio.to_thread(self.inbox.mark_done_many, finished)
            except Exception:
                log.exception("recording %d finished requests of the inbox failed", len(finished))
                return
            self.handled += len(finished)


def run_worker(settings: Settings, *, concurrency: int = 8) -> None:
    from bot.app import build_container
    from bot.observability.logging import configure_logging
    from bot.web.background import background_work
    from bot.web.bolt import build_bolt_app

    configure_logging(settings.log_level)
    container = build_container(settings)
    bolt = build_bolt_app(container, role="worker")
    inbox = container.inbox
    assert inbox is not None  # opened by build_bolt_app

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            # The first signal: stop reading the inbox, finish what is running (bounded), exit 0.
            # A second one: exit at once.
            if stop.is_set():
                log.warning("second signal (%s): exiting now without waiting", sig.name)
                os._exit(128 + sig)
            log.info("signal %s: finishing the work in flight, then exiting", sig.name)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        grace = settings.shutdown_grace
        async with background_work(container, grace=grace):
            gc.freeze()
            from bot import __version__

            log.info("orch worker ready: version %s, reading the inbox", __version__)
            await InboxConsumer(inbox, bolt, concurrency=concurrency).run(stop, grace=grace)
        from bot.slack_http import close_loop_session

        await close_loop_session()
        log.info("orch worker stopped")

    asyncio.run(main())
