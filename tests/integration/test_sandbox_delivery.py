"""Deliveries to a bot: Slack's signatures, payload shapes, and what Slack does with the answers.

The bot here is a stand-in that records each request and answers as a test tells it to.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import (
    C_DEV,
    C_GENERAL,
    U_APP1,
    U_OUT,
    U_REQ,
    DeliveryError,
    ManualClock,
    Sandbox,
    Tamper,
)
from sandbox.server import ServerThread

# One client for the module: a new httpx.Client per request costs ~30 ms of TLS setup.
HTTP = httpx.Client()


@pytest.fixture(scope="module", autouse=True)
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


SECRET = "delivery-test-secret"
BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Review"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "v1",
                "text": {"type": "plain_text", "text": "Approve"},
            },
        ],
    },
]
MODAL = {
    "type": "modal",
    "callback_id": "why",
    "title": {"type": "plain_text", "text": "Why"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        },
        {
            "type": "input",
            "block_id": "level",
            "label": {"type": "plain_text", "text": "Level"},
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "options": [
                    {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
                    {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
                ],
            },
        },
        {
            "type": "actions",
            "elements": [
                {"type": "button", "action_id": "more", "text": {"type": "plain_text", "text": "More"}}
            ],
        },
    ],
}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.form["payload"])

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class FakeBot:
    """Records each request; `answer` decides the response (it may call the sandbox first)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer: Callable[[Received], Response] = lambda _: Response(status_code=200)
        self.server = ServerThread(Starlette(routes=[Route("/slack/events", self._handle, methods=["POST"])]))

    async def _handle(self, request: Request) -> Response:
        got = Received(dict(request.headers), await request.body())
        self.received.append(got)
        return await run_in_threadpool(self.answer, got)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Sandbox, FakeBot]]:
    bot = FakeBot()
    bot.server.start()
    with Sandbox(signing_secret=SECRET) as sb:
        sb.request_url = bot.server.base_url + "/slack/events"
        yield sb, bot
    bot.server.stop()


@pytest.fixture
def sb(servers: tuple[Sandbox, FakeBot]) -> Sandbox:
    sandbox, bot = servers
    sandbox.reset()
    sandbox.clock = ManualClock()
    bot.received.clear()
    bot.answer = lambda _: Response(status_code=200)
    return sandbox


@pytest.fixture
def bot(servers: tuple[Sandbox, FakeBot], sb: Sandbox) -> FakeBot:
    return servers[1]


def api(sb: Sandbox, method: str, **body: Any) -> dict[str, Any]:
    answer = HTTP.post(sb.api_url + method, headers={"Authorization": f"Bearer {sb.bot_token}"}, json=body)
    return answer.json()


def verify(sb: Sandbox, got: Received) -> bool:
    verifier = SignatureVerifier(SECRET, clock=_Clock(sb))
    return verifier.is_valid_request(got.body, got.headers)


class _Clock:
    def __init__(self, sb: Sandbox):
        self.sb = sb

    def now(self) -> float:
        return self.sb.clock()


# -- signing ---------------------------------------------------------------------------------------


def test_deliveries_are_signed_like_slack(sb: Sandbox, bot: FakeBot) -> None:
    sb.slash(U_REQ, C_DEV, "start")
    got = bot.received[-1]
    assert verify(sb, got)
    assert got.headers["x-slack-request-timestamp"] == str(int(sb.clock()))


@pytest.mark.parametrize(
    "tamper",
    [Tamper(secret="not-the-secret"), Tamper(alter_body=True), Tamper(drop_headers=("X-Slack-Signature",))],
    ids=["wrong-secret", "altered-body", "no-signature"],
)
def test_tampered_deliveries_fail_verification(sb: Sandbox, bot: FakeBot, tamper: Tamper) -> None:
    sb.slash(U_REQ, C_DEV, "start", tamper=tamper)
    assert not verify(sb, bot.received[-1])


def test_a_stale_timestamp_fails_verification(sb: Sandbox, bot: FakeBot) -> None:
    sb.slash(U_REQ, C_DEV, "start", tamper=Tamper(timestamp=int(sb.clock()) - 301))
    assert not verify(sb, bot.received[-1])


def test_an_unreachable_bot_is_a_clear_error(sb: Sandbox) -> None:
    url = sb.request_url
    sb.request_url = "http://127.0.0.1:9/slack/events"
    try:
        with pytest.raises(DeliveryError, match="could not deliver slash_command"):
            sb.slash(U_REQ, C_DEV, "start")
    finally:
        sb.request_url = url


# -- slash commands and response_url --------------------------------------------------------------


