"""A draft that fails against a real (local) model: the thread says so, and the goal moves on again.

The drafter is the real Agents SDK path over HTTP to `sandbox.models.ChatServer`, which can fail on
purpose (HTTP 500 / 503, malformed or schema-invalid answers). The job queue retries with a tiny
backoff from orch.toml, so the tests wait only for the bot's own work.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.agents import _offline_phases
from bot.agents.drafting import OUTPUT_TYPES, DraftRequest
from bot.agents.templates import load_template
from bot.sop.phases import LABELS, Phase
from sandbox import Message
from sandbox.models import ChatServer
from storage.audit import AuditEntry
from storage.models import Goal
from tests.conftest import Live, start_live

BUILD = {
    Phase.PRD: _offline_phases.build_prd,
    Phase.TASK_LIST: _offline_phases.build_task_list,
    Phase.SPEC: _offline_phases.build_spec,
    Phase.ACTION_PLAN: _offline_phases.build_action_plan,
}


def answers() -> dict[str, str]:
    """A valid structured answer per phase, keyed by the words the drafter's instructions start with."""
    out = {}
    for phase in OUTPUT_TYPES:
        req = DraftRequest(
            goal_id="G-0001",
            title="CSV export",
            brief="Add a CSV export.",
            phase=phase,
            template=load_template(phase),
        )
        payload = BUILD[phase](req).model_dump(mode="json")
        payload["summary"] = f"Model {phase.value} draft."
        out[f"You draft the {LABELS[phase]} for goal"] = json.dumps(payload)
    return out


def jobs_config(tmp_path: Path, *, sweep_seconds: float) -> Path:
    path = tmp_path / "orch.toml"
    path.write_text(
        "[jobs]\nmax_attempts = 2\nbackoff_seconds = 0.05\nbackoff_cap_seconds = 0.05\npoll_seconds = 0.1\n"
        f"leader_poll_seconds = 0.1\nsweep_seconds = {sweep_seconds}\n"
    )
    return path


@pytest.fixture
def model() -> Iterator[ChatServer]:
    with ChatServer(answers()) as server:
        yield server


def live_with_model(tmp_path: Path, repo: Path, model: ChatServer) -> Live:
    return start_live(
        tmp_path,
        repo,
        agent_backend="openai",
        openai_base_url=model.base_url,
        openai_api="chat_completions",
        drafter_model="local-model",
        implementer="direct",
        model_timeout=5,
    )


def goal_row(live: Live) -> Goal:
    with Session(live.container.engine) as session:
        found = session.get(Goal, "G-0001")
        assert found is not None
        return found


def audit(live: Live, action: str) -> list[tuple[str, dict[str, Any]]]:
    """(actor, payload) of each audit entry with this action, oldest first."""
    with Session(live.container.engine) as session:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.seq))
        )
        return [
            (e.actor, json.loads(e.payload) if isinstance(e.payload, str) else dict(e.payload or {}))
            for e in rows
        ]


def approve_next(live: Live, card: Message, label: str) -> None:
    """Approve the artifact awaiting a decision whose text names `label`."""
    found = live.sb.wait_for_message(
        "C_DEV", thread_ts=card.ts, button="Approve", text_contains=label, timeout=30
    )
    live.sb.click("U_APP1", found, "Approve")
    live.sb.wait_for(
        lambda: "Approve" not in live.sb.message("C_DEV", found.ts).buttons,
        timeout=30,
        what=f"the {label} decision",
    )


def failure_message(live: Live, card: Message, after: str | Message | None = None) -> Message:
    return live.sb.wait_for(
        lambda: live.sb.find_message("C_DEV", card.ts, button="Retry", after=after),
        timeout=30,
        what="the failure message with Retry",
    )


def settled_message(live: Live, failed: Message) -> Message:
    """The failure message once its buttons gave way to what was done."""
    return live.sb.wait_for(
        lambda: (m := live.sb.message("C_DEV", failed.ts)) and "Retry" not in m.buttons and m,
        timeout=30,
        what="the failure message to lose its buttons",
    )


def progress_texts(live: Live) -> list[str]:
    """Every text the bot sent to Slack (posts and edits), to see what the thread showed on the way."""
    return [
        str(c.args.get("text", ""))
        for c in live.sb.calls()
        if c.method in ("chat.postMessage", "chat.update")
    ]


