"""The sandbox's state rules, without HTTP: timestamps, threads, triggers, pagination."""

from __future__ import annotations

import pytest

from sandbox.api_base import paginate
from sandbox.state import ApiError, Channel, ManualClock, State, User


def make_state() -> tuple[State, Channel, ManualClock]:
    clock = ManualClock(1_700_000_000)
    state = State(clock=clock, trigger_ttl=3)
    channel = state.channels["C1"] = Channel("C1", "dev", {"U1", "UBOT"})
    state.users["U1"] = User("U1", "riley")
    return state, channel, clock


def test_timestamps_are_unique_and_increasing_even_when_the_clock_stands_still() -> None:
    state, _, _ = make_state()
    stamps = [state.next_ts() for _ in range(3)]
    assert stamps == ["1700000000.000000", "1700000000.000001", "1700000000.000002"]


def test_replies_keep_the_parent_s_thread_counters() -> None:
    state, channel, _ = make_state()
    parent = state.post(channel, {"user": "U1", "text": "p"})
    reply = state.post(channel, {"user": "UBOT", "text": "r"}, thread_ts=parent["ts"])
    # Slack accepts a reply's ts as thread_ts and files the message under that reply's parent.
    state.post(channel, {"user": "UBOT", "text": "r2"}, thread_ts=reply["ts"])
    assert (parent["reply_count"], parent["reply_users"], parent["thread_ts"]) == (2, ["UBOT"], parent["ts"])
    assert [m["text"] for m in state.top_level(channel)] == ["p"]
    with pytest.raises(ApiError, match="thread_not_found"):
        state.post(channel, {"text": "x"}, thread_ts="1.000000")


def test_deleting_a_parent_leaves_a_tombstone_and_deleting_a_reply_updates_the_count() -> None:
    state, channel, _ = make_state()
    parent = state.post(channel, {"user": "U1", "text": "p"})
    first = state.post(channel, {"user": "UBOT", "text": "r"}, thread_ts=parent["ts"])
    state.post(channel, {"user": "UBOT", "text": "r2"}, thread_ts=parent["ts"])
    state.delete(channel, first["ts"])
    assert parent["reply_count"] == 1
    state.delete(channel, parent["ts"])
    assert (parent["subtype"], len(state.replies(channel, parent["ts"]))) == ("tombstone", 1)


def test_a_trigger_is_exchanged_once_and_expires() -> None:
    state, _, clock = make_state()
    trigger = state.issue_trigger("U1")
    assert state.use_trigger(trigger).user == "U1"
    with pytest.raises(ApiError, match="exchanged_trigger_id"):
        state.use_trigger(trigger)
    late = state.issue_trigger("U1")
    clock.advance(3.5)
    with pytest.raises(ApiError, match="expired_trigger_id"):
        state.use_trigger(late)


def test_pagination_cursor_survives_new_items_and_rejects_garbage() -> None:
    items = [{"ts": f"1.00000{i}"} for i in range(5)]
    page, cursor = paginate(items, None, 2)
    assert [m["ts"] for m in page] == ["1.000000", "1.000001"]
    page, cursor = paginate([{"ts": "0.5"}, *items], cursor, 2)
    assert [m["ts"] for m in page] == ["1.000002", "1.000003"]
    with pytest.raises(ApiError, match="invalid_cursor"):
        paginate(items, "bm9wZQ==", 2)
