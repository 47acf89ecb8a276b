"""The sandbox web page's HTTP side without a browser: the page, live events, the message box, the clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox import Sandbox
from sandbox.clock import OffsetClock


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(clock=OffsetClock(start=1_768_469_400)) as running:
        yield running


def test_the_page_and_its_assets_are_served_from_the_sandbox_itself(sb: Sandbox) -> None:
    page = httpx.get(sb.base_url + "/", params={"user": "U_APP1", "channel": "C_GENERAL"})
    assert page.status_code == 200
    assert '<option value="U_APP1" selected>avery — Avery Approver</option>' in page.text
    assert 'href="/static/app.css"' in page.text and 'src="/static/app.js"' in page.text
    assert (
        "http://" not in page.text.split("<body>")[0] and "https://" not in page.text
    )  # nothing from outside
    assert httpx.get(sb.base_url + "/static/app.js").status_code == 200
    # Unknown people and channels fall back to the first of each, as a fresh client would.
    panes = httpx.get(sb.base_url + "/_web/panes", params={"user": "nobody", "channel": "nowhere"}).json()
    assert panes["where"] == {"user": "U_REQ", "channel": "C_DEV", "thread": None, "home": False}


def test_every_change_of_the_workspace_is_announced_on_the_event_stream(sb: Sandbox) -> None:
    with httpx.stream("GET", sb.base_url + "/_web/events", timeout=10) as stream:
        lines = stream.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        sb.post("U_REQ", "C_DEV", "hello")
        second = next(line for line in lines if line.startswith("data: "))
    assert int(second.removeprefix("data: ")) > int(first.removeprefix("data: "))


def test_the_message_box_turns_typed_mentions_into_slack_mentions_and_refuses_unknown_commands(
    sb: Sandbox,
) -> None:
    answer = httpx.post(
        sb.base_url + "/_web/send",
        json={"user": "U_REQ", "channel": "C_DEV", "text": "ping @avery and @nobody"},
    ).json()
    assert answer["ok"] and answer["result"]["kind"] == "post"
    assert sb.messages("C_DEV")[-1].text == "ping <@U_APP1> and @nobody"

    refused = httpx.post(
        sb.base_url + "/_web/send", json={"user": "U_REQ", "channel": "C_DEV", "text": "/deploy now"}
    )
    assert refused.status_code == 400 and "/deploy is not a command here" in refused.json()["detail"]


def test_the_clock_control_moves_time_and_tells_the_listeners(sb: Sandbox) -> None:
    heard: list[float] = []
    sb.clock_listeners.append(heard.append)
    before = sb.clock()
    moved = httpx.post(sb.base_url + "/_web/clock", json={"seconds": 3600}).json()
    assert moved["ok"] and moved["result"]["now"] - before >= 3600 and heard == [3600.0]
    panes = httpx.get(sb.base_url + "/_web/panes").json()
    assert panes["clock"]["now"].endswith("10:30 UTC") and panes["clock"]["offset"] == "+1h"
    assert httpx.post(sb.base_url + "/_web/clock", json={"seconds": -5}).status_code == 400


def test_a_sandbox_on_the_real_clock_says_its_time_cannot_move() -> None:
    with Sandbox() as real:
        answer = httpx.post(real.base_url + "/_web/clock", json={"seconds": 60})
        panes = httpx.get(real.base_url + "/_web/panes").json()
    assert answer.status_code == 400 and "real clock" in answer.json()["detail"]
    assert panes["clock"]["movable"] is False
