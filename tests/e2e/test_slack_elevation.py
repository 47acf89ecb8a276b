"""Elevated modes from Slack: asked for with a justification, confirmed by another approver, audited."""

from __future__ import annotations

import pytest

from tests.conftest import Live
from tests.e2e.slack_helpers import audit_actions, card_field, goal, start_goal

WHY = "The integration tests download fixtures from the package registry"


def _ask(live: Live, user: str, card_ts: str, mode: str, justification: str) -> str | None:
    live.sb.click(user, live.sb.message("C_DEV", card_ts), "Request elevated mode")
    live.sb.wait_for_view(user, "orch_elevate_modal")
    return live.sb.submit_view(user, {"mode": mode, "justification": justification}).outcome


@pytest.mark.slow
def test_an_elevated_mode_needs_a_justification_and_another_approvers_confirmation(live: Live) -> None:
    card, _ = start_goal(live)
    assert card_field(live, card.ts, "Mode") == "🔒 read-only"

    # Too short once the padding is gone: the modal says so next to the field and stays open.
    assert _ask(live, "U_REQ", card.ts, "full-access", "network please" + " " * 10) == "errors"
    assert "at least 20 characters" in live.sb.open_view("U_REQ").errors["justification"]
    assert live.sb.submit_view("U_REQ", {"mode": "full-access", "justification": WHY}).outcome == "closed"

    ask = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Grant full-access")
    assert WHY in ask.content and "@riley asks to run G-0001 in ⚠️ full-access" in live.sb.transcript(
        "C_DEV", card.ts
    )
    grant = next(
        e
        for b in ask.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Grant full-access"
    )
    assert (
        grant["confirm"]["title"]["text"] == "Grant full-access?" and WHY in grant["confirm"]["text"]["text"]
    )

    # Neither the person who asked nor an outsider can grant it; each refusal is theirs alone, and audited.
    live.sb.click("U_REQ", ask, "Grant full-access")
    live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="another approver must confirm")
    live.sb.click("U_OUT", ask, "Grant full-access")
    live.sb.wait_for_ephemeral("U_OUT", "C_DEV", text_contains="You are not an approver")
    assert goal(live).mode == "read-only"

    live.sb.click("U_APP1", ask, "Grant full-access")
    live.sb.wait_for(
        lambda: card_field(live, card.ts, "Mode") == "⚠️ full-access", what="the card to show the mode"
    )
    after = live.sb.message("C_DEV", ask.ts)
    assert after.buttons == [] and "granted by @avery" in live.sb.transcript("C_DEV", card.ts)
    assert (
        "Request elevated mode" not in live.sb.message("C_DEV", card.ts).buttons
    )  # nothing above full-access
    assert goal(live).mode == "full-access"

    steps = [
        (e.action, e.actor, e.justification) for e in audit_actions(live) if e.action.startswith("mode.")
    ]
    assert steps == [
        ("mode.requested", "U_REQ", WHY),
        ("mode.refused", "U_REQ", None),
        ("mode.refused", "U_OUT", None),
        ("mode.granted", "U_APP1", WHY),
    ]

    # The mode belongs to that goal only: the next goal starts read-only, and a denial changes nothing.
    live.sb.slash("U_REQ", "C_DEV", "start Another goal that needs nothing special at all")
    second = live.sb.wait_for_message("C_DEV", text_contains="G-0002")
    assert goal(live, "G-0002").mode == "read-only"
    assert _ask(live, "U_APP2", second.ts, "workspace-write", WHY) == "closed"
    ask2 = live.sb.wait_for_message("C_DEV", thread_ts=second.ts, button="Grant workspace-write")
    live.sb.click("U_APP1", ask2, "Deny")
    live.sb.wait_for(lambda: live.sb.message("C_DEV", ask2.ts).buttons == [], what="the denial to show")
    assert "Denied by @avery" in live.sb.transcript("C_DEV", second.ts)
    assert goal(live, "G-0002").mode == "read-only" and goal(live).mode == "full-access"
    assert [
        (e.action, e.justification) for e in audit_actions(live, "G-0002") if e.action.startswith("mode.")
    ] == [("mode.requested", WHY), ("mode.denied", WHY)]
