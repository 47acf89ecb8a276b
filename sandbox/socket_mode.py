"""Socket Mode in a box: `apps.connections.open` hands out a WebSocket URL, and every delivery the
sandbox makes (commands, clicks, modal submissions, shortcuts, events) goes over that socket in
Slack's envelopes. The app acknowledges each one by its `envelope_id`, with an optional payload
(a slash command's answer, a modal's `response_action`), which Slack applies as it would an HTTP answer.

    with Sandbox(bot_token=TOKEN) as sb, SocketModeGateway(sb, app_token=APP_TOKEN) as gateway:
        ...  # start the bot with SLACK_APP_TOKEN=APP_TOKEN and SLACK_API_URL=sb.api_url
        gateway.wait_connected()
        sb.slash(U_REQ, C_DEV, "start build a thing")  # delivered over the socket

Signatures do not exist in Socket Mode (the app opened the connection with its app-level token), so
`Tamper` has no effect here. Served by uvicorn on its own port, with WebSockets switched on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandbox.api_base import Args, Ctx, method
from sandbox.delivery import Deliverer, Delivery, Tamper
from sandbox.server import ServerThread
from sandbox.state import APP_ID, ApiError, State
from sandbox.workspace import Sandbox

RETRY_NUM = "x-slack-retry-num"
RETRY_REASON = "x-slack-retry-reason"
# The WebSocket URL each sandbox's gateway serves, for `apps.connections.open`.
_URLS: weakref.WeakKeyDictionary[State, str] = weakref.WeakKeyDictionary()


@method("apps.connections.open")
def connections_open(ctx: Ctx, args: Args) -> dict[str, Any]:
    url = _URLS.get(ctx.state)
    if url is None:
        raise ApiError("socket_mode_not_enabled")  # no gateway: the app must use its request URL
    return {"ok": True, "url": f"{url}?ticket={uuid.uuid4().hex}&app_id={APP_ID}"}


@dataclass
class _Connection:
    socket: WebSocket
    loop: asyncio.AbstractEventLoop


class _WebSocketServer(ServerThread):
    def _config(self, log_level: str = "warning") -> uvicorn.Config:
        config = super()._config(log_level)
        config.ws = "websockets-sansio"
        return config


class SocketModeGateway:
    def __init__(
        self,
        sandbox: Sandbox,
        *,
        app_token: str = "xapp-1-sandbox-app-token",
        ack_timeout: float = 10.0,
        host: str = "127.0.0.1",
    ):
        self.sandbox = sandbox
        self.app_token = app_token
        self.ack_timeout = ack_timeout
        self._server = _WebSocketServer(Starlette(routes=[WebSocketRoute("/link", self._endpoint)]), host, 0)
        self._connections: list[_Connection] = []
        self._pending: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self._cond = threading.Condition()
        self._previous: Deliverer | None = None

    @property
    def url(self) -> str:
        return f"ws://{self._server.host}:{self._server.port}/link"

    def start(self) -> SocketModeGateway:
        self._server.start()
        with self.sandbox.state.lock:
            self.sandbox.state.tokens.add(self.app_token)
            _URLS[self.sandbox.state] = self.url
        previous = self.sandbox._deliverer
        self._previous = previous
        self.sandbox._deliverer = SocketDeliverer(self, previous)
        return self

    def stop(self) -> None:
        if self._previous is not None:
            self.sandbox._deliverer = self._previous
            self._previous = None
        _URLS.pop(self.sandbox.state, None)
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            future = asyncio.run_coroutine_threadsafe(conn.socket.close(), conn.loop)
            with contextlib.suppress(RuntimeError, concurrent.futures.TimeoutError, WebSocketDisconnect):
                future.result(5)  # a socket already gone needs no closing
        self._server.stop()

    def __enter__(self) -> SocketModeGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connected(self) -> int:
        with self._cond:
            return len(self._connections)

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until an app holds a connection (bounded; no sleeping)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._connections, timeout):
                raise AssertionError(f"no app connected over Socket Mode within {timeout:g}s")

    # -- the socket ---------------------------------------------------------------------------------

    async def _endpoint(self, socket: WebSocket) -> None:
        await socket.accept()
        conn = _Connection(socket, asyncio.get_running_loop())
        with self._cond:
            self._connections.append(conn)
            count = len(self._connections)
            self._cond.notify_all()
        try:
            await socket.send_text(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": count,
                        "connection_info": {"app_id": APP_ID},
                        "debug_info": {"host": "sandbox", "approximate_connection_time": 3600},
                    }
                )
            )
            while True:
                text = await socket.receive_text()
                try:
                    ack = json.loads(text)
                except ValueError:
                    continue
                with self._cond:
                    waiter = self._pending.get(str(ack.get("envelope_id"))) if isinstance(ack, dict) else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        except WebSocketDisconnect:
            pass
        finally:
            with self._cond:
                self._connections.remove(conn)
                self._cond.notify_all()

    def exchange(self, envelope: dict[str, Any]) -> dict[str, Any] | None:
        """Send one envelope to a connected app and wait for its acknowledgement (None on timeout)."""
        self.wait_connected(self.ack_timeout)
        with self._cond:
            conn = self._connections[-1]
            waiter: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
            self._pending[envelope["envelope_id"]] = waiter
        try:
            asyncio.run_coroutine_threadsafe(conn.socket.send_text(json.dumps(envelope)), conn.loop).result(
                self.ack_timeout
            )
            return waiter.result(self.ack_timeout)
        except concurrent.futures.TimeoutError:
            return None
        finally:
            with self._cond:
                self._pending.pop(envelope["envelope_id"], None)


class SocketDeliverer(Deliverer):
    """Stands in for the HTTP deliverer: the same requests, sent as Socket Mode envelopes."""

    def __init__(self, gateway: SocketModeGateway, previous: Deliverer):
        super().__init__(previous.signing_secret, previous.clock)
        self.gateway = gateway
        self.request_url = previous.request_url

    def send(
        self,
        kind: str,
        body: bytes,
        content_type: str,
        *,
        tamper: Tamper | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        sent = {"Content-Type": content_type, **(headers or {})}
        lower = {k.lower(): v for k, v in sent.items()}
        kind_of, payload = _envelope_payload(body, content_type)
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": kind_of,
            "payload": payload,
            "accepts_response_payload": kind_of in ("slash_commands", "interactive"),
        }
        if RETRY_NUM in lower:
            envelope["retry_attempt"] = int(lower[RETRY_NUM])
            envelope["retry_reason"] = lower.get(RETRY_REASON, "timeout")
        started = time.perf_counter()
        ack = self.gateway.exchange(envelope)
        answer = ack.get("payload") if ack else None
        return Delivery(
            kind=kind,
            status=200 if ack is not None else 504,  # no acknowledgement: Slack gives up on it
            body=json.dumps(answer) if answer else "",
            headers={"content-type": "application/json"},
            elapsed=time.perf_counter() - started,
            request_body=body,
            request_headers=sent,
        )


def _envelope_payload(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """What Socket Mode carries for an HTTP body: the event envelope, the interaction, or the command."""
    if "application/json" in content_type:
        data = json.loads(body)
        return ("events_api" if data.get("type") == "event_callback" else str(data.get("type"))), data
    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    if "payload" in form:
        return "interactive", json.loads(form["payload"])
    return "slash_commands", form
