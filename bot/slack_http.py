"""One kept-alive HTTP session per event loop for everything the bot sends to Slack.

slack_sdk's async clients open a new aiohttp session, and so a new TCP (and TLS) connection, for
every call unless they are given one; Bolt's `respond()` does the same for every response_url.
Under load that set-up was a tenth of the worker's CPU (py-spy, docs/BENCHMARKS.md). An aiohttp
session belongs to the event loop it was made on, and the bot runs Slack calls on two loops (the
listeners' and the outbox's), so each loop gets its own, made on first use.

A kept-alive connection the server closed while idle fails the next request on it, which for a
POST is not retried in place; connections are therefore kept only briefly (`KEEPALIVE`, below
the idle timeouts of common servers), which under load is plenty to reuse them.

Each session is closed when its loop shuts down (`asyncio.run`, uvicorn and the outbox's loop all
finalize their async generators before closing: a small generator per session closes it then),
or earlier by `close_loop_session`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientSession, ClientTimeout, TCPConnector
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

KEEPALIVE = 2.0  # seconds an idle connection is kept for the next call
RESPONSE_URL_TIMEOUT = 30.0  # slack_sdk's default for webhooks

# id(loop) -> (loop, its session, the generator that closes the session when the loop shuts down)
_sessions: dict[int, tuple[asyncio.AbstractEventLoop, ClientSession, AsyncIterator[None]]] = {}


async def loop_session() -> ClientSession:
    """The running loop's session (made on first use, or again after it was closed)."""
    loop = asyncio.get_running_loop()
    found = _sessions.get(id(loop))
    if found is not None and found[0] is loop and not found[1].closed:
        return found[1]
    session = ClientSession(
        connector=TCPConnector(keepalive_timeout=KEEPALIVE),
        timeout=ClientTimeout(total=RESPONSE_URL_TIMEOUT),
    )
    keeper = _closed_at_shutdown(loop, session)
    await keeper.__anext__()  # started, so the loop finalizes it (and closes the session) at shutdown
    _sessions[id(loop)] = (loop, session, keeper)
    return session


async def _closed_at_shutdown(loop: asyncio.AbstractEventLoop, session: ClientSession) -> AsyncIterator[None]:
    try:
        yield
    finally:
        found = _sessions.get(id(loop))
        if found is not None and found[1] is session:
            del _sessions[id(loop)]
        await session.close()


async def close_loop_session() -> None:
    """Close the running loop's session, if it has one (a loop's owner calls this before it ends)."""
    loop = asyncio.get_running_loop()
    found = _sessions.get(id(loop))
    if found is not None and found[0] is loop:
        del _sessions[id(loop)]
        await found[1].close()


class SharedRespond(AsyncRespond):
    """Bolt's `respond()` over the loop's kept-alive session instead of a new one per answer
    (the same message as Bolt builds: `text` is a string with keyword options, or a whole dict)."""

    async def __call__(self, text: str | dict[str, Any] = "", **options: Any) -> WebhookResponse:  # type: ignore[override]
        if self.response_url is None:
            return await super().__call__(text, **options)
        message = _build_message(**text) if isinstance(text, dict) else _build_message(text=text, **options)
        client = AsyncWebhookClient(
            url=self.response_url, proxy=self.proxy, ssl=self.ssl, session=await loop_session()
        )
        return await client.send_dict(message)
