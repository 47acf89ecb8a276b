"""Nothing the bot posts exceeds Block Kit's limits: an artifact too long for a message is shown as a
preview and uploaded whole as a file (files.getUploadURLExternal / files.completeUploadExternal)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bot.blocks.limits import check_message
from storage.models import Artifact
from tests.conftest import Live

# A brief near the 20,000-character limit, every sentence its own requirement.
LONG_BRIEF = " ".join(
    f"The export must include column c{n} computed from ledger entry {n * 7}." for n in range(270)
)
FEEDBACK = (
    "Spell out the rounding rule for every column, with an example for each. " * 40
)  # ~2,900 characters


@pytest.mark.slow
def test_a_long_artifact_is_previewed_and_uploaded_whole_and_no_post_breaks_the_limits(live: Live) -> None:
    sb = live.sb
    assert len(LONG_BRIEF) > 18_000 and len(FEEDBACK) < 3000
    sb.slash("U_REQ", "C_DEV", f"start {LONG_BRIEF}")
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=20)
    sb.click("U_APP1", scaffold, "Approve")

    # Each round quotes the feedback on top of the previous version, until it no longer fits a message.
    version = 1
    while True:
        prd = sb.wait_for_message(
            "C_DEV", thread_ts=card.ts, button="Approve", text_contains=f"PRD v{version}", timeout=20
        )
        if "Full text attached as a file" in prd.content:
            break
        assert version < 6, "the PRD never grew past a message"
        sb.click("U_APP2", prd, "Request changes")
        sb.wait_for_view("U_APP2", "orch_feedback_modal")
        sb.submit_view("U_APP2", {"feedback": FEEDBACK})
        version += 1

    with Session(live.container.engine) as session:
        stored = session.exec(
            select(Artifact).where(Artifact.phase == "prd").order_by(col(Artifact.id).desc())
        ).first()
    assert stored is not None and stored.version == version
    assert (
        len(stored.content) > 9000 and len(prd.content) < len(stored.content) / 2
    )  # a preview, not the text
    upload = sb.wait_for(
        lambda: next(
            (m for m in sb.thread("C_DEV", card.ts) if m.files and f"-prd-v{version}" in m.files[0]["name"]),
            None,
        ),
        what="the full PRD as a file in the thread",
    )
    assert upload.files[0]["content"] == stored.content  # whole, byte for byte
    assert [c.ok for c in sb.calls("files.getUploadURLExternal")] and all(
        c.ok for c in sb.calls("files.completeUploadExternal")
    )

    sb.click("U_APP1", prd, "Approve")
    decided = sb.wait_for(
        lambda: (m := sb.message("C_DEV", prd.ts)) and not m.buttons and m,
        what="the decision on the long PRD",
    )
    assert "Full text attached as a file" in decided.content  # still says where the rest is

    # Every post and edit Slack accepted, and each is within our budget below Slack's refusals.
    writes = sb.calls("chat.postMessage") + sb.calls("chat.update")
    assert writes and all(c.ok for c in writes), [c.error for c in writes if not c.ok]
    for message in sb.thread("C_DEV", card.ts):
        if message.blocks:
            check_message(message.blocks)
    assert max(len(m.blocks) for m in sb.thread("C_DEV", card.ts)) <= 50
