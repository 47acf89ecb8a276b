"""Slack calls of one event loop share one kept-alive session, closed when the loop shuts down."""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import ClientSession

from bot.local.stack import SANDBOX_BOT_TOKEN
from bot.slack_guard import GuardedWebClient
from bot.slack_http import SharedRespond, loop_session
from sandbox import Sandbox


def _open_connections(session: ClientSession) -> int:
    connector = session.connector
    assert connector is not None
    return sum(len(kept) for kept in connector._conns.values())  # type: ignore[attr-defined]


def test_calls_on_one_loop_reuse_one_connection_and_the_session_closes_with_the_loop() -> None:
    with Sandbox(signing_secret=secrets.token_hex(16), bot_token=SANDBOX_BOT_TOKEN) as sb:

        async def calls() -> tuple[ClientSession, ClientSession, int]:
            client = GuardedWebClient(token=SANDBOX_BOT_TOKEN, base_url=sb.api_url)
            for _ in range(5):
                answer = await client.auth_test()
                assert answer["ok"]
            first = await loop_session()
            await SharedRespond(response_url=sb.api_url.removesuffix("/api/") + "/response/test")(
                text="later", response_type="ephemeral"
            )
            return first, await loop_session(), _open_connections(first)

        first, again, kept = asyncio.run(calls())
        other, _, _ = asyncio.run(calls())

    assert first is again  # the client and respond() used the loop's one session
    assert kept == 1  # five calls and an answer one after the other: one connection, kept alive
    assert first.closed and other.closed  # each closed when its loop shut down
    assert other is not first  # a new loop, a new session
