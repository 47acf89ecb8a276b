"""Every error shape the Web API produces reaches the outbox as one kind of failure, over real HTTP.

An HTML 500 page, a plain-text or bare-JSON-string body, `ok:false` bodies, a 429 with Retry-After,
a call that is never answered, a refused connection: each is a SlackApiError or a timeout or a
connection error, classified as transient or permanent, and never `AttributeError: 'str' object
has no attribute 'get'` from the error path itself.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from slack_sdk.errors import SlackApiError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.effects.retry import classify, is_timeout
from bot.slack_guard import GuardedWebClient
from sandbox.server import ServerThread


@dataclass
class Scripted:
    answer: tuple[int, str, str, dict[str, str]] = (200, "application/json", '{"ok": true, "ts": "1.2"}', {})
    hang: bool = False
    released: threading.Event = field(default_factory=threading.Event)
    calls: int = 0

    async def api(self, request: Request) -> Response:
        self.calls += 1
        if self.hang:
            await run_in_threadpool(self.released.wait, 30)
        status, content_type, body, headers = self.answer
        return Response(body, status_code=status, media_type=content_type, headers=headers)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[Scripted, str]]:
    scripted = Scripted()
    server = ServerThread(Starlette(routes=[Route("/api/{method}", scripted.api, methods=["POST"])])).start()
    try:
        yield scripted, f"{server.base_url}/api/"
    finally:
        scripted.released.set()
        server.stop()


def _post(base_url: str, timeout: float = 5) -> BaseException | None:
    async def call() -> BaseException | None:
        client = GuardedWebClient(token="xoxb-test", base_url=base_url, timeout=timeout)  # type: ignore[arg-type]
        try:
            await client.chat_postMessage(channel="C1", text="hello")
        except Exception as exc:  # the shape under test
            return exc
        return None

    return asyncio.run(call())


@pytest.mark.parametrize(
    ("answer", "verdict", "says", "wait"),
    [
        (
            (500, "text/html", "<html><h1>500 Internal Server Error</h1></html>", {}),
            "transient",
            "HTTP 500",
            None,
        ),
        (
            (502, "application/json", '{"ok": false, "error": "fatal_error"}', {}),
            "transient",
            "fatal_error",
            None,
        ),
        ((503, "text/plain", "upstream connect error", {}), "transient", "HTTP 503", None),
        (
            (200, "application/json", '{"ok": false, "error": "internal_error"}', {}),
            "transient",
            "internal_error",
            None,
        ),
        ((200, "text/plain", "oops", {}), "transient", "invalid_response", None),
        ((200, "application/json", '"just a string"', {}), "transient", "invalid_response", None),
        ((200, "application/json", "[1, 2]", {}), "transient", "invalid_response", None),
        ((200, "application/json", "{not json", {}), "transient", "invalid_response", None),
        ((200, "application/json", "{}", {}), "transient", "HTTP 200", None),
        (
            (429, "application/json", '{"ok": false, "error": "ratelimited"}', {"Retry-After": "30"}),
            "transient",
            "ratelimited",
            30.0,
        ),
        (
            (200, "application/json", '{"ok": false, "error": "channel_not_found"}', {}),
            "permanent",
            "channel_not_found",
            None,
        ),
        (
            (200, "application/json", '{"ok": false, "error": "invalid_auth"}', {}),
            "permanent",
            "invalid_auth",
            None,
        ),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) and isinstance(v[0], int) else None,
)
def test_each_answer_is_a_slack_api_error_with_a_readable_classification(
    fake: tuple[Scripted, str],
    answer: tuple[int, str, str, dict[str, str]],
    verdict: str,
    says: str,
    wait: float | None,
) -> None:
    scripted, base_url = fake
    scripted.answer, scripted.hang = answer, False
    error = _post(base_url)
    assert isinstance(error, SlackApiError), repr(error)
    failure = classify(error)
    assert (failure.verdict, failure.retry_after) == (verdict, wait)
    assert says in failure.reason


def test_a_call_never_answered_times_out_and_is_not_repeated_in_place(fake: tuple[Scripted, str]) -> None:
    scripted, base_url = fake
    scripted.hang, scripted.calls = True, 0
    scripted.released.clear()
    try:
        error = _post(base_url, timeout=0.3)
    finally:
        scripted.released.set()
    assert error is not None and is_timeout(error), repr(error)
    assert classify(error).verdict == "transient"
    # Slack may have carried it out: the outbox looks for it before sending it again.
    assert scripted.calls == 1


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = _post(f"http://127.0.0.1:{port}/api/")
    assert error is not None and not isinstance(error, SlackApiError | AttributeError)
    failure = classify(error)
    assert failure.verdict == "transient" and "could not connect" in failure.reason
