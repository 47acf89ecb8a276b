"""A Codex build that changed nothing is not offered as an approvable diff; Retry runs it again.

The real `codex app-server` against the scripted Responses server: the model's only change needs
an approval, an approver denies it, and the model still claims success. The thread says so (the
model's last message, the refused command, the run record) with Retry / Request changes / Cancel
goal; Retry builds again (denied again, still nothing), and Request changes builds with the
person's directions, where the approved command makes a diff to review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.observability.runs import load_run
from sandbox.models import ResponsesServer, exec_command, message
from storage.audit import AuditEntry
from storage.models import Artifact, Goal
from tests.support.codex import approve_documents_until, codex_or_skip, start_codex_live

BRIEF = "Write a greeting file for new readers."
CLAIM = "Implemented made.txt, tests passed."
SCRIPT = [[exec_command("echo hello > made.txt", escalate="Write the greeting")], [message(CLAIM)]]
ASKS = "Codex asks to run a command"

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    return codex_or_skip()


def test_a_build_that_changed_nothing_offers_retry_not_an_empty_diff(
    tmp_path: Path, target_repo: Path, codex_bin: Path
) -> None:
    with ResponsesServer(SCRIPT) as model:
        live = start_codex_live(tmp_path, target_repo, model, codex_bin, timeout=60)
        try:
            live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            approve_documents_until(live, card.ts, "changed nothing", deny=ASKS, never=" diff ")
            report = live.sb.find_message("C_DEV", thread_ts=card.ts, text_contains="changed nothing")
            assert report is not None
            assert live.sb.buttons(report) == ["Retry", "Request changes", "Cancel goal"]
            shown = " ".join(str(b) for b in report.raw["blocks"])
            assert CLAIM in shown and "echo hello &gt; made.txt" in shown and "refused" in shown

            with Session(live.container.engine) as session:
                goal = session.get(Goal, "G-0001")
                assert goal is not None and goal.status == "failed" and goal.mode == "read-only"
                diffs = session.exec(select(Artifact).where(Artifact.phase == "implementation")).all()
                assert diffs == []  # nothing to approve was recorded
                empty = session.exec(select(AuditEntry).where(AuditEntry.action == "build.empty")).one()
            record = load_run(tmp_path / "runs", str(empty.run_id))
            assert record["diff"] == "" and any(e["type"] == "orch.nothing_changed" for e in record["events"])

            # Someone who is neither the requester nor an approver cannot run it again.
            live.sb.click("U_OUT", report, "Retry")
            live.sb.wait_for(
                lambda: any("requester or an approver" in e.text for e in live.sb.ephemerals("U_OUT")),
                timeout=15,
                what="the refusal",
            )

            # The requester's Retry builds again; denied again, it changes nothing again.
            live.sb.click("U_REQ", report, "Retry")
            again = live.sb.wait_for(
                lambda: live.sb.find_message("C_DEV", thread_ts=card.ts, button="Deny", text_contains=ASKS),
                timeout=60,
                what="Codex's request in the second build",
            )
            live.sb.click("U_APP1", again, "Deny")
            second = live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, text_contains="(v2) changed nothing", button="Request changes"
                ),
                timeout=60,
                what="the second build's report",
            )
            after = live.sb.message("C_DEV", report.ts)
            assert after.buttons == [] and "asked to build task 1 again (v2)" in after.text

            # Request changes asks for directions in a modal; the build runs with them as feedback.
            live.sb.click("U_REQ", second, "Request changes")
            live.sb.wait_for(lambda: live.sb.open_view("U_REQ"), timeout=15, what="the directions modal")
            live.sb.submit_view("U_REQ", {"feedback": "Write the greeting file; ask for approval first."})
            asked = live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, button="Approve", text_contains=ASKS
                ),
                timeout=60,
                what="Codex's request in the third build",
            )
            live.sb.click("U_APP1", asked, "Approve")
            diff = live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, button="Approve", text_contains=" diff "
                ),
                timeout=60,
                what="the diff of the third build",
            )
            assert "+++ b/made.txt" in diff.content and "v3" in diff.text
            assert "asked for changes" in live.sb.message("C_DEV", second.ts).text
            prompts = [str(r["body"]["input"]) for r in model.requests]
            assert any("Write the greeting file; ask for approval first." in p for p in prompts)
        finally:
            live.bot.stop()
            live.sb.stop()
