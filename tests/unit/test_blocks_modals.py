"""Modals and their submissions: ids the handlers rely on, Slack's limits, and flattened values."""

from __future__ import annotations

import pytest

from bot.blocks import (
    build_elevate_modal,
    build_feedback_modal,
    build_reject_modal,
    build_start_modal,
    parse_view_values,
)
from bot.blocks.limits import check_view
from bot.sop.phases import Phase

SHA = "3f2a9c1b" + "0" * 56


def _inputs(view: dict) -> dict[str, dict]:
    """block_id -> element of every input block, checking block_id == action_id as handlers expect."""
    found = {}
    for block in view["blocks"]:
        if block["type"] == "input":
            assert block["block_id"] == block["element"]["action_id"]
            found[block["block_id"]] = block
    return found


def test_the_start_modal_asks_for_a_goal():
    view = build_start_modal(["acme/api", "acme/web"], "C0GOALS", '{"channel":"C0GOALS"}')
    check_view(view)
    assert view["type"] == "modal" and view["callback_id"] == "orch_start_modal"
    assert view["private_metadata"] == '{"channel":"C0GOALS"}'
    assert view["submit"]["text"] == "Start" and view["close"]["text"] == "Cancel"
    inputs = _inputs(view)
    assert list(inputs) == ["title", "brief", "repo", "approvers", "priority"]
    assert inputs["title"]["element"]["type"] == "plain_text_input"
    assert inputs["brief"]["element"]["multiline"] is True
    assert [o["value"] for o in inputs["repo"]["element"]["options"]] == ["acme/api", "acme/web"]
    assert inputs["approvers"]["element"]["type"] == "multi_users_select"
    assert inputs["approvers"]["optional"] is True
    priority = inputs["priority"]["element"]
    assert [o["value"] for o in priority["options"]] == ["high", "medium", "low"]
    assert priority["initial_option"]["value"] == "medium"
    assert "<#C0GOALS>" in str(view["blocks"])


def test_with_one_repository_there_is_nothing_to_choose():
    view = build_start_modal(["acme/api"], "", "")
    check_view(view)
    assert "repo" not in _inputs(view)
    assert "`acme/api`" in str(view["blocks"])


def test_a_very_long_repository_list_is_capped_at_slacks_100_options():
    view = build_start_modal([f"acme/r{i}" for i in range(250)], "C0GOALS", "")
    check_view(view)
    assert len(_inputs(view)["repo"]["element"]["options"]) == 100


@pytest.mark.parametrize(
    ("build", "callback_id", "field"),
    [
        (build_feedback_modal, "orch_feedback_modal", "feedback"),
        (build_reject_modal, "orch_reject_modal", "reason"),
    ],
)
def test_feedback_and_reject_modals_name_the_version_they_are_about(build, callback_id, field):
    view = build("G-0003", Phase.PRD, 2, SHA, "meta")
    check_view(view)
    assert view["callback_id"] == callback_id
    assert len(view["title"]["text"]) <= 24
    assert list(_inputs(view)) == [field]
    assert _inputs(view)[field]["element"]["multiline"] is True
    assert "*PRD v2* of G-0003 (sha256 3f2a9c1b…)" in str(view["blocks"])


def test_the_elevate_modal_needs_a_mode_and_a_real_justification():
    view = build_elevate_modal("G-0003", "meta")
    check_view(view)
    assert view["callback_id"] == "orch_elevate_modal"
    inputs = _inputs(view)
    assert [o["value"] for o in inputs["mode"]["element"]["options"]] == ["workspace-write", "full-access"]
    assert inputs["mode"]["element"]["type"] == "radio_buttons"
    assert inputs["justification"]["element"]["min_length"] == 20


def test_values_slack_would_refuse_are_refused_here():
    with pytest.raises(ValueError, match="private_metadata"):
        build_elevate_modal("G-0003", "m" * 3001)
    with pytest.raises(ValueError, match="150"):
        build_start_modal(["acme/api", "x" * 151], "", "")


def test_submitted_values_flatten_to_action_ids():
    state = {
        "title": {"title": {"type": "plain_text_input", "value": "CSV export"}},
        "brief": {"brief": {"type": "plain_text_input", "value": None}},
        "repo": {"repo": {"type": "static_select", "selected_option": {"value": "acme/api", "text": {}}}},
        "approvers": {"approvers": {"type": "multi_users_select", "selected_users": ["U1", "U2"]}},
        "owner": {"owner": {"type": "users_select", "selected_user": "U3"}},
        "mode": {"mode": {"type": "radio_buttons", "selected_option": None}},
        "flags": {"flags": {"type": "checkboxes", "selected_options": [{"value": "a"}, {"value": "b"}]}},
    }
    assert parse_view_values(state) == {
        "title": "CSV export",
        "brief": None,
        "repo": "acme/api",
        "approvers": ["U1", "U2"],
        "owner": "U3",
        "mode": None,
        "flags": ["a", "b"],
    }


@pytest.mark.parametrize(
    "state",
    [
        [],
        {"b": []},
        {"b": {"a": "text"}},
        {"b": {"a": {"type": "rich_text_input"}}},
        {"b1": {"a": {"type": "plain_text_input"}}, "b2": {"a": {"type": "plain_text_input"}}},
    ],
)
def test_unexpected_submissions_are_refused(state):
    with pytest.raises(ValueError):
        parse_view_values(state)
