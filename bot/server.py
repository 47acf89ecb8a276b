"""HTTP front door: every Slack request at POST /slack/events, and GET /healthz.

Signatures are checked here, once, before anything is parsed (401 on failure); malformed bodies get
a 400 before they reach a listener. The Bolt app then runs with its own check switched off.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.app import Container

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
        except ValueError:
            return "body is not JSON"
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return "JSON body has no type"
        if data["type"] == "event_callback" and not isinstance(data.get("event"), dict):
            return "event_callback without an event"
        return None
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return "payload is not JSON"
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return "payload has no type"
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return "payload has no user"
        return None
    if "command" in form:
        for key in ("user_id", "channel_id"):
            if not form.get(key, [""])[0]:
                return f"slash command without {key}"
        return None
    if "ssl_check" in form:
        return None
    return "not a Slack request"


def build_asgi(container: Container, bolt: AsyncApp, *, clock: Callable[[], float] = time.time) -> Starlette:
    settings = container.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    verifier = SignatureVerifier(secret, clock=_Clock(clock))
    handler = AsyncSlackRequestHandler(bolt)
    state: dict[str, Any] = {"ready": False}

    async def slack_events(request: Request) -> Response:
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
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        if not state["ready"]:
            return JSONResponse({"ok": False, "ready": False}, status_code=503)
        return JSONResponse({"ok": True, "version": __version__, "backend": settings.agent_backend})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await container.dispatcher.start()
        state["ready"] = True
        log.info("orch ready: version %s, backend %s", __version__, settings.agent_backend)
        try:
            yield
        finally:
            state["ready"] = False
            await container.dispatcher.stop()

    return Starlette(
        routes=[Route("/slack/events", slack_events, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])],
        lifespan=lifespan,
    )


class _Clock:
    """slack_sdk's verifier asks a Clock object for now(); we pass a function."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()
