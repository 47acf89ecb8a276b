"""The real `codex` CLI as the builder, against the project's scripted Responses API server.

A goal goes through the gates in the sandbox Slack; at Implementation the bot runs `codex exec
--json` in the goal's worktree; Codex edits README.md through `apply_patch` and runs a shell command
through `exec_command`; the diff is posted in the thread; an approver approves; the change is merged
and committed; the run record holds the transcript and the diff.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.observability.runs import load_run
from sandbox.models import ResponsesServer, apply_patch, exec_command, message
from storage.audit import AuditEntry
from storage.db import transaction
from storage.models import Goal
from tests.conftest import Live
from tests.support.codex import codex_or_skip, start_codex_live

BRIEF = "Greet readers in the README. Keep a note of every change."
PATCH = """*** Begin Patch
*** Update File: README.md
@@
 # Target service
+Edited by Codex.
*** End Patch"""
SCRIPT = [
    [apply_patch(PATCH)],
    [exec_command("echo built-by-codex >> CODEX_NOTES.txt && cat CODEX_NOTES.txt")],
    [message("Greeted readers in README.md and noted the change.")],
]

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    return codex_or_skip()


def grant_workspace_write(live: Live, goal_id: str) -> None:
    # The elevation flow is another part of the product; the test grants the mode directly.
    with transaction(live.container.engine) as session:
        goal = session.get(Goal, goal_id)
        assert goal is not None
        goal.mode = "workspace-write"
        session.add(goal)


def approve_everything(live: Live, card_ts: str) -> list[str]:
    """Approve each artifact and diff until the goal is done; return the texts of the diffs approved."""
    diffs = []
    for _ in range(20):
        found = live.sb.wait_for(
            lambda: (
                "done"
                if any("is done:" in m.text for m in live.sb.thread("C_DEV", card_ts))
                else live.sb.find_message("C_DEV", thread_ts=card_ts, button="Approve")
            ),
            timeout=60,
            what="an artifact or diff to approve, or the goal to finish",
        )
        if found == "done":
            return diffs
        if " diff " in found.text:
            diffs.append(found.content)
        live.sb.click("U_APP1", found, "Approve")
        live.sb.wait_for(
            lambda m=found: "Approve" not in live.sb.buttons(live.sb.message("C_DEV", m.ts)),
            timeout=30,
            what="the decision to replace the buttons",
        )
    raise AssertionError("the goal did not finish")


def test_codex_edits_the_worktree_and_the_approved_diff_is_merged(
    tmp_path: Path, target_repo: Path, codex_bin: Path
) -> None:
    with ResponsesServer(SCRIPT) as model:
        live = start_codex_live(tmp_path, target_repo, model, codex_bin, timeout=60)
        try:
            live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            grant_workspace_write(live, "G-0001")
            diffs = approve_everything(live, card.ts)
        finally:
            live.bot.stop()
            live.sb.stop()

    # Codex talked to the local model and both tools really ran.
    assert all(r["path"] == "/v1/responses" and r["body"]["stream"] is True for r in model.requests)
    outputs = " ".join(model.tool_outputs())
    assert "Success. Updated the following files" in outputs and "Process exited with code 0" in outputs

    # While Codex worked, the goal's one status message was edited with its progress.
    progress = [
        str(c.args.get("text", ""))
        for c in live.sb.calls("chat.update") + live.sb.calls("chat.postMessage")
        if "Codex done" in str(c.args.get("text", ""))
    ]
    assert any("file(s) changed: README.md" in p and "command(s) run" in p for p in progress), progress

    # The diff posted in the thread is Codex's change, and it was approved and merged.
    assert diffs and "README.md" in diffs[0] and "CODEX_NOTES.txt" in diffs[0]
    log = subprocess.run(
        ["git", "-C", str(target_repo), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert "merge task 1" in log and "goal done" in log
    assert "Edited by Codex." in (target_repo / "README.md").read_text()
    assert "built-by-codex" in (target_repo / "CODEX_NOTES.txt").read_text()

    # The audit entry links the diff to its run record, which holds the transcript and the diff.
    with Session(live.container.engine) as session:
        drafted = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "artifact.drafted", AuditEntry.phase == "implementation"
            )
        ).all()
    run_ids = [e.run_id for e in drafted]
    assert len(run_ids) == len(diffs) and all(run_ids)
    assert f"Run record: `{run_ids[0]}`" in diffs[0]  # the thread links the diff to its run
    record = load_run(tmp_path / "runs", run_ids[0])
    assert record["meta"]["status"] == "completed" and record["meta"]["backend"] == "codex"
    assert record["meta"]["sandbox"] == "workspace-write" and record["meta"]["usage"]["output_tokens"] > 0
    items = [e["item"]["type"] for e in record["events"] if e["type"] == "item.completed"]
    assert {"file_change", "command_execution", "agent_message"} <= set(items)
    assert "+Edited by Codex." in record["diff"] and "CODEX_NOTES.txt" in record["diff"]
    assert json.dumps(record).count("xoxb-sandbox") == 0  # the bot's token never reaches a run record
