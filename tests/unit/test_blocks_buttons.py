"""Decision button values: what a click names, and refusing anything we did not write."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import ButtonRef, decode_button_value, encode_button_value
from bot.blocks.buttons import decision_actions
from bot.blocks.limits import check_message
from bot.sop.phases import Phase

SHA = "3f2a9c1b" + "ab" * 28


def test_a_value_round_trips_to_what_the_reader_saw():
    value = encode_button_value("G-0003", Phase.PRD, 2, SHA)
    assert json.loads(value) == {"g": "G-0003", "p": "prd", "v": 2, "s": SHA}
    assert " " not in value  # compact
    assert decode_button_value(value) == ButtonRef("G-0003", Phase.PRD, 2, SHA, None)


@pytest.mark.parametrize("task_id", [7, "3.2"])
def test_an_implementation_value_names_its_task(task_id):
    value = encode_button_value("G-0003", "implementation", 1, SHA, task_id=task_id)
    assert decode_button_value(value).task_id == task_id


def test_a_click_on_an_older_version_decodes_to_that_older_version():
    old = decode_button_value(encode_button_value("G-0003", Phase.PRD, 1, "0" * 64))
    new = decode_button_value(encode_button_value("G-0003", Phase.PRD, 2, SHA))
    assert (old.version, old.sha256) != (new.version, new.sha256)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "empty"),
        ("x" * 2001, "longer than 2000"),
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ("[" * 1999, "nested too deeply"),
        ('{"g":"G-0003","p":"prd","v":2}', "lacks ['s']"),
        (json.dumps({"g": "G-0003", "p": "prd", "v": 2, "s": SHA, "x": 1}), "unknown keys"),
        (json.dumps({"g": "../etc", "p": "prd", "v": 2, "s": SHA}), "goal id"),
        (json.dumps({"g": "G-0003", "p": "done", "v": 2, "s": SHA}), "gated phase"),
        (json.dumps({"g": "G-0003", "p": "prd", "v": True, "s": SHA}), "version"),
        (json.dumps({"g": "G-0003", "p": "prd", "v": 0, "s": SHA}), "version"),
        (json.dumps({"g": "G-0003", "p": "prd", "v": "2", "s": SHA}), "version"),
        (json.dumps({"g": "G-0003", "p": "prd", "v": 2, "s": SHA[:8]}), "sha256"),
        (json.dumps({"g": "G-0003", "p": "prd", "v": 2, "s": SHA.upper()}), "sha256"),
        (json.dumps({"g": "G-0003", "p": "prd", "v": 2, "s": SHA, "t": 3}), "only implementation"),
        (json.dumps({"g": "G-0003", "p": "implementation", "v": 2, "s": SHA, "t": "3; rm"}), "task id"),
    ],
)
def test_junk_values_are_refused_with_a_reason(value, complaint):
    with pytest.raises(ValueError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        decode_button_value(value)


def test_encoding_refuses_to_write_a_value_it_could_not_read_back():
    with pytest.raises(ValueError, match="sha256"):
        encode_button_value("G-0003", Phase.PRD, 2, "abc")


@given(
    st.one_of(
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(),
            lambda c: st.lists(c) | st.dictionaries(st.sampled_from(["g", "p", "v", "s", "t", "x"]), c),
        ).map(json.dumps),
        st.fixed_dictionaries(
            {
                "g": st.sampled_from(["G-0003", "G-12345", "G-1", 3, None]),
                "p": st.sampled_from(["prd", "implementation", "done", "PRD", 1]),
                "v": st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False)),
                "s": st.sampled_from([SHA, SHA.upper(), "x", 0]),
            },
            optional={"t": st.one_of(st.integers(), st.text(max_size=12), st.floats())},
        ).map(json.dumps),
    )
)
def test_any_untrusted_value_decodes_or_raises_value_error(value):
    try:
        ref = decode_button_value(value)
    except ValueError:
        return
    again = encode_button_value(ref.goal_id, ref.phase, ref.version, ref.sha256, ref.task_id)
    assert decode_button_value(again) == ref


def test_the_decision_buttons_carry_the_value_and_reject_asks_first():
    value = encode_button_value("G-0003", Phase.PRD, 2, SHA)
    block = decision_actions(
        value, block_id="artifact_actions", reject_warning="Rejecting PRD v2 stops G-0003."
    )
    check_message([block])
    by_action = {e["action_id"]: e for e in block["elements"]}
    assert set(by_action) == {"orch_approve", "orch_request_changes", "orch_reject"}
    assert all(e["value"] == value for e in block["elements"])
    assert by_action["orch_approve"]["style"] == "primary"
    assert by_action["orch_reject"]["style"] == "danger"
    assert by_action["orch_reject"]["confirm"]["style"] == "danger"
    assert by_action["orch_reject"]["confirm"]["text"]["text"] == "Rejecting PRD v2 stops G-0003."
    assert "orch_approve" not in str(
        decision_actions(value, block_id="b", reject_warning="w", approvable=False)
    )
