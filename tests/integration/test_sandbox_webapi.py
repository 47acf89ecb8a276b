"""The sandbox's Web API, over real HTTP, with httpx and with slack_sdk's WebClient."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import BOT_USER_ID, C_DEV, C_GENERAL, S_APPROVERS, U_APP1, U_APP2, U_REQ, ManualClock, Sandbox

# One client for the module: a new httpx.Client per request costs ~30 ms of TLS setup.
HTTP = httpx.Client()


@pytest.fixture(scope="module", autouse=True)
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*PRD* v1"}},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "reject", "text": {"type": "plain_text", "text": "Reject"}},
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
        }
    ],
}
HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your goals"}}]}


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Sandbox:
    server.reset()
    server.clock = ManualClock(1_700_000_000)
    return server


@pytest.fixture
def client(sb: Sandbox) -> WebClient:
    return WebClient(token=sb.bot_token, base_url=sb.api_url)


def call(sb: Sandbox, method: str, token: str | None = "bot", **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {sb.bot_token if token == 'bot' else token}"} if token else {}
    return HTTP.post(sb.api_url + method, headers=headers, json=body)


def test_calls_without_a_known_token_are_refused_like_slack(sb: Sandbox) -> None:
    assert call(sb, "auth.test", token=None).json() == {"ok": False, "error": "not_authed"}
    assert call(sb, "auth.test", token="xoxb-wrong").json() == {"ok": False, "error": "invalid_auth"}
    assert call(sb, "no.such.method").json() == {"ok": False, "error": "unknown_method"}


def test_auth_test_names_the_bot(client: WebClient) -> None:
    me = client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == (BOT_USER_ID, "BBOT", "T0SANDBOX")


def test_form_and_json_bodies_both_post_messages(sb: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {sb.bot_token}"}
    form = HTTP.post(
        sb.api_url + "chat.postMessage",
        headers=headers,
        data={"channel": C_DEV, "text": "form", "blocks": json.dumps(BUTTONS)},
    )
    assert form.json()["ok"] is True
    assert call(sb, "chat.postMessage", channel=C_DEV, text="json").json()["ok"] is True
    assert [m.text for m in sb.messages(C_DEV)] == ["form", "json"]
    assert sb.messages(C_DEV)[0].buttons == ["Approve", "Reject"]


def test_post_in_thread_then_update_marks_it_edited(sb: Sandbox, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=C_DEV, text="Goal")
    reply = client.chat_postMessage(channel=C_DEV, thread_ts=parent["ts"], text="PRD", blocks=BUTTONS)
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert sb.message(C_DEV, parent["ts"]).reply_count == 1

    updated = client.chat_update(channel=C_DEV, ts=reply["ts"], text="PRD (approved)", blocks=BUTTONS[:1])
    assert updated["message"]["edited"]["user"] == BOT_USER_ID
    shown = sb.thread(C_DEV, parent["ts"])[-1]
    assert (shown.text, shown.buttons, shown.edited) == ("PRD (approved)", [], True)


def test_the_bot_cannot_edit_a_person_s_message(sb: Sandbox, client: WebClient) -> None:
    said = sb.post(U_REQ, C_GENERAL, "hello")
    with pytest.raises(SlackApiError) as refused:
        client.chat_update(channel=C_GENERAL, ts=said.ts, text="changed")
    assert refused.value.response["error"] == "cant_update_message"


def test_replies_are_paginated_with_a_cursor(sb: Sandbox, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=C_DEV, text="parent")["ts"]
    for i in range(20):
        client.chat_postMessage(channel=C_DEV, thread_ts=parent, text=f"reply {i}")

    seen, cursor, pages = [], None, 0
    while True:
        page = client.conversations_replies(channel=C_DEV, ts=parent, cursor=cursor)
        pages += 1
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert pages == 2  # The default page is 15, so a bot that ignores the cursor misses replies.
    assert seen == ["parent"] + [f"reply {i}" for i in range(20)]


def test_history_is_newest_first_and_shows_broadcast_replies(sb: Sandbox, client: WebClient) -> None:
    first = client.chat_postMessage(channel=C_DEV, text="first")["ts"]
    client.chat_postMessage(channel=C_DEV, thread_ts=first, text="quiet reply")
    client.chat_postMessage(channel=C_DEV, thread_ts=first, text="loud reply", reply_broadcast=True)
    client.chat_postMessage(channel=C_DEV, text="second")
    texts = [m["text"] for m in client.conversations_history(channel=C_DEV)["messages"]]
    assert texts == ["second", "loud reply", "first"]


def test_posting_to_a_user_id_lands_in_their_dm(sb: Sandbox, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=U_APP1, text="please review")
    opened = client.conversations_open(users=U_APP1)
    assert posted["channel"] == opened["channel"]["id"] == sb.dm_id(U_APP1)
    assert posted["channel"].startswith("D")
    assert [m.text for m in sb.dms(U_APP1)] == ["please review"]


def test_ephemerals_are_kept_per_person(sb: Sandbox, client: WebClient) -> None:
    sent = client.chat_postEphemeral(channel=C_DEV, user=U_REQ, text="only you", blocks=BUTTONS)
    assert sent["message_ts"]
    assert [m.text for m in sb.ephemerals(U_REQ)] == ["only you"]
    assert sb.ephemerals(U_APP1) == []
    assert sb.messages(C_DEV) == []


def test_permalinks_point_at_the_message(sb: Sandbox, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=C_DEV, text="x")["ts"]
    link = client.chat_getPermalink(channel=C_DEV, message_ts=ts)["permalink"]
    assert link == f"{sb.base_url}/archives/{C_DEV}/p{ts.replace('.', '')}"


def test_invalid_blocks_are_refused_with_slack_s_errors(sb: Sandbox, client: WebClient) -> None:
    empty = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=C_DEV, text="x", blocks=empty)
    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["errors"] == [
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]"
    ]

    too_many = [{"type": "divider"}] * 51
    answer = call(sb, "chat.postMessage", channel=C_DEV, text="x", blocks=too_many).json()
    assert answer["error"] == "invalid_blocks"
    assert "no more than 50 items allowed [json-pointer:/blocks]" in answer["errors"]

    long_button = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "a",
                    "value": "v" * 2001,
                    "text": {"type": "plain_text", "text": "A"},
                }
            ],
        }
    ]
    assert (
        call(sb, "chat.postMessage", channel=C_DEV, text="x", blocks=long_button).json()["error"]
        == "invalid_blocks"
    )
    assert sb.messages(C_DEV) == []


def test_channel_errors(sb: Sandbox, client: WebClient) -> None:
    assert call(sb, "chat.postMessage", channel="C_NOPE", text="x").json()["error"] == "channel_not_found"
    sb.archive(C_GENERAL)
    assert call(sb, "chat.postMessage", channel=C_GENERAL, text="x").json()["error"] == "is_archived"
    sb.kick_bot(C_DEV)
    assert call(sb, "chat.postMessage", channel=C_DEV, text="x").json()["error"] == "not_in_channel"
    assert call(sb, "conversations.history", channel=C_DEV).json()["error"] == "not_in_channel"


def test_ratelimit_answers_429_with_retry_after_then_recovers(sb: Sandbox, client: WebClient) -> None:
    sb.ratelimit("chat.postMessage", times=2, retry_after=7)
    limited = call(sb, "chat.postMessage", channel=C_DEV, text="x")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=C_DEV, text="x")
    assert refused.value.response.status_code == 429
    assert client.chat_postMessage(channel=C_DEV, text="x")["ok"] is True
    assert [c.status for c in sb.calls("chat.postMessage")] == [429, 429, 200]


def test_views_open_needs_a_fresh_unused_trigger(sb: Sandbox, client: WebClient) -> None:
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        client.views_open(trigger_id="made-up", view=MODAL)

    trigger = sb.trigger(U_APP1)
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert opened["id"].startswith("V")
    assert sb.open_view(U_APP1).callback_id == "why"
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        client.views_open(trigger_id=trigger, view=MODAL)

    stale = sb.trigger(U_APP2)
    sb.clock.advance(31)  # type: ignore[attr-defined]
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        client.views_open(trigger_id=stale, view=MODAL)


def test_views_update_checks_the_hash_and_finds_external_ids(sb: Sandbox, client: WebClient) -> None:
    opened = client.views_open(trigger_id=sb.trigger(U_APP1), view={**MODAL, "external_id": "goal-7"})["view"]
    new_title = {**MODAL, "title": {"type": "plain_text", "text": "Why, really"}}
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=opened["id"], hash="stale", view=new_title)
    updated = client.views_update(external_id="goal-7", hash=opened["hash"], view=new_title)["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    assert sb.open_view(U_APP1).title == "Why, really"


def test_views_push_stacks_up_to_three(sb: Sandbox, client: WebClient) -> None:
    client.views_open(trigger_id=sb.trigger(U_APP1), view=MODAL)
    client.views_push(trigger_id=sb.trigger(U_APP1), view={**MODAL, "callback_id": "second"})
    client.views_push(trigger_id=sb.trigger(U_APP1), view={**MODAL, "callback_id": "third"})
    with pytest.raises(SlackApiError, match="push_limit_reached"):
        client.views_push(trigger_id=sb.trigger(U_APP1), view=MODAL)
    assert [v.callback_id for v in sb.views(U_APP1)] == ["why", "second", "third"]


def test_bad_views_are_refused(sb: Sandbox, client: WebClient) -> None:
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id=sb.trigger(U_APP1), view=no_submit)
    assert refused.value.response["error"] == "invalid_arguments"
    too_many = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    answer = call(sb, "views.open", trigger_id=sb.trigger(U_APP1), view=too_many).json()
    assert "no more than 100 items allowed [json-pointer:/view/blocks]" in answer["errors"]


def test_views_publish_sets_a_person_s_home_tab(sb: Sandbox, client: WebClient) -> None:
    first = client.views_publish(user_id=U_REQ, view=HOME)["view"]
    second = client.views_publish(user_id=U_REQ, view=HOME, hash=first["hash"])["view"]
    assert second["id"] == first["id"]
    assert "Your goals" in sb.home(U_REQ).render()
    assert sb.home(U_APP1) is None


def test_files_upload_v2_posts_the_file_in_the_thread(sb: Sandbox, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=C_DEV, text="Goal")["ts"]
    uploaded = client.files_upload_v2(
        channel=C_DEV,
        thread_ts=parent,
        content="# PRD\nbody",
        filename="prd.md",
        title="PRD v1",
        initial_comment="PRD attached",
    )
    assert uploaded["file"]["title"] == "PRD v1"
    message = sb.thread(C_DEV, parent)[-1]
    assert message.text == "PRD attached"
    assert [(f["name"], f["title"], f["content"]) for f in message.files] == [
        ("prd.md", "PRD v1", "# PRD\nbody")
    ]
    assert "prd.md" in message.content


def test_upload_url_takes_multipart_too(sb: Sandbox) -> None:
    got = call(sb, "files.getUploadURLExternal", filename="a.txt", length=5).json()
    HTTP.post(got["upload_url"], files={"file": ("a.txt", b"hello")}).raise_for_status()
    done = call(
        sb, "files.completeUploadExternal", files=json.dumps([{"id": got["file_id"]}]), channel_id=C_DEV
    )
    assert done.json()["ok"] is True
    assert sb.messages(C_DEV)[-1].files[0]["content"] == "hello"


def test_users_usergroups_and_reactions(sb: Sandbox, client: WebClient) -> None:
    assert client.users_info(user=U_APP1)["user"]["name"] == "avery"
    assert client.usergroups_users_list(usergroup=S_APPROVERS)["users"] == [U_APP1, U_APP2]
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U_NOBODY")
    ts = client.chat_postMessage(channel=C_DEV, text="x")["ts"]
    client.reactions_add(channel=C_DEV, timestamp=ts, name="white_check_mark")
    with pytest.raises(SlackApiError, match="already_reacted"):
        client.reactions_add(channel=C_DEV, timestamp=ts, name="white_check_mark")
    assert sb.message(C_DEV, ts).raw["reactions"] == [
        {"name": "white_check_mark", "users": [BOT_USER_ID], "count": 1}
    ]


def test_the_state_endpoint_shows_channels_and_messages(sb: Sandbox, client: WebClient) -> None:
    client.chat_postMessage(channel=C_DEV, text="visible")
    state = HTTP.get(sb.base_url + "/_sandbox/state").json()
    dev = next(c for c in state["channels"] if c["id"] == C_DEV)
    assert [m["text"] for m in dev["messages"]] == ["visible"]
