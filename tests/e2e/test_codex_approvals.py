"""Codex's approval requests in the goal's thread, with the real `codex app-server`.

In the default read-only mode Codex writes inside the goal's worktree freely; a command it wants
to run outside its sandbox arrives in the thread with the exact command shown and Approve / Deny.
The requester's click is refused; an approver's Approve lets Codex run it; Deny makes Codex go on
without it. The diff, the refused and approved actions and the usage are in the run record, and
the usage, priced from the table, is in `/orch status`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.observability.runs import load_run
from sandbox import Message
from sandbox.models import ResponsesServer, apply_patch, exec_command, message
from storage.audit import AuditEntry
from storage.models import CodexApproval, Goal
from tests.support.codex import approve_documents_until, codex_or_skip, start_codex_live

BRIEF = "Add a changelog and stamp the build."
ADD = "*** Begin Patch\n*** Add File: CHANGELOG.md\n+# Changelog\n*** End Patch"
SCRIPT = [
    [apply_patch(ADD)],
    [exec_command("echo stamped > STAMP.txt", escalate="Stamp the build")],
    [exec_command("curl -s https://example.com > page.html", escalate="Fetch the page")],
    [message("Added the changelog and stamped the build.")],
]

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    return codex_or_skip()


def shown(msg: Message) -> str:
    return str(msg.raw["blocks"][0]["text"]["text"])


def test_codex_asks_in_the_thread_and_only_an_approver_decides(
    tmp_path: Path, target_repo: Path, codex_bin: Path
) -> None:
    with ResponsesServer(SCRIPT) as model:
        live = start_codex_live(
            tmp_path,
            target_repo,
            model,
            codex_bin,
            timeout=120,
            prices={"gpt-5.5": {"input": 1.25, "output": 10.0}},
        )
        try:
            live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            first = approve_documents_until(live, card.ts, "Codex asks to run a command")
            assert "echo stamped &gt; STAMP.txt" in shown(first) and "Stamp the build" in shown(first)
            assert first.buttons == ["Approve", "Deny"]

            # The requester may not approve what Codex asks on their own goal.
            live.sb.click("U_REQ", first, "Approve")
            live.sb.wait_for(
                lambda: any("you cannot approve" in e.text for e in live.sb.ephemerals("U_REQ")),
                timeout=15,
                what="the requester's refusal",
            )
            live.sb.click("U_APP1", first, "Approve")

            second = live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, text_contains="Codex asks to run a command", after=first
                ),
                timeout=60,
                what="Codex's second request",
            )
            assert "curl -s https://example.com" in shown(second)
            live.sb.click("U_APP2", second, "Deny")

            diff = live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, button="Approve", text_contains=" diff "
                ),
                timeout=60,
                what="the diff",
            )
            decided = live.sb.message("C_DEV", first.ts)
            assert decided.buttons == [] and "Approved by <@U_APP1>" in str(decided.blocks)

            # The run's usage, priced from the table, is in /orch status.
            live.sb.slash("U_REQ", "C_DEV", "status G-0001")
            status = live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="Usage:")
        finally:
            live.bot.stop()
            live.sb.stop()

    # The scripted server reports 100 input tokens per request and 10 output tokens per output item.
    items = sum(len(step) for step in SCRIPT)
    tokens_in, tokens_out = 100 * len(model.requests), 10 * items
    cost = (tokens_in * 1.25 + tokens_out * 10.0) / 1e6
    assert (
        f"Usage: 1 run(s), {tokens_in:,} input tokens (0 cached), {tokens_out:,} output tokens" in status.text
    )
    assert f"${cost:.4f}" in status.text

    # The write inside the worktree and the approved command are in the diff; the denied one is not.
    assert "+++ b/CHANGELOG.md" in diff.content and "+++ b/STAMP.txt" in diff.content
    assert "b/page.html" not in diff.content
    outputs = model.tool_outputs()
    assert any("rejected by user" in o for o in outputs)

    with Session(live.container.engine) as session:
        rows = session.exec(select(CodexApproval).order_by(col(CodexApproval.created_at))).all()
        assert [(r.status, r.decided_by) for r in rows] == [("approved", "U_APP1"), ("denied", "U_APP2")]
        actions = [
            (e.action, e.actor)
            for e in session.exec(
                select(AuditEntry)
                .where(col(AuditEntry.action).startswith("codex."))
                .order_by(col(AuditEntry.seq))
            )
        ]
        refused = session.exec(select(AuditEntry).where(AuditEntry.action == "decision.refused")).all()
        goal = session.get(Goal, "G-0001")
    assert goal is not None and goal.mode == "read-only"
    assert actions == [
        ("codex.approval_requested", "codex"),
        ("codex.approval_decided", "U_APP1"),
        ("codex.approval_requested", "codex"),
        ("codex.approval_decided", "U_APP2"),
    ]
    assert any(e.actor == "U_REQ" and e.payload_dict().get("codex_request") == rows[0].id for e in refused)

    record = load_run(tmp_path / "runs", str(rows[0].run_id))
    assert record["meta"]["driver"] == "app-server" and record["meta"]["usage"]["output_tokens"] > 0
    decisions = [(e["command"], e["approved"]) for e in record["events"] if e["type"] == "approval.decided"]
    assert len(decisions) == 2 and [approved for _cmd, approved in decisions] == [True, False]
    commands = {
        e["item"]["command"]: e["item"]["status"]
        for e in record["events"]
        if e["type"] == "item.completed" and e["item"]["type"] == "command_execution"
    }
    assert any("STAMP.txt" in c and s == "completed" for c, s in commands.items())
    assert any("curl" in c and s == "declined" for c, s in commands.items())
    assert "CHANGELOG.md" in record["diff"] and "STAMP.txt" in record["diff"]
