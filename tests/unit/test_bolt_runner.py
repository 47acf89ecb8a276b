"""The listener runner answers Slack when `ack()` is called, and the listener keeps working after."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.web.bolt_runner import PromptAckRunner


async def _authorize(**_: Any) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="UBOT", bot_id="B1"
    )


def app_with_runner() -> AsyncApp:
    app = AsyncApp(signing_secret="unused", request_verification_enabled=False, authorize=_authorize)
    app._async_listener_runner = PromptAckRunner.replacing(app.listener_runner)
    return app


def command(text: str) -> AsyncBoltRequest:
    body = urllib.parse.urlencode(
        {
            "command": "/orch",
            "text": text,
            "user_id": "U1",
            "channel_id": "C1",
            "team_id": "T1",
            "trigger_id": "1.2",
        }
    )
    return AsyncBoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def test_the_answer_goes_out_at_ack_while_the_listener_keeps_working() -> None:
    async def scenario() -> None:
        app = app_with_runner()
        release, finished = asyncio.Event(), asyncio.Event()

        @app.command("/orch")
        async def orch(ack: Any) -> None:
            await ack("on it")
            await release.wait()  # work after the ack: the answer must not wait for it
            finished.set()

        response = await asyncio.wait_for(app.async_dispatch(command("start x")), 2)
        assert (response.status, response.body) == (200, "on it")
        assert not finished.is_set()
        release.set()
        await asyncio.wait_for(finished.wait(), 2)

    asyncio.run(scenario())


def test_a_listener_that_fails_before_its_ack_is_answered_with_a_500() -> None:
    async def scenario() -> None:
        app = app_with_runner()

        @app.command("/orch")
        async def orch(ack: Any) -> None:
            raise RuntimeError("broken before the ack")

        response = await asyncio.wait_for(app.async_dispatch(command("start x")), 2)
        assert response.status == 500

    asyncio.run(scenario())


def test_a_listener_that_ends_without_ack_is_not_waited_on_for_seconds() -> None:
    async def scenario() -> None:
        app = app_with_runner()

        @app.command("/orch")
        async def orch(ack: Any) -> None:
            return None  # forgot to ack: Bolt's own runner would poll for 3 s first

        response = await asyncio.wait_for(app.async_dispatch(command("start x")), 1)
        assert response.status == 404  # Bolt's answer for a request no listener acknowledged

    asyncio.run(scenario())


def test_events_are_acknowledged_before_their_listener_runs() -> None:
    async def scenario() -> None:
        app = app_with_runner()
        release, finished = asyncio.Event(), asyncio.Event()

        @app.event("app_mention")
        async def mentioned(event: dict[str, Any]) -> None:
            await release.wait()
            finished.set()

        body = (
            '{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"Ev1","event":'
            '{"type":"app_mention","user":"U1","text":"<@UBOT> hi","channel":"C1","ts":"1.2"}}'
        )
        request = AsyncBoltRequest(body=body, headers={"content-type": ["application/json"]})
        response = await asyncio.wait_for(app.async_dispatch(request), 2)
        assert response.status == 200 and not finished.is_set()
        release.set()
        await asyncio.wait_for(finished.wait(), 2)

    asyncio.run(scenario())
