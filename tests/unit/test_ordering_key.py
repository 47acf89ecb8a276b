"""Which requests a worker runs in order with each other (handlers.common.ordering_key)."""

from __future__ import annotations

import json

from handlers.common import ordering_key


def test_a_goal_named_by_a_button_a_modal_or_a_command_is_the_key() -> None:
    value = json.dumps({"g": "G-0042", "p": "prd", "v": 1, "s": "ab" * 32})
    click = {"type": "block_actions", "actions": [{"action_id": "orch_approve", "value": value}]}
    modal = {"type": "view_submission", "view": {"private_metadata": json.dumps({"goal_id": "G-0042"})}}
    command = {"command": "/orch", "text": "cancel g-0042"}
    assert ordering_key(click) == ordering_key(modal) == ordering_key(command) == "goal:G-0042"


def test_a_message_in_a_thread_is_keyed_by_its_thread_and_the_rest_by_nothing() -> None:
    event = {"type": "event_callback", "event": {"type": "app_mention", "channel": "C1", "thread_ts": "1.2"}}
    assert ordering_key(event) == "thread:C1:1.2"
    assert ordering_key({"command": "/orch", "text": "help"}) is None
    assert ordering_key({"command": "/orch", "text": "start build a thing"}) is None
    assert (
        ordering_key({"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1"}}) is None
    )
