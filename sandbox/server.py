"""Serve an ASGI app with uvicorn on a background thread, on a port the OS picks if asked.

Used for the sandbox itself and, in tests, for the Bolt app on the other side. The socket is
bound before the thread starts, so the port is known at once and early requests simply queue.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event):
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()


class ServerThread:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _bind(self) -> socket.socket:
        # proto must say TCP: asyncio only turns Nagle off (TCP_NODELAY) on sockets that do, and
        # without it every JSON answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        return sock

    def _config(self, log_level: str = "warning") -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            log_config=None,  # Leave the host's logging alone (pytest captures it).
            log_level=log_level,
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
            timeout_graceful_shutdown=2,
        )

    def start(self, timeout: float = 10.0) -> ServerThread:
        sock = self._sock = self._bind()
        ready = threading.Event()
        server = self._server = _Server(self._config(), ready)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name=f"uvicorn:{self.port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout) or not server.started:
            self.stop()
            raise RuntimeError(f"server on {self.base_url} did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def run_foreground(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve on the calling (main) thread, so uvicorn handles Ctrl-C and SIGTERM itself.

        `on_ready` runs once the socket listens (the port is known), before serving starts.
        """
        sock = self._bind()
        if on_ready is not None:
            on_ready()
        try:
            uvicorn.Server(self._config(log_level="info")).run(sockets=[sock])
        finally:
            sock.close()
