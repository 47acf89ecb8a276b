"""What we accept from Slack's Web API: a short rate-limit wait, and message timestamps that are timestamps.

slack_sdk's rate-limit retry handler sleeps for whatever Retry-After says, inside the call. In the
outbox that holds every other effect for as long as the header asks (an hour, if a proxy says so).
Here a wait longer than `MAX_WAIT` seconds, or a header that is not a number, is not retried in
place: the call fails with `ratelimited`, and the outbox retries that one effect later on its own.

An answer that is not a JSON object (an HTML error page, plain text, a bare JSON string) made
slack_sdk's own check fail with `AttributeError: 'str' object has no attribute 'get'`, and a body
that is not JSON at all raised a SlackApiError whose `response` is the raw HTTP response.
`GuardedWebClient` turns both into an ordinary SlackApiError with an `{"ok": false, "error": ...}`
body and the HTTP status and headers (Retry-After among them), so every failure has one shape.

A `ts` is the id of a message: we store it and edit the message by it later. An answer whose `ts`
is not `digits.digits` is refused rather than stored, so the effect retries instead of keeping junk.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientConnectorError, ClientTimeout
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_internal_utils import _request_with_session
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack_http import loop_session

MAX_WAIT = 5.0
TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def retry_after(response: HttpResponse | None) -> float | None:
    """The Retry-After seconds of a response, or None when absent or not a plain number."""
    if response is None:
        return None
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list | tuple) and values else values
            try:
                return float(str(value).strip())
            except ValueError:
                return None
    return None


def _short_wait(response: HttpResponse | None) -> bool:
    wait = retry_after(response)
    return response is not None and response.status_code == 429 and wait is not None and 0 <= wait <= MAX_WAIT


class ShortRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Retry a 429 in place only when Slack asks for a short wait (the async client's handler)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return _short_wait(response)


class ShortRateLimitRetrySync(RateLimitErrorRetryHandler):
    """The same for the blocking client (user group lookups)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return _short_wait(response)


def message_ts(answer: Any) -> str:
    """The `ts` of a posted or found message; ValueError when Slack's answer has none that is valid."""
    try:
        ts = answer["ts"]
    except (KeyError, TypeError, IndexError):
        ts = None
    if not isinstance(ts, str) or not TS.match(ts):
        raise ValueError(f"Slack answered without a valid message ts ({str(ts)[:40]!r})")
    return ts


def _unreadable(status: int) -> dict[str, Any]:
    """The body of an answer we could not read: an HTTP error speaks for itself by its status."""
    return {"ok": False} if status != 200 else {"ok": False, "error": "invalid_response"}


class GuardedWebClient(AsyncWebClient):
    """The async Web API client, with every answer that is not a JSON object made a plain failure.

    slack_sdk's default handler retries a call in place after a read timeout or a dropped
    connection, when Slack may already have carried it out: a `chat.postMessage` answered late
    was posted twice. Here only a connection that was never made is retried in place; the
    outbox retries the rest after looking for what landed (`SlackEffects.find_marker`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_handlers = [AsyncConnectionErrorRetryHandler(error_types=[ClientConnectorError])]

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> dict[str, Any]:
        # Over the loop's kept-alive session (bot.slack_http) unless the client was given one;
        # the client's timeout then goes with each request instead of with a session of its own.
        if self.session is None:
            req_args = {**req_args, "timeout": ClientTimeout(total=self.timeout)}
        try:
            answer: dict[str, Any] = await _request_with_session(
                current_session=self.session or await loop_session(),
                timeout=self.timeout,
                logger=self._logger,
                http_verb=http_verb,
                api_url=api_url,
                req_args=req_args,
                retry_handlers=self.retry_handlers,
            )
        except SlackApiError as exc:
            raw = exc.response
            if isinstance(raw, AsyncSlackResponse) or raw is None:
                raise
            # A body that was not JSON: slack_sdk attached the raw aiohttp response.
            status = int(getattr(raw, "status", 0) or 0)
            headers = dict(getattr(raw, "headers", None) or {})
            answer = {"data": _unreadable(status), "headers": headers, "status_code": status}
            return answer
        data = answer.get("data")
        if not isinstance(data, dict | bytes):
            status = int(answer.get("status_code") or 0)
            answer = {**answer, "data": _unreadable(status)}
        return answer
