"""The edge of the wire: retried and duplicated deliveries, rate limits, channels a person must fix."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Live
from tests.e2e.slack_helpers import BRIEF, goal


def test_an_events_api_retry_and_a_duplicate_event_id_start_one_goal(live: Live) -> None:
    first = live.sb.mention("U_REQ", "C_DEV", f"start {BRIEF}")
    assert first.delivery is not None and first.delivery.status == 200 and first.delivery.elapsed < 3
    live.sb.wait_for_message("C_DEV", text_contains="G-0001", user="UBOT")

    retry = live.sb.redeliver(first.delivery, retry_reason="http_timeout")
    assert retry.request_headers["X-Slack-Retry-Num"] == "1" and retry.status == 200
    # The same event_id again, without retry headers (Slack may deliver an event twice).
    envelope = json.loads(first.delivery.request_body)
    same_id = live.sb.send_event(envelope["event"], event_id=envelope["event_id"])
    assert same_id.status == 200

    live.bot.drain()
    assert [g.id for g in live.container.goals.list()] == ["G-0001"]
    cards = [m for m in live.sb.messages("C_DEV") if m.user == "UBOT"]
    assert len(cards) == 1


@pytest.mark.slow
def test_a_rate_limited_post_is_retried_after_retry_after_and_posted_once(live: Live) -> None:
    live.sb.ratelimit("chat.postMessage", 2, retry_after=1)
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=15)

    posts = live.sb.calls("chat.postMessage")[:3]
    assert [(c.status, c.error) for c in posts] == [(429, "ratelimited"), (429, "ratelimited"), (200, None)]
    assert posts[1].at - posts[0].at >= 1.0 and posts[2].at - posts[1].at >= 1.0  # Retry-After honoured
    assert posts[2].args["channel"] == "C_DEV"
    assert [m.ts for m in live.sb.messages("C_DEV") if m.user == "UBOT"] == [card.ts]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("break_channel", "fix_channel", "told"),
    [
        (lambda sb: sb.archive("C_DEV"), lambda sb: sb.archive("C_DEV", False), "the channel is archived"),
        (
            lambda sb: sb.kick_bot("C_DEV"),
            lambda sb: sb.invite_bot("C_DEV"),
            "Invite me with `/invite @orch`",
        ),
    ],
    ids=["archived", "not_in_channel"],
)
def test_a_channel_a_person_must_fix_tells_the_requester_and_loses_nothing(
    live: Live, break_channel, fix_channel, told: str
) -> None:
    break_channel(live.sb)
    delivery = live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    assert delivery.status == 200

    dm = live.sb.wait_for(
        lambda: next((m for m in live.sb.dms("U_REQ") if told in m.text), None),
        what="a DM telling the requester what to do",
    )
    assert "G-0001" in dm.text and "Nothing is lost" in dm.text
    assert goal(live).brief == BRIEF and goal(live).card_ts is None  # stored, not yet shown
    assert live.sb.messages("C_DEV") == []
    assert [m.text for m in live.sb.dms("U_APP1")] == []  # only the requester is told

    fix_channel(live.sb)
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=15)
    live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=20)
    assert len([m for m in live.sb.dms("U_REQ") if told in m.text]) == 1  # told once, not per retry


def test_the_start_modal_opens_without_a_brief_and_checks_its_fields(live: Live) -> None:
    delivery = live.sb.slash("U_REQ", "C_DEV", "start")
    assert delivery.status == 200 and delivery.elapsed < 3
    live.sb.wait_for_view("U_REQ", "orch_start_modal")

    refused = live.sb.submit_view("U_REQ", {"title": "CSV export", "brief": BRIEF, "approvers": ["U_OUT"]})
    assert refused.outcome == "errors"
    assert "Not approvers here" in live.sb.open_view("U_REQ").errors["approvers"]

    live.sb.submit_view(
        "U_REQ", {"title": "CSV export", "brief": BRIEF, "approvers": ["U_APP2"], "priority": "high"}
    )
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001 · CSV export")
    stored = goal(live)
    assert (stored.title, stored.source, stored.approvers, stored.priority) == (
        "CSV export",
        "modal",
        ["U_APP2"],
        "high",
    )
    live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=20)
    assert live.sb.open_view("U_REQ") is None
