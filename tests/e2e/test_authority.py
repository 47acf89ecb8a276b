"""Who may decide, and where: a decision counts only for the artifact of the message clicked, only
from an approver chosen for the goal, and only by the configuration as it is at the click."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import urlencode

from sandbox import Delivery, Message, payloads
from sandbox.blocks import find_button
from tests.conftest import Live, start_live
from tests.e2e.slack_helpers import approvals, audit_actions, goal


def start(live: Live, text: str, number: int, user: str = "U_REQ") -> tuple[Message, Message]:
    """Start a goal; returns its card and its first artifact awaiting a decision."""
    assert live.sb.slash(user, "C_DEV", f"start {text}").status == 200
    card = live.sb.wait_for_message("C_DEV", text_contains=f"G-{number:04d}")
    artifact = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=20)
    return card, artifact


def click_with_value(live: Live, user: str, message: Message, value: str, label: str = "Approve") -> Delivery:
    """Click `label` on `message`, with the button's value replaced by `value` (a crafted request)."""
    sb = live.sb
    raw = copy.deepcopy(sb.message(message.channel, message.ts).raw)
    with sb.state.lock:
        conv = sb.state.channel(message.channel)
        found = find_button(raw.get("blocks"), label)
        assert found is not None
        block, element = found
        element["value"] = value
        trigger = sb.state.issue_trigger(user)
        url, _ = sb._response_url(user, conv, raw)
        action = payloads.button_action(block, element, sb.state.next_ts())
        payload = payloads.message_actions(
            sb.state, user, conv, raw, action, ephemeral=False, trigger_id=trigger, response_url=url
        )
    return sb.deliver_raw(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def value_of(message: Message, label: str = "Approve") -> str:
    found = find_button(message.blocks, label)
    assert found is not None
    return str(found[1]["value"])


def test_a_click_on_one_goals_message_carrying_anothers_value_decides_nothing(live: Live) -> None:
    _card_a, artifact_a = start(live, "Add a CSV export of monthly invoices", 1)
    _card_b, artifact_b = start(live, "Rotate the session signing keys every month", 2)

    delivery = click_with_value(live, "U_APP1", artifact_a, value_of(artifact_b))
    assert delivery.status == 200
    live.sb.wait_for_ephemeral("U_APP1", "C_DEV", text_contains="names G-0002, but it was not clicked")
    assert approvals(live, "G-0002") == [] and approvals(live, "G-0001") == []
    refused = [e for e in audit_actions(live, "G-0002") if e.action == "decision.refused"]
    assert [e.payload_dict()["reason"] for e in refused] == ["WrongMessage"]
    assert goal(live, "G-0002").status == "awaiting_approval"

    # The reject form opened from that click carries the same mismatch, and is refused the same way.
    click_with_value(live, "U_APP1", artifact_a, value_of(artifact_b, "Reject"), label="Reject")
    live.sb.wait_for_view("U_APP1", "orch_reject_modal")
    live.sb.submit_view("U_APP1", {"reason": "Out of scope for this quarter"})
    live.sb.wait_for(
        lambda: (
            len([e for e in audit_actions(live, "G-0002") if e.action == "decision.refused"]) == 2 or None
        ),
        what="the second refusal",
    )
    assert approvals(live, "G-0002") == [] and goal(live, "G-0002").state == "active"

    # The same value on its own message still works.
    live.sb.click("U_APP1", artifact_b, "Approve")
    live.sb.wait_for(lambda: approvals(live, "G-0002") or None, what="the approval of G-0002")
    assert [(a.by, a.slack_ts) for a in approvals(live, "G-0002")] == [("U_APP1", artifact_b.ts)]


def test_a_person_removed_from_an_approver_group_cannot_approve_at_once(
    tmp_path: Path, target_repo: Path
) -> None:
    live = start_live(tmp_path, target_repo, approvers=[], approver_groups=["S_APPROVERS"])
    try:
        _card, artifact = start(live, "Add a CSV export of monthly invoices", 1)
        # The bot has read the group (for the card and the Home tabs), so its members are cached.
        live.sb.wait_for(lambda: live.sb.calls("usergroups.users.list") or None, what="a read of the group")
        live.sb.add_usergroup("S_APPROVERS", "approvers", ["U_APP2"])  # U_APP1 leaves the group

        live.sb.click("U_APP1", artifact, "Approve")
        live.sb.wait_for_ephemeral("U_APP1", "C_DEV", text_contains="not an approver")
        assert approvals(live) == []

        # Someone joins: the cached "no" holds until Slack says the group changed, then it is a "yes".
        live.sb.click("U_OUT", artifact, "Approve")
        live.sb.wait_for_ephemeral("U_OUT", "C_DEV", text_contains="not an approver")
        live.sb.add_usergroup("S_APPROVERS", "approvers", ["U_APP2", "U_OUT"])
        assert (
            live.sb.send_event(
                {
                    "type": "subteam_members_changed",
                    "subteam_id": "S_APPROVERS",
                    "team_id": "T_SANDBOX",
                    "added_users": ["U_OUT"],
                }
            ).status
            == 200
        )
        live.sb.click("U_OUT", artifact, "Approve")
        live.sb.wait_for(lambda: approvals(live) or None, what="the approval by the new member")
        assert [a.by for a in approvals(live)] == ["U_OUT"]
    finally:
        live.bot.stop()
        live.sb.stop()