def test_slash_command_form_fields(sb: Sandbox, bot: FakeBot) -> None:
    delivery = sb.slash(U_REQ, C_DEV, "start build a thing")
    form = bot.received[-1].form
    assert form["command"] == "/orch"
    assert form["text"] == "start build a thing"
    assert (form["user_id"], form["user_name"], form["channel_id"], form["channel_name"]) == (
        U_REQ,
        "riley",
        C_DEV,
        "dev",
    )
    assert form["trigger_id"] == delivery.trigger_id
    assert form["response_url"] == delivery.response_url
    assert form["team_id"] == "T0SANDBOX"


def test_a_slash_command_answer_is_shown_like_slack_shows_it(sb: Sandbox, bot: FakeBot) -> None:
    bot.answer = lambda _: Response("plain words", media_type="text/plain")
    assert sb.slash(U_REQ, C_DEV, "help").outcome == "ephemeral"
    assert sb.ephemerals(U_REQ, C_DEV)[-1].text == "plain words"

    bot.answer = lambda _: JSONResponse({"response_type": "in_channel", "text": "for everyone"})
    assert sb.slash(U_REQ, C_DEV, "status").outcome == "in_channel"
    assert sb.messages(C_DEV)[-1].text == "for everyone"

    bot.answer = lambda _: Response(status_code=500)
    assert sb.slash(U_REQ, C_DEV, "boom").outcome == "failed"
    assert "failed with the error" in sb.ephemerals(U_REQ, C_DEV)[-1].text


def test_response_url_posts_ephemeral_or_in_channel(sb: Sandbox) -> None:
    url = sb.slash(U_REQ, C_DEV, "start").response_url
    assert HTTP.post(url, json={"text": "just you"}).json() == {"ok": True}
    HTTP.post(url, json={"text": "everyone", "response_type": "in_channel"})
    assert [m.text for m in sb.ephemerals(U_REQ, C_DEV)] == ["just you"]
    assert [m.text for m in sb.messages(C_DEV)] == ["everyone"]
    assert HTTP.post(sb.base_url + "/response/unknown", json={"text": "x"}).status_code == 404


def test_response_url_can_replace_or_delete_the_clicked_message(sb: Sandbox) -> None:
    ts = api(sb, "chat.postMessage", channel=C_DEV, text="Review", blocks=BUTTONS)["ts"]
    url = sb.click(U_APP1, sb.message(C_DEV, ts), "Approve").response_url
    HTTP.post(url, json={"replace_original": True, "text": "Approved"})
    assert (sb.message(C_DEV, ts).text, sb.message(C_DEV, ts).buttons) == ("Approved", [])
    HTTP.post(url, json={"delete_original": True})
    assert sb.messages(C_DEV) == []


# -- block_actions ----------------------------------------------------------------------------------


def test_clicking_a_button_in_a_thread_sends_block_actions(sb: Sandbox, bot: FakeBot) -> None:
    parent = api(sb, "chat.postMessage", channel=C_DEV, text="Goal")["ts"]
    api(sb, "chat.postMessage", channel=C_DEV, thread_ts=parent, text="Review", blocks=BUTTONS)
    message = sb.find_message(C_DEV, parent, button="Approve")
    delivery = sb.click(U_APP1, message, "Approve")
    payload = bot.received[-1].payload
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": U_APP1, "username": "avery", "name": "avery", "team_id": "T0SANDBOX"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": C_DEV,
        "is_ephemeral": False,
        "thread_ts": parent,
    }
    assert payload["message"]["blocks"] == message.blocks
    assert payload["channel"] == {"id": C_DEV, "name": "dev"}
    action = payload["actions"][0]
    assert (action["action_id"], action["value"], action["type"]) == ("approve", "v1", "button")
    assert action["block_id"] == message.blocks[1]["block_id"]
    assert payload["trigger_id"] == delivery.trigger_id


def test_clicking_on_an_ephemeral_leaves_the_message_out(sb: Sandbox, bot: FakeBot) -> None:
    api(sb, "chat.postEphemeral", channel=C_DEV, user=U_REQ, text="Confirm?", blocks=BUTTONS)
    mine = sb.ephemerals(U_REQ, C_DEV)[-1]
    with pytest.raises(AssertionError, match="cannot see"):
        sb.click(U_APP1, mine, "Approve")
    sb.click(U_REQ, mine, "Approve")
    payload = bot.received[-1].payload
    assert payload["container"]["is_ephemeral"] is True
    assert "message" not in payload


def test_a_missing_button_names_the_ones_there_are(sb: Sandbox) -> None:
    ts = api(sb, "chat.postMessage", channel=C_DEV, text="Review", blocks=BUTTONS)["ts"]
    with pytest.raises(AssertionError, match=r"no button 'Reject'.*\['Approve'\]"):
        sb.click(U_APP1, sb.message(C_DEV, ts), "Reject")


