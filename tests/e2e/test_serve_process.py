"""`orch serve` as a real process against the sandbox over HTTP: the first slice end to end."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import httpx
import pytest

from bot.local.stack import SANDBOX_BOT_TOKEN
from sandbox import Sandbox
from tests.support.processes import OrchProcess, free_port

pytestmark = pytest.mark.slow


def test_orch_serve_process_answers_orch_start_end_to_end(tmp_path: Path, target_repo: Path) -> None:
    secret = secrets.token_hex(16)
    port = free_port()
    db = tmp_path / "orch.db"
    with Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN,
                 request_url=f"http://127.0.0.1:{port}/slack/events") as sb:
        server = OrchProcess(["serve"], {
            "SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": sb.api_url,
            "ORCH_PORT": str(port), "ORCH_DATABASE_URL": f"sqlite:///{db}", "ORCH_REPO": str(target_repo),
            "ORCH_APPROVERS": "U_APP1,U_APP2", "ORCH_AGENT_BACKEND": "offline",
        }).start()
        try:
            server.wait_for_line("orch ready")
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.status_code == 200 and health.json()["ok"] is True

            delivery = sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
            assert delivery.status == 200 and delivery.elapsed < 3.0
            card = sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=30)
            assert "Add a CSV export of monthly invoices" in card.content
            sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
        finally:
            assert server.stop() is not None

    with sqlite3.connect(db) as conn:
        goal = conn.execute("SELECT id, requester, channel_id, card_ts FROM goals").fetchall()
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE goal_id = 'G-0001' ORDER BY seq")]
    assert goal == [("G-0001", "U_REQ", "C_DEV", card.ts)]
    assert actions[0] == "goal.started"


def test_orch_serve_refuses_to_start_without_slack_secrets(tmp_path: Path) -> None:
    server = OrchProcess(["serve"], {"ORCH_DATABASE_URL": f"sqlite:///{tmp_path / 'orch.db'}",
                                     "SLACK_BOT_TOKEN": "changeme"}).start()
    line = server.wait_for_line("cannot serve")
    assert "SLACK_BOT_TOKEN holds a placeholder value" in line or "SLACK_SIGNING_SECRET" in line
    assert server.proc is not None and server.proc.wait(10) == 2
