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
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.app import Container
from bot.background import LoopThread
from bot.logging import bind_log_context, log_context
from bot.slack_shape import command_error, event_error, interaction_error
from bot.tracing import set_attributes, span

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000


def _shape_error(body: bytes, content_type: str) -> str | None:
    """Why this body cannot be a Slack request, or None when it can."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if "application/json" in content_type:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # nesting deep enough to exhaust the parser is not JSON we take
            return "body is not JSON"
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return "JSON body has no type"
        if data["type"] == "event_callback" and not isinstance(data.get("event"), dict):
            return "event_callback without an event"
        return event_error(data)  # every field Bolt and the listeners read has the type they expect
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except (ValueError, RecursionError):
            return "payload is not JSON"
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return "payload has no type"
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return "payload has no user"
        return interaction_error(payload)
    if "command" in form:
        return command_error(form)
    if "ssl_check" in form:
        return None
    return "not a Slack request"


def _request_facts(body: bytes, content_type: str) -> tuple[str, str | None]:
    """(kind, user id) of a well-formed Slack request, for its log context and span."""
    text = body.decode("utf-8")
    if "application/json" in content_type:
        data = json.loads(text)
        event = data.get("event") if isinstance(data.get("event"), dict) else {}
        user = event.get("user")
        return f"{data['type']}:{event.get('type')}" if event else str(data["type"]), (
            user if isinstance(user, str) else None
        )
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        payload = json.loads(form["payload"][0])
        return str(payload["type"]), str(payload["user"]["id"])
    if "command" in form:
        return "command", form.get("user_id", [""])[0] or None
    return "other", None


def build_asgi(container: Container, bolt: AsyncApp, *, clock: Callable[[], float] = time.time) -> Starlette:
    settings = container.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    verifier = SignatureVerifier(secret, clock=_Clock(clock))
    handler = AsyncSlackRequestHandler(bolt)
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
        problem = _shape_error(body, request.headers.get("content-type", ""))
        if problem:
            return JSONResponse({"error": f"malformed request: {problem}"}, status_code=400)
        kind, actor = _request_facts(body, request.headers.get("content-type", ""))
        bind_log_context(actor=actor)
        set_attributes(current, **{"slack.kind": kind, "slack.user": actor})
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        if not state["ready"]:
            return JSONResponse({"ok": False, "ready": False}, status_code=503)
        return JSONResponse({"ok": True, "version": __version__, "backend": settings.agent_backend})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Effects run on their own loop: their blocking database waits must not delay acks.
        background = LoopThread("orch-effects").start()
        await background.run(container.dispatcher.start())
        jobs = container.extras.get("jobs")
        if jobs is not None:  # agent job workers and, in the leading process, the scheduler
            await background.run(jobs.start())
        # What is built by now lives as long as the process: take it out of the collector's view,
        # so a full collection under load scans request objects only (the bench saw 50-120 ms
        # gen-2 pauses on the request loop without this).
        gc.freeze()
        state["ready"] = True
        log.info("orch started: version %s, backend %s", __version__, settings.agent_backend)
        try:
            yield
        finally:
            state["ready"] = False
            if jobs is not None:
                await background.run(jobs.stop())
            await background.run(container.dispatcher.stop())
            background.stop()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


class _Clock(Clock):
    """slack_sdk's verifier asks a Clock object for now(); we pass a function."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()
