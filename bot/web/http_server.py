"""uvicorn, configured the way the front door needs it: a deadline on every request's headers.

uvicorn closes an idle keep-alive connection after `timeout_keep_alive`, but nothing bounds how
long a client may take to send a request's headers: a byte every few seconds keeps a connection
open for ever, and a few hundred such connections use up the process's file descriptors. So the
protocol here starts a timer when a connection opens (and when a kept-alive connection begins its
next request) and closes the connection if the headers are not complete by then. The body has its
own deadline, in the ASGI app (bot.web.server), where a late body gets a 408.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's headers."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # a kept-alive connection's next request
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()


def uvicorn_config(
    asgi: Any, *, host: str, port: int, header_timeout: float, graceful_shutdown: int | None = None
) -> uvicorn.Config:
    """The server's configuration: quiet logs, the app's lifespan, and the header deadline."""
    protocol = type("OrchHttpProtocol", (HeaderDeadlineProtocol,), {"header_timeout": header_timeout})
    return uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http=protocol,
        timeout_keep_alive=5,  # uvicorn's default, stated: an idle kept-alive connection is closed after it
        # On SIGTERM, requests in flight get this long to finish before connections are closed.
        timeout_graceful_shutdown=graceful_shutdown,
    )
