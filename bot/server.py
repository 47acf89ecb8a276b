"""HTTP front door: every Slack request at POST /slack/events, and GET /healthz.

Signatures are checked here, once, before anything is parsed (401 on failure); malformed bodies get
a 400 before they reach a listener. The Bolt app then runs with its own check switched off.
"""

from __future__ import annotations

import gc
import json
import logging
import random
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
from bot.background import background_work
from bot.bolt_runner import Role
from bot.forge.webhook import github_routes
from bot.logging import bind_log_context, log_context
from bot.slack_shape import command_error, event_error, interaction_error
from bot.tracing import set_attributes, span

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class Inspected:
    """What the front door learned from one parse of a body."""

    problem: str | None  # why it cannot be a Slack request, or None
    kind: str = "other"
    actor: str | None = None
    text: str = ""
    payload: dict[str, Any] | None = None  # the body as Bolt parses it (`parse_body`), for Bolt to reuse


def _inspect(body: bytes, content_type: str) -> Inspected:
    """Check a body's shape and learn its kind and user, parsing it once."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Inspected("body is not UTF-8")
    if "application/json" in content_type:
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
    container: Container, bolt: AsyncApp, *, clock: Callable[[], float] = time.time, role: Role = "all"
) -> Starlette:
    """The ASGI app. With `role="web"` the effects and jobs are left to `orch worker` (bot.worker)."""
    settings = container.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    verifier = SignatureVerifier(secret, clock=_Clock(clock))
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
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return JSONResponse({"error": "malformed request: body is not UTF-8"}, status_code=400)
        if not verifier.is_valid_request(body, dict(request.headers)):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        seen = _inspect(body, request.headers.get("content-type", ""))
        if seen.problem or seen.payload is None:
            return JSONResponse({"error": f"malformed request: {seen.problem}"}, status_code=400)
        kind, actor = seen.kind, seen.actor
        bind_log_context(actor=actor)
        set_attributes(current, **{"slack.kind": kind, "slack.user": actor})
        return to_starlette_response(await bolt.async_dispatch(_bolt_request(request, seen)))

    async def healthz(_request: Request) -> Response:
        if not state["ready"]:
            return JSONResponse({"ok": False, "ready": False}, status_code=503)
        return JSONResponse({"ok": True, "version": __version__, "backend": settings.agent_backend})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Effects and jobs run on their own loop (their blocking database waits must not delay
        # acks), or, for a web process, in `orch worker`.
        async with AsyncExitStack() as stack:
            if role != "web":
                await stack.enter_async_context(background_work(container))
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
