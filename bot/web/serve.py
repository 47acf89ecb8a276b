"""Run the bot with uvicorn (HTTP mode) or with Socket Mode plus a health endpoint."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from types import FrameType
from typing import Any

import uvicorn

from bot.app import build_container
from bot.config import Settings
from bot.observability.logging import configure_logging
from bot.web.bolt import build_bolt_app
from bot.web.bolt_runner import Role
from bot.web.http_server import uvicorn_config
from bot.web.server import build_asgi

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn binds its socket after the app's start-up: say "ready" only once it listens.

    Shutdown: the first SIGTERM or SIGINT stops accepting, lets requests in flight finish (up to
    `timeout_graceful_shutdown`), then the lifespan gives running jobs and effects the same grace
    and releases the leases; the process then exits 0. uvicorn itself re-raises the signal after a
    graceful shutdown (the process then "dies" of SIGTERM, status -15): not here. A second signal
    exits at once.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            log.warning("second signal (%s): exiting now without waiting", signal.Signals(sig).name)
            os._exit(128 + sig)
        log.info("signal %s: finishing the work in flight, then exiting", signal.Signals(sig).name)
        self.should_exit = True

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            from bot import __version__

            log.info(
                "orch ready: version %s, listening on %s:%s", __version__, self.config.host, self.config.port
            )


def run_server(settings: Settings, role: Role = "all") -> None:
    """`role="all"`: one process does everything; `"web"`: answer Slack only, `orch worker` does the rest."""
    configure_logging(settings.log_level)
    if role == "web" and settings.socket_mode:
        raise SystemExit("a web process serves HTTP; Socket Mode runs as one process (--role all)")
    container = build_container(settings)
    bolt = build_bolt_app(container, role=role)
    asgi = build_asgi(container, bolt, role=role, shutdown_grace=settings.shutdown_grace)
    config = uvicorn_config(
        asgi,
        host=settings.host,
        port=settings.port,
        header_timeout=settings.http_header_timeout,
        graceful_shutdown=max(1, round(settings.shutdown_grace)),
    )
    server = _Server(config)
    if not settings.socket_mode:
        log.info("serving Slack requests on http://%s:%s/slack/events", settings.host, settings.port)
        server.run()
        log.info("orch stopped")
        return

    async def both() -> None:
        from bot.web.socket_mode import socket_mode_handler

        # The same Bolt app (and so the same listeners) as HTTP mode, fed over the socket.
        handler = socket_mode_handler(bolt, settings)
        await handler.connect_async()
        log.info("connected in Socket Mode; health on http://%s:%s/healthz", settings.host, settings.port)
        try:
            await server.serve()
        finally:
            await handler.close_async()

    asyncio.run(both())
