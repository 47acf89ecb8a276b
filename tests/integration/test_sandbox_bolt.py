"""A real Bolt AsyncApp, served over HTTP, talks to the sandbox as it would to Slack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import C_DEV, U_APP1, U_REQ, Sandbox
from sandbox.server import ServerThread

SECRET = "bolt-test-secret"
TOKEN = "xoxb-bolt-test"

REASON_MODAL = {
    "type": "modal",
    "callback_id": "approve_modal",
    "title": {"type": "plain_text", "text": "Approve"},
    "submit": {"type": "plain_text", "text": "Approve"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "optional": True,
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}


def build_app(api_url: str) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url), signing_secret=SECRET)

    @app.command("/orch")
    async def start(ack, command, client) -> None:
        await ack("Starting your goal…")
        parent = await client.chat_postMessage(channel=command["channel_id"], text=f"Goal: {command['text']}")
        await client.chat_postMessage(
            channel=command["channel_id"],
            thread_ts=parent["ts"],
            text="PRD ready",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": "*PRD* ready for review"}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve",
                            "value": "prd-v1",
                            "text": {"type": "plain_text", "text": "Approve"},
                        },
                    ],
                },
            ],
        )

    @app.action("approve")
    async def approve(ack, body, client) -> None:
        await ack()
        meta = f"{body['container']['channel_id']}|{body['container']['thread_ts']}"
        await client.views_open(
            trigger_id=body["trigger_id"], view={**REASON_MODAL, "private_metadata": meta}
        )

    @app.view("approve_modal")
    async def submitted(ack, view, body, client) -> None:
        reason = view["state"]["values"]["reason"]["text"]["value"]
        if not reason:
            await ack(response_action="errors", errors={"reason": "Please give a reason"})
            return
        await ack()
        channel, thread_ts = view["private_metadata"].split("|")
        await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=f"Approved by <@{body['user']['id']}>: {reason}"
        )

    return app


@pytest.fixture
def bolt_and_sandbox() -> Iterator[Sandbox]:
    with Sandbox(signing_secret=SECRET, bot_token=TOKEN) as sb:
        handler = AsyncSlackRequestHandler(build_app(sb.api_url))

        async def events(request: Request) -> Response:
            return await handler.handle(request)

        bot = ServerThread(Starlette(routes=[Route("/slack/events", events, methods=["POST"])])).start()
        sb.request_url = bot.base_url + "/slack/events"
        try:
            yield sb
        finally:
            bot.stop()


def test_a_slash_command_leads_through_a_button_and_a_modal_to_an_approval(bolt_and_sandbox: Sandbox) -> None:
    sb = bolt_and_sandbox

    started = sb.slash(U_REQ, C_DEV, "build a thing")
    assert started.status == 200
    assert started.outcome == "ephemeral"
    assert sb.ephemerals(U_REQ, C_DEV)[-1].text == "Starting your goal…"

    prd = sb.wait_for_message(C_DEV, button="Approve")
    assert prd.is_reply
    assert "Goal: build a thing" in sb.transcript(C_DEV)

    clicked = sb.click(U_APP1, prd, "Approve")
    assert clicked.status == 200
    modal = sb.wait_for_view(U_APP1, callback_id="approve_modal")
    assert modal.inputs == ["Reason"]

    refused = sb.submit_view(U_APP1, {"Reason": ""})
    assert refused.outcome == "errors"
    assert sb.open_view(U_APP1).errors == {"reason": "Please give a reason"}

    accepted = sb.submit_view(U_APP1, {"Reason": "looks right"})
    assert accepted.outcome == "closed"
    assert sb.open_view(U_APP1) is None
    done = sb.wait_for_message(C_DEV, prd.thread_ts, text_contains="Approved by")
    assert done.text == "Approved by <@U_APP1>: looks right"
    assert "@avery: looks right" in sb.transcript(C_DEV, prd.thread_ts)
    assert [c.method for c in sb.calls() if not c.ok] == []
