"""A goal's budget with the real `codex app-server`: a warning at 80%, a pause at 100%, an approver's raise.

Prices are set so each scripted request costs $0.20 (100 input tokens at $1,000 per million and 10
output tokens at $10,000 per million). With a $0.50 budget the second request brings the goal to
80% (the thread is warned) and the third to 120%: the turn is interrupted while its command runs
and the thread asks an approver to raise the budget or stop. The requester cannot raise it; an
approver raises it to $2 and the build runs again to its diff. The cost `/orch status` shows is the
scripted server's token counts times the price table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.blocks.budget import BUDGET_FIELD, RAISE_ACTION
from sandbox.models import ResponsesServer, exec_command, message
from storage.audit import AuditEntry
from storage.models import Goal
from tests.support.codex import approve_documents_until, codex_or_skip, start_codex_live

BRIEF = "Write the three greeting files."
PRICES = {"gpt-5.5": {"input": 1000.0, "cached_input": 1000.0, "output": 10000.0}}
PER_REQUEST = (100 * 1000.0 + 10 * 10000.0) / 1e6  # one output item per scripted reply

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    return codex_or_skip()


def waiting_command(signal: Path) -> dict[str, Any]:
    cmd = f"echo three > three.txt; while [ ! -f {signal} ]; do sleep 0.1; done"
    arguments = {"cmd": cmd, "yield_time_ms": 5_000}
    return {"type": "function_call", "name": "exec_command", "arguments": json.dumps(arguments)}


def test_the_budget_warns_pauses_at_100_percent_and_an_approvers_raise_resumes(
    tmp_path: Path, target_repo: Path, codex_bin: Path
) -> None:
    signal = tmp_path / "go"
    script = [
        [exec_command("echo one > one.txt")],
        [exec_command("echo two > two.txt")],
        [waiting_command(signal)],
        [message("Wrote the greetings.")],
    ]
    with ResponsesServer(script) as model:
        live = start_codex_live(tmp_path, target_repo, model, codex_bin, timeout=120, prices=PRICES)
        try:
            live.sb.slash("U_REQ", "C_DEV", f"start --budget 0.5 {BRIEF}")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            paused = approve_documents_until(live, card.ts, "reached its budget")
            warned = live.sb.find_message("C_DEV", thread_ts=card.ts, text_contains="has used")
            assert warned is not None and "80%" in warned.text, "no warning at 80% before the pause"
            first_run = len(model.requests)
            assert f"${first_run * PER_REQUEST:.4f} spent of $0.5000" in paused.text
            assert paused.buttons == ["Raise budget", "Stop goal"]
            # The third request's usage stops the turn while its command waits (when Codex reports
            # that usage only after the command yields, the fourth request ends the turn).
            assert first_run in (3, 4)

            # The requester cannot raise it.
            live.sb.click("U_REQ", paused, action_id=RAISE_ACTION)
            live.sb.wait_for(
                lambda: any("Only an approver" in e.text for e in live.sb.ephemerals("U_REQ")),
                timeout=15,
                what="the requester's refusal",
            )
            signal.touch()  # the next build's waiting command ends at once
            live.sb.click("U_APP1", paused, action_id=RAISE_ACTION)
            live.sb.wait_for_view("U_APP1", callback_id="orch_budget_modal", timeout=15)
            live.sb.submit_view("U_APP1", {BUDGET_FIELD: "2"})
            live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, button="Approve", text_contains=" diff "
                ),
                timeout=90,
                what="the diff of the resumed build",
            )
            # The card shows the cost against the new budget.
            live.sb.wait_for(
                lambda: "of its $2.00 budget" in str(live.sb.message("C_DEV", card.ts).blocks),
                timeout=30,
                what="the cost on the goal card",
            )
            live.sb.slash("U_REQ", "C_DEV", "status G-0001")
            status = live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="Usage:")
        finally:
            live.bot.stop()
            live.sb.stop()

    requests = len(model.requests)
    assert requests == first_run + len(script)
    tokens_in, tokens_out = 100 * requests, 10 * requests
    assert f"{tokens_in:,} input tokens (0 cached), {tokens_out:,} output tokens" in status.text
    assert f"${requests * PER_REQUEST:.4f}" in status.text
    assert "Budget: " in status.text and "of its $2.00 budget" in status.text

    with Session(live.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        actions = [
            (e.action, e.actor)
            for e in session.exec(
                select(AuditEntry)
                .where(col(AuditEntry.action).startswith("budget."))
                .order_by(col(AuditEntry.seq))
            )
        ]
    assert goal is not None and goal.budget_usd == 2.0
    assert actions[0] == ("budget.warned", "bot") and ("budget.paused", "bot") in actions
    assert actions[-1] == ("budget.raised", "U_APP1")