def test_a_model_outage_fails_the_draft_visibly_and_the_goal_moves_on_by_itself_when_the_model_is_back(
    tmp_path: Path, target_repo: Path, model: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CONFIG", str(jobs_config(tmp_path, sweep_seconds=0.5)))
    live = live_with_model(tmp_path, target_repo, model)
    try:
        model.down()
        assert live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of invoices").status == 200
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        approve_next(live, card, "Scaffold")

        failed = failure_message(live, card)
        assert "Drafting the PRD (v1) failed after 2 attempt(s)" in failed.text
        assert {"Retry", "Request changes", "Cancel goal"} <= set(failed.buttons)
        assert goal_row(live).status == "failed"
        assert any("retrying (2/2)" in text for text in progress_texts(live))  # the thread showed the retry
        assert audit(live, "job.retried") == []  # while the model is down, its probe fails: no retry

        model.up()
        live.sb.wait_for_message(
            "C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD", timeout=30
        )
        ((actor, payload),) = audit(live, "job.retried")
        assert actor == "scheduler" and payload["automatic"] is True
        assert "runs again by itself" in settled_message(live, failed).text
        assert goal_row(live).status == "awaiting_approval"
    finally:
        live.bot.stop()
        live.sb.stop()


def test_retry_request_changes_and_rerequest_move_a_failed_draft_on(
    tmp_path: Path, target_repo: Path, model: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CONFIG", str(jobs_config(tmp_path, sweep_seconds=3600)))  # no automatic retry
    live = live_with_model(tmp_path, target_repo, model)
    try:
        assert live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of invoices").status == 200
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")

        # 1. HTTP 500s, then Retry.
        model.fail_next(100, "500")
        approve_next(live, card, "Scaffold")
        failed = failure_message(live, card)
        model.up()
        live.sb.click("U_REQ", failed, "Retry")  # the requester may retry
        live.sb.wait_for_message(
            "C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD", timeout=30
        )
        settled = settled_message(live, failed)
        assert "asked to try again: Drafting the PRD (v1)" in settled.text

        # 2. Malformed answers, then Request changes with feedback (there is no artifact to click).
        model.fail_next(100, "malformed")
        approve_next(live, card, "PRD")
        failed = failure_message(live, card, after=failed)
        model.up()
        live.sb.click("U_APP2", failed, "Request changes")
        live.sb.wait_for(lambda: live.sb.open_view("U_APP2"), what="the feedback modal")
        live.sb.submit_view("U_APP2", {"feedback": "Keep the task list to two tasks."})
        live.sb.wait_for_message(
            "C_DEV", thread_ts=card.ts, button="Approve", text_contains="Task List", timeout=30
        )
        assert "asked for changes" in settled_message(live, failed).text
        last = model.requests[-1]["body"]
        assert "Keep the task list to two tasks." in json.dumps(last)
        assert audit(live, "job.retried")[-1][1]["feedback"] == "Keep the task list to two tasks."

        # 3. Schema-invalid answers, then `/orch rerequest`.
        model.fail_next(100, "invalid")
        approve_next(live, card, "Task List")
        failed = failure_message(live, card, after=failed)
        model.up()
        answer = live.sb.slash("U_REQ", "C_DEV", "rerequest G-0001")
        assert answer.status == 200
        told = live.sb.wait_for(
            lambda: [m for m in live.sb.ephemerals("U_REQ") if "runs again" in m.text],
            timeout=20,
            what="the rerequest answer",
        )
        assert "G-0001" in told[0].text
        phase = Phase(goal_row(live).phase)
        live.sb.wait_for_message(
            "C_DEV",
            thread_ts=card.ts,
            button="Approve",
            text_contains=LABELS[phase],
            after=failed,
            timeout=30,
        )
        assert [actor for actor, _ in audit(live, "job.retried")] == ["U_REQ", "U_APP2", "U_REQ"]
    finally:
        live.bot.stop()
        live.sb.stop()


def test_a_failed_build_is_retried_with_the_button_once_a_person_cleared_the_way(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CONFIG", str(jobs_config(tmp_path, sweep_seconds=3600)))
    # Someone's leftover files where the goal's worktree goes: `git worktree add` cannot proceed.
    blocker = target_repo / ".orch" / "worktrees" / "G-0001"
    blocker.mkdir(parents=True)
    (blocker / "notes.txt").write_text("my scratch notes\n")
    live = start_live(tmp_path, target_repo)
    try:
        assert live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of invoices").status == 200
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        for _ in range(6):  # approve each document until the build fails
            found = live.sb.wait_for(
                lambda: (
                    live.sb.find_message("C_DEV", card.ts, button="Retry")
                    or live.sb.find_message("C_DEV", card.ts, button="Approve")
                ),
                timeout=30,
                what="an artifact or the failure message",
            )
            if "Retry" in found.buttons:
                break
            live.sb.click("U_APP1", found, "Approve")
            live.sb.wait_for(
                lambda f=found: "Approve" not in live.sb.message("C_DEV", f.ts).buttons, timeout=30
            )
        assert "Retry" in found.buttons and "Building task 1" in found.text
        assert "exists but is not a registered worktree" in found.content
        assert goal_row(live).status == "failed"

        (blocker / "notes.txt").unlink()
        live.sb.click("U_APP1", found, "Retry")
        diff = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", after=found, timeout=30)
        assert "task 1" in diff.text.lower()
        assert goal_row(live).status == "awaiting_approval"
    finally:
        live.bot.stop()
        live.sb.stop()
