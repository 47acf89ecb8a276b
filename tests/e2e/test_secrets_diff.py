"""A diff that adds a secret is not shown, cannot be approved by any route, and goes back to its builder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from sandbox import Message
from storage.audit import AuditEntry
from storage.models import Approval, Artifact, Goal
from tests.conftest import Live, start_live
from tests.support.leaks import leaks, repo_places, sandbox_places

pytestmark = pytest.mark.slow

HALVES = ("sk-proj-Ab3dEf6hIj9kLm2nOp5q", "Rs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9oPq2r")
SECRET = "".join(HALVES)
# The project's test command runs in the worktree after the builder, and leaves a settings file
# with a live key behind, as a careless script would. The key is assembled at run time.
WRITE_KEY = (
    f"{sys.executable} -c \"open('app_settings.py', 'w').write("
    f"'OPENAI_API_KEY = ' + repr('{HALVES[0]}' + '{HALVES[1]}') + chr(10))\""
)
BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."


@pytest.fixture
def live_with_leaky_tests(tmp_path: Path, target_repo: Path) -> Iterator[Live]:
    live = start_live(tmp_path, target_repo, test_command=WRITE_KEY, runs_dir=tmp_path / ".runs")
    try:
        yield live
    finally:
        live.bot.stop()
        live.sb.stop()


def diff_message(live: Live, card_ts: str, version: int) -> Message | None:
    header = f"diff v{version} for g-0001"  # headers read in capitals; match any case
    return next((m for m in live.sb.thread("C_DEV", card_ts) if header in m.content.lower()), None)


def approve_documents_until_the_first_diff(live: Live, card_ts: str) -> Message:
    sb = live.sb
    for _ in range(8):
        found = sb.wait_for(
            lambda: (
                diff_message(live, card_ts, 1)
                or sb.find_message("C_DEV", thread_ts=card_ts, button="Approve")
            ),
            timeout=30,
            what="a document to approve or the first diff",
        )
        if "diff v1 for g-0001" in found.content.lower():
            return found
        sb.click("U_APP1", found, "Approve")
        sb.wait_for(
            lambda m=found: "Approve" not in sb.message("C_DEV", m.ts).buttons,
            timeout=30,
            what="the decision to replace the buttons",
        )
    raise AssertionError("no diff after approving the documents")


def forged_approve(live: Live, diff: Message, user: str) -> None:
    """A block_actions payload for an Approve button the message never had (same value as its Reject)."""
    raw = live.sb.state.channel("C_DEV").find(diff.ts)
    assert raw is not None
    value = next(
        e["value"]
        for b in raw["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "orch_reject"
    )
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "forged.1",
        "team": {"id": "T0SANDBOX"},
        "channel": {"id": "C_DEV"},
        "container": {"type": "message", "channel_id": "C_DEV", "message_ts": diff.ts},
        "message": {"ts": diff.ts, "thread_ts": diff.thread_ts, "blocks": raw["blocks"]},
        "actions": [
            {
                "type": "button",
                "action_id": "orch_approve",
                "block_id": "diff_actions",
                "value": value,
                "action_ts": "1.0",
            }
        ],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    assert live.sb.deliver_raw(body, "application/x-www-form-urlencoded").status == 200


def test_a_diff_adding_a_secret_is_hidden_refused_and_sent_back_to_the_builder(
    live_with_leaky_tests: Live, tmp_path: Path
) -> None:
    live, sb = live_with_leaky_tests, live_with_leaky_tests.sb
    sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    first = approve_documents_until_the_first_diff(live, card.ts)

    # The thread says where and why, offers no Approve, and never shows or uploads the diff.
    assert "app_settings.py:1" in first.content and "openai" in first.content.lower()
    assert "Approve" not in first.buttons and {"Request changes", "Reject"} <= set(first.buttons)
    # The builder was asked twice to remove it; the third version waits for a person.
    sb.wait_for_message(
        "C_DEV", thread_ts=card.ts, text_contains="still adds what looks like a secret", timeout=30
    )
    asked = [m for m in sb.thread("C_DEV", card.ts) if "I asked the builder to remove it" in m.text]
    assert len(asked) == 2 and all("app_settings.py:1" in m.text for m in asked)
    last = sb.wait_for(lambda: diff_message(live, card.ts, 3), what="diff v3")
    assert "Approve" not in last.buttons

    # A forged click on a button the message never had is refused and recorded as refused.
    forged_approve(live, last, "U_APP1")
    refusal = sb.wait_for_ephemeral("U_APP1", "C_DEV", text_contains="cannot be approved")
    assert "app_settings.py:1" in refusal.text
    live.bot.stop()

    # So is the CLI, with the bot's own database and repository.
    env = {
        **os.environ,
        "ORCH_DATABASE_URL": live.settings.database_url,
        "ORCH_REPO": str(live.repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2",
        "ORCH_AGENT_BACKEND": "offline",
        "ORCH_RUNS_DIR": str(tmp_path / ".runs"),
        "ORCH_TEST_COMMAND": WRITE_KEY,
    }
    cli = subprocess.run(
        [sys.executable, "-m", "bot", "goal", "approve", "G-0001", "--as", "U_APP1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 1 and "cannot be approved" in cli.stderr

    with Session(live.container.engine) as session:
        diffs = session.exec(select(Artifact).where(Artifact.phase == "implementation")).all()
        approvals = session.exec(select(Approval).where(Approval.phase == "implementation")).all()
        found = session.exec(select(AuditEntry).where(AuditEntry.action == "artifact.secret_found")).all()
        refused = session.exec(select(AuditEntry).where(AuditEntry.action == "decision.refused")).all()
        goal = session.get(Goal, "G-0001")
    assert [d.version for d in diffs] == [1, 2, 3] and approvals == []
    assert [e.payload_dict()["redraft_requested"] for e in found] == [True, True, False]
    assert all(e.payload_dict()["findings"] == ["app_settings.py:1 — openai key"] for e in found)
    assert [(e.actor, e.payload_dict()["reason"]) for e in refused] == [("U_APP1", "SecretInDiff")] * 2
    assert goal is not None and goal.phase == "implementation" and goal.status == "awaiting_approval"
    # The key stays in the worktree it was written in: not in Slack, not in any commit.
    history = [p for p in repo_places(live.repo) if p[0] == "git log -p --all"]
    assert leaks([SECRET], [*sandbox_places(sb), *history]) == []
    assert (
        "app_settings.py"
        not in subprocess.run(
            ["git", "-C", str(live.repo), "ls-tree", "-r", "main"], capture_output=True, text=True, check=True
        ).stdout
    )
