"""HTTP front door: every Slack request at POST /slack/events, and GET /healthz.

Before anything is parsed: a content type Slack never sends is a 415, a declared body over 1 MB a
413 (before a byte of it is read), a body slower than the deadline a 408, and a bad signature or a
timestamp that is not whole seconds a 401. Malformed bodies get a 400 before they reach a listener,
and a command or interaction body seen before is a replay that runs once (storage.replay). The Bolt
app then runs with its own signature check switched off. The headers' deadline is the server's
(bot.web.http_server).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.app import Container
from bot.forge.webhook import github_routes
from bot.observability.logging import bind_log_context, log_context
from bot.observability.tracing import set_attributes, span
from bot.web.background import background_work
from bot.web.bolt_runner import PromptAckRunner, Role
from bot.web.slack_shape import command_error, event_error, interaction_error
from storage.replay import SeenRequests

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000
FORM = "application/x-www-form-urlencoded"  # slash commands and interactions
JSON = "application/json"  # the Events API
ACCEPTED_TYPES = (FORM, JSON)
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
LENGTH = re.compile(r"^[0-9]{1,18}$")


class _TooLarge(Exception):
    """A body without a declared length grew past MAX_BODY while it was read."""


def _media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


async def _read_body(request: Request, timeout: float) -> bytes:
    """The body, read within `timeout` seconds and at most MAX_BODY bytes (a slow or endless
    sender is cut off, whatever it declared)."""
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(timeout):
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise _TooLarge
            chunks.append(chunk)
    return b"".join(chunks)


def _closing(content: dict[str, str], status: int) -> Response:
    """An answer after which the connection is closed (the rest of the body is never read)."""
    return JSONResponse(content, status_code=status, headers={"Connection": "close"})


@dataclass(frozen=True)
class Inspected:
    """What the front door learned from one parse of a body."""

    problem: str | None  # why it cannot be a Slack request, or None
    kind: str = "other"
    actor: str | None = None
    text: str = ""
    payload: dict[str, Any] | None = None  # the body as Bolt parses it (`parse_body`), for Bolt to reuse


def _inspect(body: bytes, content_type: str) -> Inspected:
    """Check a body's shape and learn its kind and user, parsing it once (`content_type` is the
    media type alone, one of ACCEPTED_TYPES)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Inspected("body is not UTF-8")
    if content_type == JSON:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # nesting deep enough to exhaust the parser is not JSON we take
            return Inspected("body is not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return Inspected("JSON body has no type")
        if data["type"] == "event_callback" and not isinstance(data.get("event"), dict):
            return Inspected("event_callback without an event")
        problem = event_error(data)  # every field Bolt and the listeners read has the type they expect
        found = data.get("event")
        event: dict[str, Any] = found if isinstance(found, dict) else {}
        user = event.get("user")
        kind = f"{data['type']}:{event.get('type')}" if event else str(data["type"])
        return Inspected(problem, kind, user if isinstance(user, str) else None, text, data)
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][-1])
        except (ValueError, RecursionError):
            return Inspected("payload is not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return Inspected("payload has no type")
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return Inspected("payload has no user")
        return Inspected(interaction_error(payload), str(payload["type"]), str(user["id"]), text, payload)
    flat = {key: values[-1] for key, values in form.items()}  # as Bolt reads a form: the last value wins
    if "command" in form:
        return Inspected(command_error(form), "command", form.get("user_id", [""])[0] or None, text, flat)
    if "ssl_check" in form:
        return Inspected(None, "other", None, text, flat)
    return Inspected("not a Slack request")


def _bolt_request(request: Request, seen: Inspected) -> AsyncBoltRequest:
    """The request as Bolt's Starlette adapter builds it, reusing the front door's parse of the body."""
    assert seen.payload is not None
    # A dict body is taken as it is only in Socket Mode; the mode is HTTP again right after.
    bolt_request = AsyncBoltRequest(
        body=seen.payload,
        query=request.query_params,  # type: ignore[arg-type]
        headers=request.headers,  # type: ignore[arg-type]
        mode="socket_mode",
    )
    bolt_request.mode = "http"
    bolt_request.raw_body = seen.text
    return bolt_request


def build_asgi(
    container: Container,
    bolt: AsyncApp,
    *,
    clock: Callable[[], float] = time.time,
    role: Role = "all",
    shutdown_grace: float = 0.0,
) -> Starlette:
    """The ASGI app. With `role="web"` the effects and jobs are left to `orch worker` (bot.web.inbox_worker).

    `shutdown_grace`: at shutdown, the seconds running jobs and effects get to finish."""
    settings = container.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    verifier = SignatureVerifier(secret, clock=_Clock(clock))
    seen_requests = SeenRequests.open(settings.database_url, container.engine)
    state: dict[str, Any] = {"ready": False}

    async def slack_events(request: Request) -> Response:
        # One span and one log context per Slack request; the listener task inherits both.
        # A request id needs to be unique, not secret: uuid4 reads os.urandom, a syscall that drops
        # the GIL, and under load the loop then waited for the worker threads (py-spy: 14% of the
        # loop's own time at 20 clients was spent getting back into uuid4).
        request_id = f"{random.getrandbits(64):016x}"
        with span("slack.request") as current, log_context(request_id=request_id):
            response = await _slack_events(request, current)
            set_attributes(current, **{"http.response.status_code": response.status_code})
            return response

    async def _slack_events(request: Request, current: Any) -> Response:
        media = _media_type(request.headers.get("content-type", ""))
        if media not in ACCEPTED_TYPES:
            return JSONResponse({"error": "unsupported content type"}, status_code=415)
        declared = request.headers.get("content-length")
        if declared is not None:
            # Refused before a byte of the body is read; the connection goes with the answer.
            if not LENGTH.match(declared):
                return _closing({"error": "bad Content-Length"}, 400)
            if int(declared) > MAX_BODY:
                return _closing({"error": "request too large"}, 413)
        try:
            body = await _read_body(request, settings.http_body_timeout)
        except _TooLarge:
            return _closing({"error": "request too large"}, 413)
        except TimeoutError:
            return _closing({"error": "the request body took too long"}, 408)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return JSONResponse({"error": "malformed request: body is not UTF-8"}, status_code=400)
        # slack_sdk reads the timestamp with int(): anything but plain digits would raise, not refuse.
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        if not TIMESTAMP.match(timestamp) or not verifier.is_valid_request(body, dict(request.headers)):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        seen = _inspect(body, media)
        if seen.problem or seen.payload is None:
            return JSONResponse({"error": f"malformed request: {seen.problem}"}, status_code=400)
        # Slack never retries commands or interactions (events are retried, and deduplicated by
        # their event_id): the same body twice is a replay, and only the first one runs.
        if media == FORM and not await asyncio.to_thread(seen_requests.first_time, body):
            log.warning("refused a replayed %s from %s", seen.kind, seen.actor)
            if seen.kind == "command":
                return JSONResponse({"error": "replayed request"}, status_code=401)
            return Response(status_code=200)
        kind, actor = seen.kind, seen.actor
        bind_log_context(actor=actor)
        set_attributes(current, **{"slack.kind": kind, "slack.user": actor})
        return to_starlette_response(await bolt.async_dispatch(_bolt_request(request, seen)))

    async def healthz(_request: Request) -> Response:
        if not state["ready"]:
            return JSONResponse({"ok": False, "ready": False}, status_code=503)
        health = container.health
        if health is not None and not health.healthy:
            await asyncio.to_thread(health.recheck)  # a probe write: is there room again?
        if health is not None and not health.healthy:
            # Requests arriving now could not be kept: a load balancer should send them elsewhere.
            return JSONResponse({"ok": False, "ready": True, "problems": health.problems()}, status_code=503)
        return JSONResponse({"ok": True, "version": __version__, "backend": settings.agent_backend})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Effects and jobs run on their own loop (their blocking database waits must not delay
        # acks), or, for a web process, in `orch worker`.
        async with AsyncExitStack() as stack:
            if role != "web":
                await stack.enter_async_context(background_work(container, grace=shutdown_grace))
            # What is built by now lives as long as the process: take it out of the collector's
            # view, so a full collection under load scans request objects only (the bench saw
            # 50-120 ms gen-2 pauses on the request loop without this).
            gc.freeze()
            state["ready"] = True
            log.info(
                "orch started: version %s, backend %s, role %s", __version__, settings.agent_backend, role
            )
            try:
                yield
            finally:
                state["ready"] = False
                # Requests already answered may still be running their service call: let them end.
                runner = getattr(bolt, "_async_listener_runner", None)
                if shutdown_grace > 0 and isinstance(runner, PromptAckRunner):
                    late = await runner.finish(shutdown_grace)
                    if late:
                        log.warning("%d request(s) still running after the grace period", late)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *github_routes(container),  # POST /github/events (bot.forge.webhook)
        ],
        lifespan=lifespan,
    )


class _Clock(Clock):
    """slack_sdk's verifier asks a Clock object for now(); we pass a function."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()
