"""A Codex build that changed nothing is not offered as an approvable diff; Retry runs it again.

The real `codex` CLI against the scripted Responses server: in the default read-only mode the
model's write fails, it still claims success, and the worktree is unchanged. The thread says so
(with the model's last message and its run record) with Retry / Request changes / Cancel goal;
once the goal may write, Retry builds again and the diff is offered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.codex.binary import find_codex
from bot.runs import load_run
from sandbox.models import ResponsesServer, exec_command, message
from storage.audit import AuditEntry
from storage.db import transaction
from storage.models import Artifact, Goal
from tests.conftest import Live, start_live

BRIEF = "Write a greeting file for new readers."
CLAIM = "Implemented made.txt, tests passed."
SCRIPT = [[exec_command("echo hello > made.txt")], [message(CLAIM)]]

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    found = find_codex()
    if found is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    return found


def approve_until_the_build(live: Live, card_ts: str) -> None:
    """Approve each document until the first build has reported; a diff offered here is a failure."""
    for _ in range(20):
        found = live.sb.wait_for(
            lambda: (
                live.sb.find_message("C_DEV", thread_ts=card_ts, text_contains="changed nothing")
                or live.sb.find_message("C_DEV", thread_ts=card_ts, button="Approve")
            ),
            timeout=60,
            what="an artifact to approve or the build's report",
        )
        if "changed nothing" in found.text:
            return
        assert " diff " not in found.text, f"an empty diff was offered for approval: {found.text}"
        live.sb.click("U_APP1", found, "Approve")
        live.sb.wait_for(
            lambda m=found: "Approve" not in live.sb.buttons(live.sb.message("C_DEV", m.ts)),
            timeout=30,
            what="the decision to replace the buttons",
        )
    raise AssertionError("the build never reported")


def test_a_build_that_changed_nothing_offers_retry_not_an_empty_diff(
    tmp_path: Path, target_repo: Path, codex_bin: Path
) -> None:
    with ResponsesServer(SCRIPT) as model:
        live = start_live(
            tmp_path,
            target_repo,
            builder="codex",
            codex_provider_url=model.base_url,
            codex_bin=str(codex_bin),
            codex_timeout=60,
            runs_dir=tmp_path / "runs",
        )
        try:
            live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            approve_until_the_build(live, card.ts)
            report = live.sb.find_message("C_DEV", thread_ts=card.ts, text_contains="changed nothing")
            assert report is not None
            assert live.sb.buttons(report) == ["Retry", "Request changes", "Cancel goal"]
            shown = " ".join(str(b) for b in report.raw["blocks"])
            assert CLAIM in shown  # the model's claim is shown next to the fact that nothing changed

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

            # Once the goal may write, the requester's Retry builds again and the diff is offered.
            with transaction(live.container.engine) as session:
                row = session.get(Goal, "G-0001")
                assert row is not None
                row.mode = "workspace-write"
                session.add(row)
            live.sb.click("U_REQ", report, "Retry")
            diff = live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, button="Approve", text_contains=" diff "
                ),
                timeout=60,
                what="the diff of the second build",
            )
            assert "made.txt" in diff.content
            after = live.sb.message("C_DEV", report.ts)
            assert after.buttons == [] and "asked to build task 1 again" in after.text
        finally:
            live.bot.stop()
            live.sb.stop()