def test_clicks_in_a_dm_and_on_the_home_tab(sb: Sandbox, bot: FakeBot) -> None:
    api(sb, "chat.postMessage", channel=U_REQ, text="Review", blocks=BUTTONS)
    in_dm = sb.find_message(sb.dm_id(U_REQ), button="Approve")
    with pytest.raises(AssertionError, match="cannot see"):
        sb.click(U_APP1, in_dm, "Approve")
    sb.click(U_REQ, in_dm, "Approve")
    assert bot.received[-1].payload["channel"] == {"id": sb.dm_id(U_REQ), "name": "directmessage"}

    api(sb, "views.publish", user_id=U_REQ, view={"type": "home", "blocks": BUTTONS})
    sb.click(U_REQ, sb.home(U_REQ), "Approve")
    payload = bot.received[-1].payload
    assert payload["container"] == {"type": "view", "view_id": sb.home(U_REQ).id}
    assert payload["view"]["type"] == "home"


# -- modals -----------------------------------------------------------------------------------------


def open_modal(sb: Sandbox, bot: FakeBot, view: dict[str, Any] = MODAL) -> None:
    """The stand-in bot opens the modal while handling the click, as a real one would."""
    ts = api(sb, "chat.postMessage", channel=C_DEV, text="Review", blocks=BUTTONS)["ts"]

    def on_click(got: Received) -> Response:
        assert api(sb, "views.open", trigger_id=got.payload["trigger_id"], view=view)["ok"]
        return Response(status_code=200)

    bot.answer = on_click
    sb.click(U_APP1, sb.message(C_DEV, ts), "Approve")
    bot.answer = lambda _: Response(status_code=200)


def test_submitting_a_modal_sends_its_state_values(sb: Sandbox, bot: FakeBot) -> None:
    open_modal(sb, bot)
    delivery = sb.submit_view(U_APP1, {"Reason": "ship it", "level": "High"})
    payload = bot.received[-1].payload
    assert payload["type"] == "view_submission"
    assert payload["view"]["callback_id"] == "why"
    values = payload["view"]["state"]["values"]
    assert values["reason"]["text"] == {"type": "plain_text_input", "value": "ship it"}
    assert values["level"]["pick"]["selected_option"]["value"] == "high"
    assert delivery.outcome == "closed"
    assert sb.open_view(U_APP1) is None


def test_a_required_input_left_empty_cannot_be_submitted(sb: Sandbox, bot: FakeBot) -> None:
    open_modal(sb, bot)
    with pytest.raises(AssertionError, match="required input 'Level'"):
        sb.submit_view(U_APP1, {"Reason": "x"})


@pytest.mark.parametrize(
    ("answer", "outcome", "callbacks"),
    [
        ({"response_action": "errors", "errors": {"reason": "Too short"}}, "errors", ["why"]),
        ({"response_action": "errors", "errors": {"text": "keyed by action_id"}}, "failed", ["why"]),
        ({"response_action": "update", "view": {**MODAL, "callback_id": "updated"}}, "updated", ["updated"]),
        (
            {"response_action": "push", "view": {**MODAL, "callback_id": "pushed"}},
            "pushed",
            ["why", "pushed"],
        ),
        ({"response_action": "clear"}, "cleared", []),
    ],
)
def test_response_actions(
    sb: Sandbox, bot: FakeBot, answer: dict, outcome: str, callbacks: list[str]
) -> None:
    open_modal(sb, bot)
    bot.answer = lambda _: JSONResponse(answer)
    delivery = sb.submit_view(U_APP1, {"Reason": "x", "Level": "low"})
    assert delivery.outcome == outcome
    assert [v.callback_id for v in sb.views(U_APP1)] == callbacks
    if outcome == "errors":
        assert sb.open_view(U_APP1).errors == {"reason": "Too short"}
        assert "⚠ Too short" in sb.open_view(U_APP1).render()


def test_closing_a_modal_notifies_only_when_asked(sb: Sandbox, bot: FakeBot) -> None:
    open_modal(sb, bot)
    assert sb.close_view(U_APP1) is None
    open_modal(sb, bot, {**MODAL, "notify_on_close": True})
    closed = sb.close_view(U_APP1)
    assert closed is not None
    assert bot.received[-1].payload["type"] == "view_closed"
    assert bot.received[-1].payload["is_cleared"] is False


