"""Small readers shared by the Slack end-to-end tests: the stored goal, its audit trail, its thread."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from sqlmodel import Session, col, select

from sandbox import Delivery, Message, payloads
from sandbox.blocks import find_button
from storage.audit import AuditEntry
from storage.models import Approval, Goal
from tests.conftest import Live

BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."


def start_goal(
    live: Live, user: str = "U_REQ", channel: str = "C_DEV", brief: str = BRIEF
) -> tuple[Message, Message]:
    """`/orch start <brief>`; returns the goal card and the first artifact awaiting a decision."""
    delivery = live.sb.slash(user, channel, f"start {brief}")
    assert delivery.status == 200, delivery.body
    card = live.sb.wait_for_message(channel, text_contains="G-0001")
    artifact = live.sb.wait_for_message(channel, thread_ts=card.ts, button="Approve", timeout=20)
    # Steady state: the card has caught up with the artifact (its update is the next effect).
    live.sb.wait_for(
        lambda: card_field(live, card.ts, "Status", channel) == "⏳ Awaiting approval",
        what="the card to show the gate awaiting approval",
    )
    return card, artifact


def card_field(live: Live, card_ts: str, name: str, channel: str = "C_DEV") -> str:
    """One field of the goal card as it shows now ("Status", "Next approvers", "Mode", …)."""
    blocks = live.sb.message(channel, card_ts).blocks
    section = next(b for b in blocks if b.get("block_id") == "goal_card_fields")
    fields = dict(f["text"].split("\n", 1) for f in section["fields"])
    return fields[f"*{name}*"]


def goal(live: Live, goal_id: str = "G-0001") -> Goal:
    with Session(live.container.engine) as session:
        found = session.get(Goal, goal_id)
        assert found is not None, f"{goal_id} is not stored"
        return found


def approvals(live: Live, goal_id: str = "G-0001") -> list[Approval]:
    with Session(live.container.engine) as session:
        return list(
            session.exec(select(Approval).where(Approval.goal_id == goal_id).order_by(col(Approval.id)))
        )


def audit_actions(live: Live, goal_id: str | None = "G-0001") -> list[AuditEntry]:
    with Session(live.container.engine) as session:
        query = select(AuditEntry).order_by(col(AuditEntry.seq))
        if goal_id is not None:
            query = query.where(AuditEntry.goal_id == goal_id)
        return list(session.exec(query))


def decided(live: Live, message: Message, timeout: float = 20) -> Message:
    """The message once its buttons have given way to a decision line."""
    return live.sb.wait_for(
        lambda: (m := live.sb.message(message.channel, message.ts)) and "Approve" not in m.buttons and m,
        timeout=timeout,
        what=f"the decision to replace the buttons of {message.ts}",
    )


def click_copy(live: Live, user: str, copy: Message, label: str = "Approve") -> Delivery:
    """Click a button on `copy` as it was when read, though the message may have changed since.

    This is what Slack sends when a client still shows an old version (a slow client, a double
    click, a second device): `Sandbox.click` always acts on the current version, so build the
    delivery here from the sandbox's own payload builder and send it signed.
    """
    sb = live.sb
    with sb.state.lock:
        conv = sb.state.channel(copy.channel)
        found = find_button(copy.blocks, label)
        assert found is not None, f"no {label!r} on that copy"
        block, element = found
        trigger = sb.state.issue_trigger(user)
        url, _ = sb._response_url(user, conv, copy.raw)
        action = payloads.button_action(block, element, sb.state.next_ts())
        payload = payloads.message_actions(
            sb.state, user, conv, copy.raw, action, ephemeral=False, trigger_id=trigger, response_url=url
        )
    return sb.deliver_raw(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
