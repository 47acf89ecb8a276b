"""A whole goal, from `/orch start` to Done, driven only by Slack actions: the thread reads well.

One card, one progress message edited in place, one message per artifact with its decision written
into it, the files the long texts need, and a closing note; nothing else.
"""

from __future__ import annotations

import re

import pytest

from sandbox import Message
from tests.conftest import Live
from tests.e2e.slack_helpers import BRIEF, card_field, goal

DECISION = re.compile(r"✅ Approved by @avery at \d\d:\d\d UTC \(v\d, sha [0-9a-f]{8}…\)")


def _approve(live: Live, card: Message, text: str) -> Message:
    message = live.sb.wait_for_message(
        "C_DEV", thread_ts=card.ts, button="Approve", text_contains=text, timeout=20
    )
    assert live.sb.click("U_APP1", message, "Approve").elapsed < 3
    return message


@pytest.mark.slow
def test_a_goal_from_start_to_done_leaves_a_thread_a_newcomer_can_follow(live: Live) -> None:
    sb = live.sb
    assert sb.slash("U_REQ", "C_DEV", f"start {BRIEF}").elapsed < 3
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")

    _approve(live, card, "Scaffold Check v1")
    prd = sb.wait_for_message(
        "C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD v1", timeout=20
    )
    sb.click("U_APP2", prd, "Request changes")
    sb.wait_for_view("U_APP2", "orch_feedback_modal")
    sb.submit_view("U_APP2", {"feedback": "Say who may download the export"})
    for text in ("PRD v2", "Task List v1", "Action Plan v1", "diff of task 1 v1", "diff of task 2 v1"):
        _approve(live, card, text)
    sb.wait_for_message("C_DEV", thread_ts=card.ts, text_contains="is done", timeout=20)
    live.bot.drain()
    sb.wait_for(lambda: card_field(live, card.ts, "Status") == "🎉 Done", what="the card to say Done")

    thread = sb.thread("C_DEV", card.ts)
    transcript = sb.transcript("C_DEV", card.ts)
    print(transcript)  # shown when the test fails: the thread as a person reads it
    kinds = [_kind(m) for m in thread]
    assert kinds == [
        "card",
        "progress",
        "Scaffold Check v1: approved",
        "PRD v1: changes requested",
        "PRD v2: approved",
        "Task List v1: approved",
        "note: Mini-Spec skipped",
        "Action Plan v1: approved",
        "diff of task 1: approved",
        "file",
        "diff of task 2: approved",
        "file",
        "note: done",
    ], transcript
    # Only the card is in the channel itself; nobody got an ephemeral; every decision is in place.
    assert [m.ts for m in sb.messages("C_DEV")] == [card.ts]
    assert sb.ephemerals("U_APP1") == [] and sb.ephemerals("U_REQ") == []
    assert len(DECISION.findall(transcript)) == 6
    assert "✏️ Changes requested by @blake" in transcript and "Say who may download the export" in transcript
    assert all(m.edited and not m.buttons for m in thread[2:] if _kind(m).endswith(("approved", "requested")))

    # The card tells the end of the story; the progress message said what happened while it did.
    assert (
        card_field(live, card.ts, "Next approvers") == "—"
        and "✅ Impl" in sb.message("C_DEV", card.ts).content
    )
    first = next(c.args["text"] for c in sb.calls("chat.postMessage") if c.response.get("ts") == thread[1].ts)
    progress = [first] + [c.args["text"] for c in sb.calls("chat.update") if c.args.get("ts") == thread[1].ts]
    # Each decision says what starts next before the work is even queued, so these always show, in order
    # ("Waiting for a decision…" lines come and go with timing, and are not counted on).
    steps = iter(progress)
    for step in (
        "🔎 Checking the repository's scaffold…",
        "✍️ Drafting PRD…",
        "✍️ Redrafting PRD with the feedback…",
        "✍️ Drafting Task List…",
        "✍️ Drafting Action Plan…",
        "🛠 Building task 1:",
        "🛠 Building task 2:",
        "🎉 Done",
    ):
        assert any(p.startswith(step) for p in steps), (step, progress)
    assert progress[-1].startswith("🎉 Done") and len(set(progress)) == len(progress)  # no needless edit
    assert len(sb.calls("chat.postMessage")) == 11  # card, progress, seven artifact versions, two notes
    assert goal(live).state == "done"


def _kind(message: Message) -> str:
    """What a thread message is, in the words of someone skimming it."""
    text = message.content
    if message.files:
        return "file"
    if "Request elevated mode" in message.buttons or "goal_card_fields" in str(message.blocks):
        return "card"
    if message.blocks and message.blocks[0].get("block_id", "").startswith("orch-status-"):
        return "progress"
    if "Mini-Spec skipped" in text:
        return "note: Mini-Spec skipped"
    if "is done" in text:
        return "note: done"
    decision = (
        "approved"
        if "✅ Approved by" in text
        else "changes requested"
        if "Changes requested by" in text
        else "undecided"
    )
    diff = re.search(r"DIFF V\d FOR G-\d+ · TASK (\d+)", text)
    if diff:
        return f"diff of task {diff.group(1)}: {decision}"
    header = re.search(r"^([A-Z][A-Z ]+) V(\d) FOR G-\d+", text, re.M)
    if header:
        label = {
            "SCAFFOLD CHECK": "Scaffold Check",
            "PRD": "PRD",
            "TASK LIST": "Task List",
            "ACTION PLAN": "Action Plan",
            "MINI-SPEC": "Mini-Spec",
        }.get(header.group(1), header.group(1))
        return f"{label} v{header.group(2)}: {decision}"
    return f"other: {text[:60]}"
