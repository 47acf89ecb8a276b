"""Socket Mode: the same Bolt app and listeners as HTTP mode, fed over a WebSocket the bot opens.

`orch serve` uses it when SLACK_APP_TOKEN is set (see bot.web.serve); `SocketModeBot` runs it on a
background thread with its own event loop, for tests and local runs against the sandbox.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.config import Settings


def socket_mode_handler(bolt: AsyncApp, settings: Settings) -> AsyncSocketModeHandler:
    """The Socket Mode client for `bolt`: apps.connections.open with the app-level token, then one
    WebSocket whose envelopes go to the very listeners HTTP mode uses."""
    if settings.slack_app_token is None:
        raise RuntimeError("Socket Mode needs an app-level token: set SLACK_APP_TOKEN (xapp-…)")
    return AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())


@dataclass
class SocketModeBot:
    """The real bot in Socket Mode on a background thread: the effects dispatcher and the socket."""

    settings: Settings
    clock: Any = None
    container: Any = None
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    def start(self, timeout: float = 20.0) -> SocketModeBot:
        from bot.app import build_container
        from bot.services.unit import system_clock
        from bot.web.bolt import build_bolt_app

        self.container = build_container(self.settings, clock=self.clock or system_clock)
        bolt = build_bolt_app(self.container)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main(bolt)), name="orch-socket", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the bot did not connect in Socket Mode: {self._error!r}")
        return self

    async def _main(self, bolt: AsyncApp) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self.container.dispatcher.start()
        handler = socket_mode_handler(bolt, self.settings)
        try:
            await handler.connect_async()
        except Exception as exc:  # reported to start(), which raises it in the caller's thread
            self._error = exc
            self._ready.set()
            await self.container.dispatcher.stop()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await handler.close_async()
            await self.container.dispatcher.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until the effects dispatcher has nothing due (bounded)."""
        asyncio.run(self.container.dispatcher.drain(timeout=timeout))