def test_clicking_inside_a_modal_sends_the_view(sb: Sandbox, bot: FakeBot) -> None:
    open_modal(sb, bot)
    sb.click(U_APP1, sb.open_view(U_APP1), "More", values={"Reason": "half typed"})
    payload = bot.received[-1].payload
    assert payload["container"] == {"type": "view", "view_id": sb.open_view(U_APP1).id}
    assert payload["view"]["state"]["values"]["reason"]["text"]["value"] == "half typed"


# -- events, shortcuts, Home ------------------------------------------------------------------------


def test_mentioning_the_bot_emits_app_mention(sb: Sandbox, bot: FakeBot) -> None:
    said = sb.mention(U_REQ, C_DEV, "start build a thing")
    body = bot.received[-1].json
    assert said.delivery is not None and said.delivery.event_id == body["event_id"]
    assert body["type"] == "event_callback"
    event = body["event"]
    assert (event["type"], event["user"], event["channel"], event["ts"]) == (
        "app_mention",
        U_REQ,
        C_DEV,
        said.ts,
    )
    assert event["text"] == "<@UBOT> start build a thing"


def test_a_plain_post_emits_nothing_but_a_dm_emits_message_im(sb: Sandbox, bot: FakeBot) -> None:
    assert sb.post(U_REQ, C_GENERAL, "lunch?").delivery is None
    assert bot.received == []
    said = sb.post(U_REQ, "@orch", "hello bot")
    event = bot.received[-1].json["event"]
    assert (event["type"], event["channel_type"], event["channel"]) == ("message", "im", sb.dm_id(U_REQ))
    assert said.channel == sb.dm_id(U_REQ)


def test_events_carry_chosen_ids_and_retry_headers(sb: Sandbox, bot: FakeBot) -> None:
    first = sb.send_event(
        {"type": "app_mention", "user": U_REQ, "channel": C_DEV, "text": "<@UBOT> hi", "ts": "1.000001"},
        event_id="Ev123",
    )
    again = sb.redeliver(first)
    assert again.event_id == "Ev123"
    headers = bot.received[-1].headers
    assert (headers["x-slack-retry-num"], headers["x-slack-retry-reason"]) == ("1", "http_timeout")
    assert bot.received[-1].json["event_id"] == "Ev123"
    assert verify(sb, bot.received[-1])


def test_url_verification_expects_the_challenge_back(sb: Sandbox, bot: FakeBot) -> None:
    assert sb.url_verification().outcome == "failed"  # The stand-in answers an empty 200.
    bot.answer = lambda got: JSONResponse({"challenge": got.json["challenge"]})
    assert sb.url_verification().outcome == "verified"


def test_message_shortcut_payload(sb: Sandbox, bot: FakeBot) -> None:
    said = sb.post(U_REQ, C_DEV, "please make this a goal")
    sb.shortcut(U_REQ, C_DEV, said.ts, "make_goal")
    payload = bot.received[-1].payload
    assert (payload["type"], payload["callback_id"], payload["message_ts"]) == (
        "message_action",
        "make_goal",
        said.ts,
    )
    assert payload["message"]["text"] == "please make this a goal"
    assert payload["channel"] == {"id": C_DEV, "name": "dev"}
    assert payload["response_url"].startswith(sb.base_url)


def test_opening_home_emits_app_home_opened(sb: Sandbox, bot: FakeBot) -> None:
    sb.open_home(U_OUT)
    event = bot.received[-1].json["event"]
    assert (event["type"], event["user"], event["tab"], event["channel"]) == (
        "app_home_opened",
        U_OUT,
        "home",
        sb.dm_id(U_OUT),
    )


# -- waiting --------------------------------------------------------------------------------------


def test_wait_for_wakes_when_another_thread_changes_the_workspace(sb: Sandbox) -> None:
    poster = threading.Thread(
        target=api, args=(sb, "chat.postMessage"), kwargs={"channel": C_DEV, "text": "late"}
    )
    poster.start()
    assert sb.wait_for_message(C_DEV, text_contains="late", timeout=5).text == "late"
    poster.join()


def test_wait_for_times_out_with_a_picture_of_the_workspace(sb: Sandbox) -> None:
    api(sb, "chat.postMessage", channel=C_DEV, text="something else")
    with pytest.raises(AssertionError, match=r"(?s)timed out after 0.05s.*something else"):
        sb.wait_for_message(C_DEV, text_contains="never", timeout=0.05)


def test_the_control_api_acts_as_a_person(sb: Sandbox, bot: FakeBot) -> None:
    answer = HTTP.post(
        sb.base_url + "/_sandbox/post", json={"user": U_REQ, "channel": C_DEV, "text": "<@UBOT> hi"}
    ).json()
    assert answer["ok"] is True
    assert answer["result"]["delivery"]["status"] == 200
    assert bot.received[-1].json["event"]["type"] == "app_mention"
