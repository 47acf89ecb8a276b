"""The HTTP front door refuses what Slack never sends, early and without a 5xx, and lets nobody
hold a connection open by sending slowly.

Every request here is signed with the real signing secret (an attacker who holds it, or a proxy
that mangles requests): the front door must still answer each with a 4xx and change nothing.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from sqlmodel import Session, func
from sqlmodel import select as sql_select

from sandbox import payloads
from sandbox.delivery import SIGNATURE, TIMESTAMP, sign
from storage.audit import AuditEntry
from storage.models import Goal
from tests.conftest import Live, init_repo, start_live

DEADLINE = 1.0  # the header and body deadlines of the bot under test, in seconds


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("front-door")
    running = start_live(
        base, init_repo(base / "repo"), http_header_timeout=DEADLINE, http_body_timeout=DEADLINE
    )
    try:
        yield running
    finally:
        running.bot.stop()
        running.sb.stop()


def counts(live: Live) -> tuple[int, int]:
    with Session(live.container.engine) as session:
        return (
            session.exec(sql_select(func.count()).select_from(Goal)).one(),
            session.exec(sql_select(func.count()).select_from(AuditEntry)).one(),
        )


def signed_post(
    live: Live, body: bytes, content_type: str, timestamp: str | None = None, **headers: str
) -> httpx.Response:
    """POST `body` signed with the real secret; `timestamp` is sent (and signed) as given."""
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    secret = live.settings.slack_signing_secret
    assert secret is not None
    sent = {
        "Content-Type": content_type,
        TIMESTAMP: stamp,
        SIGNATURE: sign(secret.get_secret_value(), stamp, body),
        **headers,
    }
    return httpx.post(f"{live.bot.url}/slack/events", content=body, headers=sent, timeout=10)


def slash_body(live: Live, text: str, user: str = "U_REQ", trigger: str = "T-1") -> bytes:
    sb = live.sb
    with sb.state.lock:
        fields = payloads.slash_command(
            sb.state, user, sb.state.channel("C_DEV"), "/orch", text, trigger, "https://example.invalid/r"
        )
    return urlencode(fields).encode()


def view_body(view: dict[str, object]) -> bytes:
    payload = {"type": "view_submission", "user": {"id": "U_REQ"}, "trigger_id": "T-9", "view": view}
    return urlencode({"payload": json.dumps(payload)}).encode()


ELEVATE_VALUES = {
    "mode": {"mode": {"type": "radio_buttons", "selected_option": {"value": ["full-access"]}}},
    "justification": {
        "justification": {"type": "plain_text_input", "value": "The tests download fixtures from a registry"}
    },
}


@pytest.mark.parametrize(
    "stamp", ["abc", "1700000000.5", "", "+17", "-5", "1e9", "9" * 40], ids=lambda s: repr(s)[:12]
)
def test_a_timestamp_that_is_not_whole_seconds_is_refused_with_401(door: Live, stamp: str) -> None:
    before = counts(door)
    answer = signed_post(door, slash_body(door, "start Not from Slack"), payloads_form(), timestamp=stamp)
    assert answer.status_code == 401
    assert counts(door) == before


def payloads_form() -> str:
    return "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "view",
    [
        {"id": "V1", "callback_id": "orch_start_modal", "state": {"values": {}}},
        {
            "id": "V2",
            "type": "modal",
            "callback_id": "orch_elevate_modal",
            "private_metadata": json.dumps({"goal": "G-0001"}),
            "state": {"values": ELEVATE_VALUES},
        },
        {
            "id": "V3",
            "type": "modal",
            "callback_id": "orch_start_modal",
            "state": {"values": {"brief": {"brief": {"type": "plain_text_input", "value": ["a", "b"]}}}},
        },
    ],
    ids=["view-without-type", "radio-value-as-list", "text-value-as-list"],
)
def test_a_malformed_view_gets_a_4xx_and_changes_nothing(door: Live, view: dict[str, object]) -> None:
    before = counts(door)
    answer = signed_post(door, view_body(view), payloads_form())
    assert 400 <= answer.status_code < 500, answer.text
    assert counts(door) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data", ""])
def test_a_slash_command_under_another_content_type_gets_415(door: Live, content_type: str) -> None:
    before = counts(door)
    answer = signed_post(door, slash_body(door, "start Sneaked in as text", trigger="T-415"), content_type)
    assert answer.status_code == 415
    assert counts(door) == before


def test_a_declared_oversized_body_gets_413_before_it_is_sent(door: Live) -> None:
    """Only the headers are sent: the answer comes without the server waiting for 10 MB."""
    host, port = urlsplit(door.bot.url).hostname, urlsplit(door.bot.url).port
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        answer = read_until_closed(conn, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413")


def test_an_oversized_body_without_a_declared_length_gets_413(door: Live) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(12):
            yield b"x" * 100_000

    answer = httpx.post(
        f"{door.bot.url}/slack/events",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 413


def test_three_deliveries_of_one_signed_slash_command_start_one_goal(door: Live) -> None:
    before_goals, _ = counts(door)
    body = slash_body(door, "start Replayed export of invoices", trigger="T-replay")
    stamp = str(int(time.time()))
    first = signed_post(door, body, payloads_form(), timestamp=stamp)
    same_bytes = signed_post(door, body, payloads_form(), timestamp=stamp)
    resigned = signed_post(door, body, payloads_form(), timestamp=str(int(stamp) - 30))
    assert first.status_code == 200
    assert same_bytes.status_code == 401 and resigned.status_code == 401
    door.sb.wait_for(lambda: counts(door)[0] == before_goals + 1 or None, what="the one goal")
    assert counts(door)[0] == before_goals + 1


def read_until_closed(conn: socket.socket, timeout: float) -> bytes:
    """What the server sends until it closes the connection; fails if it is still open after `timeout`."""
    got = b""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([conn], [], [], left)
        if not ready:
            continue
        data = conn.recv(65536)
        if not data:
            return got
        got += data
    raise AssertionError(f"the connection was still open after {timeout} s")


def drip(conns: list[socket.socket], first: bytes, then: bytes, budget: float) -> list[float]:
    """Send `first` on each connection, then a byte of `then` every 0.2 s until the server closes
    it; returns how long each stayed open. Fails if any is open after `budget` seconds."""
    started = time.monotonic()
    for conn in conns:
        conn.sendall(first)
    open_ = {conn.fileno(): conn for conn in conns}
    lasted: list[float] = []
    position = 0
    while open_:
        now = time.monotonic()
        assert now - started < budget, f"{len(open_)} connections still open after {budget} s"
        ready, _, _ = select.select(list(open_.values()), [], [], 0.2)  # paced by select, no sleep
        for conn in ready:
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data or b"HTTP/1.1" in data:
                lasted.append(time.monotonic() - started)
                del open_[conn.fileno()]
        byte = then[position % len(then) : position % len(then) + 1]
        position += 1
        for conn in list(open_.values()):
            try:
                conn.send(byte)
            except OSError:
                lasted.append(time.monotonic() - started)
                del open_[conn.fileno()]
    return lasted


def test_forty_connections_dripping_headers_or_bodies_are_closed_in_bounded_time(door: Live) -> None:
    host, port = urlsplit(door.bot.url).hostname, urlsplit(door.bot.url).port
    conns = [socket.create_connection((host, port), timeout=5) for _ in range(40)]
    try:
        headers = drip(conns[:20], b"POST /slack/events HTTP/1.1\r\n", b"X-Drip: a\r\n", budget=6 * DEADLINE)
        bodies = drip(
            conns[20:],
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\n\r\n{",
            b" ",
            budget=6 * DEADLINE,
        )
    finally:
        for conn in conns:
            conn.close()
    assert len(headers) == 20 and len(bodies) == 20
    assert max(headers + bodies) < 6 * DEADLINE
    # The bot still serves Slack afterwards.
    assert httpx.get(f"{door.bot.url}/healthz", timeout=5).status_code == 200


def test_the_same_start_text_twice_within_the_window_is_one_goal_until_the_person_confirms(
    door: Live,
) -> None:
    sb = door.sb
    before_goals, _ = counts(door)
    text = "start Weekly digest of failed payments for the support team"
    assert sb.slash("U_REQ", "C_DEV", text).status == 200
    door.sb.wait_for(lambda: counts(door)[0] == before_goals + 1 or None, what="the first goal")
    again = [sb.slash("U_REQ", "C_DEV", text) for _ in range(2)]  # new trigger ids: not replays
    assert [d.status for d in again] == [200, 200]
    notice = sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="with the same text")
    assert "Start another" in notice.buttons
    assert counts(door)[0] == before_goals + 1
    # Someone else's identical text is their own goal.
    assert sb.slash("U_APP1", "C_DEV", text).status == 200
    door.sb.wait_for(lambda: counts(door)[0] == before_goals + 2 or None, what="the other person's goal")

    sb.click("U_REQ", notice, "Start another")
    door.sb.wait_for(lambda: counts(door)[0] == before_goals + 3 or None, what="the confirmed second goal")
    with Session(door.container.engine) as session:
        mine = session.exec(sql_select(Goal.requester).where(Goal.brief == text.removeprefix("start "))).all()
    assert sorted(mine) == ["U_APP1", "U_REQ", "U_REQ"]


def form(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def click(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "block_actions",
        "user": {"id": "U_APP1"},
        "trigger_id": "T-c",
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": "C_DEV"},
        "channel": {"id": "C_DEV"},
        "actions": [{"action_id": "orch_approve", "value": "{}"}],
    }
    return {**base, **overrides}


def event(inner: object) -> bytes:
    return json.dumps({"type": "event_callback", "event_id": "Ev-x", "event": inner}).encode()


FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
MALFORMED: list[tuple[str, bytes, str, str | None]] = [
    # (name, body, content type, timestamp or None for now)
    *[
        (f"timestamp {t!r}", b"command=%2Forch", FORM, t)
        for t in ["abc", "1.5", "", "+1", "-5", "1e9", "9" * 40, "0x10"]
    ],
    *[
        (f"type {ct!r}", b"command=%2Forch&text=start+x", ct, None)
        for ct in [
            "text/plain",
            "application/xml",
            "",
            "text/html; charset=utf-8",
            "multipart/form-data; boundary=x",
        ]
    ],
    ("json as form", b'{"type": "event_callback"}', FORM, None),
    ("form as json", b"command=%2Forch", JSON_TYPE, None),
    ("empty form", b"", FORM, None),
    ("empty json", b"", JSON_TYPE, None),
    ("not utf-8", b"payload=\xff\xfe", FORM, None),
    ("deep json", b"[" * 100_000, JSON_TYPE, None),
    ("deep payload", urlencode({"payload": "[" * 100_000}).encode(), FORM, None),
    ("view without type", view_body({"id": "V", "callback_id": "orch_start_modal"}), FORM, None),
    (
        "radio value list",
        view_body(
            {
                "id": "V",
                "type": "modal",
                "callback_id": "orch_elevate_modal",
                "state": {"values": ELEVATE_VALUES},
            }
        ),
        FORM,
        None,
    ),
    (
        "users list not list",
        view_body(
            {
                "id": "V",
                "type": "modal",
                "callback_id": "orch_start_modal",
                "state": {
                    "values": {"a": {"approvers": {"type": "multi_users_select", "selected_users": "U1"}}}
                },
            }
        ),
        FORM,
        None,
    ),
    (
        "state values list",
        view_body({"id": "V", "type": "modal", "callback_id": "orch_start_modal", "state": {"values": []}}),
        FORM,
        None,
    ),
    ("callback id number", view_body({"id": "V", "type": "modal", "callback_id": 7}), FORM, None),
    ("actions not list", form(click(actions={"action_id": "orch_approve"})), FORM, None),
    ("action value number", form(click(actions=[{"action_id": "orch_approve", "value": 5}])), FORM, None),
    ("action without id", form(click(actions=[{"value": "x"}])), FORM, None),
    ("container list", form(click(container=["C_DEV"])), FORM, None),
    ("message string", form(click(message="hello")), FORM, None),
    ("user id number", form(click(user={"id": 5})), FORM, None),
    ("channel list", form(click(channel=[1])), FORM, None),
    ("response url ftp", form(click(response_url="ftp://x")), FORM, None),
    (
        "crafted value",
        form(
            click(
                actions=[
                    {
                        "action_id": "orch_approve",
                        "value": '{"g":"G-0001","p":"prd","v":1,"s":"' + "a" * 64 + '"}',
                    }
                ]
            )
        ),
        FORM,
        None,
    ),
    ("event not object", event("nope"), JSON_TYPE, None),
    (
        "event user object",
        event({"type": "app_mention", "user": {"id": "U"}, "channel": "C_DEV", "text": "hi"}),
        JSON_TYPE,
        None,
    ),
    ("event without type", event({"user": "U"}), JSON_TYPE, None),
    ("subteam event odd", event({"type": "subteam_updated", "subteam": ["S1"]}), JSON_TYPE, None),
    ("members event odd", event({"type": "subteam_members_changed", "subteam_id": ["S1"]}), JSON_TYPE, None),
    ("command without user", b"command=%2Forch&text=start+x&channel_id=C_DEV&trigger_id=T", FORM, None),
    (
        "command response url ftp",
        b"command=%2Forch&user_id=U_REQ&channel_id=C_DEV&trigger_id=T&response_url=ftp%3A%2F%2Fx",
        FORM,
        None,
    ),
]
# Well-formed enough to be acknowledged; the listener then refuses them (and changes nothing).
ACKED = {"crafted value", "subteam event odd", "members event odd"}


@pytest.mark.parametrize(("name", "body", "content_type", "stamp"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_no_malformed_request_gets_a_5xx_or_changes_anything(
    door: Live, name: str, body: bytes, content_type: str, stamp: str | None
) -> None:
    before = counts(door)
    answer = signed_post(door, body, content_type, timestamp=stamp)
    expected = answer.status_code == 200 if name in ACKED else 400 <= answer.status_code < 500
    assert expected, (name, answer.status_code, answer.text)
    assert counts(door)[0] == before[0]  # no goal, whatever else the bot recorded (a refusal's audit entry)
