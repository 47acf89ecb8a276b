"""A reply in the goal's thread while Codex builds is a follow-up instruction, from the right people only.

The real `codex app-server`: the scripted model runs a command that waits for a signal file. While
it waits, someone with no stake in the goal replies in the thread (not sent; they are told so) and
an approver replies (sent with `turn/steer`; they are told so). Once the command ends, the model's
next request carries the approver's instruction and never the other reply; the audit and the run
record name its author.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.observability.runs import load_run
from sandbox.models import ResponsesServer, message
from storage.audit import AuditEntry
from tests.support.codex import approve_documents_until, codex_or_skip, start_codex_live

BRIEF = "Write the greeting file."
STEER = "Name the file HELLO.txt, not hello.txt."
IGNORED = "Please also delete the README."

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    return codex_or_skip()


def waiting_command(signal: Path) -> dict[str, Any]:
    """A command that runs until `signal` exists (the tool call waits for it to end)."""
    cmd = f"echo hi > hello.txt; while [ ! -f {signal} ]; do sleep 0.1; done"
    arguments = {"cmd": cmd, "yield_time_ms": 60_000}
    return {"type": "function_call", "name": "exec_command", "arguments": json.dumps(arguments)}


def user_texts(body: dict[str, Any]) -> str:
    return json.dumps([item for item in body.get("input") or [] if item.get("role") == "user"])


def test_a_reply_by_an_approver_steers_codex_and_one_by_anyone_else_does_not(
    tmp_path: Path, target_repo: Path, codex_bin: Path
) -> None:
    signal = tmp_path / "go"
    with ResponsesServer([[waiting_command(signal)], [message("Wrote the greeting.")]]) as model:
        live = start_codex_live(tmp_path, target_repo, model, codex_bin, timeout=120)
        try:
            live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            approve_documents_until(live, card.ts, "Codex working")

            live.sb.post("U_OUT", "C_DEV", IGNORED, thread_ts=card.ts)
            live.sb.wait_for(
                lambda: any(
                    "your reply was not sent to Codex" in e.text for e in live.sb.ephemerals("U_OUT")
                ),
                timeout=15,
                what="the outsider to be told their reply was not sent",
            )
            live.sb.post("U_APP1", "C_DEV", STEER, thread_ts=card.ts)
            live.sb.wait_for(
                lambda: any("Sent to Codex" in e.text for e in live.sb.ephemerals("U_APP1")),
                timeout=15,
                what="the approver to be told their reply was sent",
            )
            signal.touch()  # the command ends; Codex's next request carries the follow-up
            live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, button="Approve", text_contains=" diff "
                ),
                timeout=60,
                what="the diff",
            )
        finally:
            live.bot.stop()
            live.sb.stop()

    steered = [r for r in model.requests if STEER in user_texts(r["body"])]
    assert steered, "no request to the model carried the approver's follow-up"
    assert "<@U_APP1>" in user_texts(steered[0]["body"])
    assert not any(IGNORED in json.dumps(r["body"]) for r in model.requests)

    with Session(live.container.engine) as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.action == "build.steered").order_by(col(AuditEntry.seq))
        ).all()
    assert [(e.actor, e.payload_dict()["delivered"]) for e in entries] == [("U_APP1", True)]
    assert STEER in entries[0].payload_dict()["text"]
    runs = [load_run(tmp_path / "runs", p.parent.name) for p in (tmp_path / "runs").glob("*/run.json")]
    events = [e for r in runs for e in r["events"] if e["type"] == "orch.steered"]
    assert [(e["by"], STEER in e["text"]) for e in events] == [("U_APP1", True)]


def test_a_follow_up_recorded_by_another_process_reaches_the_running_turn(
    tmp_path: Path, target_repo: Path, codex_bin: Path
) -> None:
    """A web process that does not run the build records the reply undelivered; the process running
    it picks it up (`WorkEffects._watch_stop`) and steers the turn."""
    from datetime import UTC, datetime

    from bot.services.build_steer import STEERED, instruction
    from bot.services.unit import Actor, audit
    from storage.db import transaction
    from storage.models import Goal

    signal = tmp_path / "go"
    with ResponsesServer([[waiting_command(signal)], [message("Wrote the greeting.")]]) as model:
        live = start_codex_live(tmp_path, target_repo, model, codex_bin, timeout=120)
        try:
            live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            approve_documents_until(live, card.ts, "Codex working")
            with transaction(live.container.engine) as session:
                audit(
                    session,
                    actor=Actor("U_REQ"),
                    action=STEERED,
                    now=datetime.now(UTC),
                    goal=session.get(Goal, "G-0001"),
                    text=instruction(author="U_REQ", role="requester", text=STEER),
                    delivered=False,
                )
            live.sb.wait_for(
                lambda: any(
                    e["type"] == "orch.steered"
                    for p in (tmp_path / "runs").glob("*/run.json")
                    for e in load_run(tmp_path / "runs", p.parent.name)["events"]
                ),
                timeout=30,
                what="the running process to send the recorded follow-up",
            )
            signal.touch()
            live.sb.wait_for(
                lambda: live.sb.find_message(
                    "C_DEV", thread_ts=card.ts, button="Approve", text_contains=" diff "
                ),
                timeout=60,
                what="the diff",
            )
        finally:
            live.bot.stop()
            live.sb.stop()

    steered = [r for r in model.requests if STEER in user_texts(r["body"])]
    assert steered and "<@U_REQ>" in user_texts(steered[0]["body"])
