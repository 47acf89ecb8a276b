"""Drafting through the Agents SDK counts towards a goal's budget, and a draft waits at 100%.

The real Agents SDK over HTTP to `sandbox.models.ChatServer` (10 prompt and 10 completion tokens a
call), priced at $1,000 per million tokens each way: $0.02 a draft. With a $0.03 budget the PRD
draft brings the goal to 67%, the Task List draft to 133%: the thread asks an approver, and the next
draft waits (held, audited) until an approver raises the budget; then it is drafted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.blocks.budget import BUDGET_FIELD, RAISE_ACTION
from sandbox.models import ChatServer
from storage.audit import AuditEntry
from tests.conftest import Live, start_live
from tests.e2e.test_failed_work import answers

PRICES = {"local-model": {"input": 1000.0, "output": 1000.0}}


@pytest.fixture
def model() -> Iterator[ChatServer]:
    with ChatServer(answers()) as server:
        yield server


def test_drafts_are_priced_and_the_next_draft_waits_for_a_raise(
    tmp_path: Path, target_repo: Path, model: ChatServer
) -> None:
    live = start_live(
        tmp_path,
        target_repo,
        agent_backend="openai",
        openai_base_url=model.base_url,
        openai_api="chat_completions",
        drafter_model="local-model",
        implementer="direct",
        model_timeout=5,
        prices=PRICES,
        runs_dir=tmp_path / "runs",
    )
    try:
        live.sb.slash("U_REQ", "C_DEV", "start --budget 0.03 Add a CSV export.")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        paused = None
        for _ in range(10):  # approve each document until the budget is reached and nothing waits
            found = live.sb.wait_for(
                lambda: live.sb.find_message("C_DEV", thread_ts=card.ts, button="Approve"),
                timeout=60,
                what="a document to approve",
            )
            live.sb.click("U_APP1", found, "Approve")
            live.sb.wait_for(
                lambda m=found: "Approve" not in live.sb.buttons(live.sb.message("C_DEV", m.ts)),
                timeout=30,
                what="the approval",
            )
            paused = live.sb.find_message("C_DEV", thread_ts=card.ts, text_contains="reached its budget")
            if paused is not None and "Task List" in str(found.blocks):
                break
        assert paused is not None and "$0.0400 spent of $0.0300" in paused.text
        held = live.sb.wait_for(
            lambda: next(
                (
                    e
                    for e in _entries(live, "budget.paused")
                    if (e.payload_dict().get("held") or {}).get("kind") == "draft"
                ),
                None,
            ),
            timeout=60,
            what="the next draft to be held",
        )
        live.sb.click("U_APP1", paused, action_id=RAISE_ACTION)
        live.sb.wait_for_view("U_APP1", callback_id="orch_budget_modal", timeout=15)
        live.sb.submit_view("U_APP1", {BUDGET_FIELD: "1"})
        live.sb.wait_for(
            lambda: live.sb.find_message("C_DEV", thread_ts=card.ts, button="Approve"),
            timeout=60,
            what="the held draft, drafted after the raise",
        )
    finally:
        live.bot.stop()
        live.sb.stop()

    assert held.payload_dict()["held"]["kind"] == "draft"
    runs = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/run.json")]
    drafts = [r for r in runs if r.get("role") == "drafter"]
    assert len(drafts) == 3 and all(r["model"] == "local-model" for r in drafts)
    assert all(r["usage"]["input_tokens"] == 10 and r["usage"]["output_tokens"] == 10 for r in drafts)
    raised = _entries(live, "budget.raised")
    assert [(e.actor, e.payload_dict()["budget_to"]) for e in raised] == [("U_APP1", 1.0)]


def _entries(live: Live, action: str) -> list[AuditEntry]:
    with Session(live.container.engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.seq)))
        )
