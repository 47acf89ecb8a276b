"""`orch serve --role web` + `orch worker` as two real processes against the sandbox over HTTP.

The web process answers Slack and keeps each request in the inbox; the worker does the work. With
the worker stopped, an answered `/orch start` must already be kept (nothing lost), a click that
opens a modal must still open it (the trigger lives 3 seconds), and a worker started later must
do the kept work exactly once.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest

from bot.local.stack import SANDBOX_BOT_TOKEN
from sandbox import Sandbox
from tests.support.processes import OrchProcess, free_port

pytestmark = pytest.mark.slow


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_web_process_keeps_requests_for_a_worker_started_later(tmp_path: Path, target_repo: Path) -> None:
    secret = secrets.token_hex(16)
    port = free_port()
    db = tmp_path / "orch.db"
    env = {
        "SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN, "SLACK_SIGNING_SECRET": secret, "ORCH_PORT": str(port),
        "ORCH_DATABASE_URL": f"sqlite:///{db}", "ORCH_REPO": str(target_repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2", "ORCH_AGENT_BACKEND": "offline",
    }
    with Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN,
                 request_url=f"http://127.0.0.1:{port}/slack/events") as sb:
        env["SLACK_API_URL"] = sb.api_url
        web = OrchProcess(["serve", "--role", "web"], env).start()
        worker: OrchProcess | None = None
        try:
            web.wait_for_line("orch ready")

            # No worker yet: the answer comes from the web process, the work waits in the inbox.
            delivery = sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
            assert delivery.status == 200
            assert _rows(db, "SELECT count(*) FROM goals") == [(0,)]
            kept = _rows(tmp_path / "orch.inbox.db", "SELECT id, body FROM slack_inbox")
            assert len(kept) == 1 and "CSV+export" in str(kept[0][1])
            # The same command delivered again (re-signed) is a replay: refused, and never kept.
            replay = sb.deliver_raw(delivery.request_body, "application/x-www-form-urlencoded")
            assert replay.status == 401
            assert len(_rows(tmp_path / "orch.inbox.db", "SELECT id FROM slack_inbox")) == 1
            # Bad input is still answered at once, by the web process.
            refused = sb.slash("U_REQ", "C_DEV", "start " + "x" * 20_001)
            assert refused.status == 200 and "keep it under" in refused.body

            worker = OrchProcess(["worker"], env).start()
            worker.wait_for_line("orch worker ready")
            card = sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=30)
            assert "Add a CSV export of monthly invoices" in card.content
            check = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
            assert worker.stop() is not None
            worker = None

            # A click that opens a modal runs whole in the web process, with no worker running.
            sb.click("U_APP1", check, "Request changes")
            modal = sb.wait_for_view("U_APP1", timeout=10)
            assert modal.callback_id == "orch_feedback_modal"

            # An Approve click is kept; a worker started again runs it once (and not the start again).
            approve = sb.click("U_APP1", check, "Approve")
            assert approve.status == 200
            worker = OrchProcess(["worker"], env).start()
            worker.wait_for_line("orch worker ready")
            sb.wait_for_message("C_DEV", thread_ts=card.ts, text_contains="PRD", button="Approve", timeout=30)
        finally:
            if worker is not None:
                worker.stop()
            assert web.stop() is not None

    assert _rows(db, "SELECT id FROM goals") == [("G-0001",)]
    approvals = _rows(db, "SELECT count(*) FROM audit_log WHERE action = 'artifact.approved'")
    assert approvals == [(1,)]
    inbox = _rows(tmp_path / "orch.inbox.db", "SELECT id FROM slack_inbox ORDER BY id")
    done = _rows(db, "SELECT id FROM slack_inbox_done ORDER BY id")
    assert done == inbox and len(inbox) >= 3  # start, the refused start (answered, nothing to do), approve


def test_the_inbox_keeps_only_the_redacted_request(tmp_path: Path, target_repo: Path) -> None:
    """What a web process leaves to the worker is a database row: it holds the request as cleaned
    at the door, and the worker still does the work from it."""
    token = "ghp_Jq5Wz8Xc3Vb7Nm1Qa6Sd2Fg9Hj4Kl0Pz5Rt8Y"
    brief = f"Add a CSV export of invoices\nci:\n  password: hunter2\n  token: {token}\nlogin password=Ab3&xY9qz"
    secret = secrets.token_hex(16)
    port = free_port()
    db = tmp_path / "orch.db"
    env = {
        "SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN, "SLACK_SIGNING_SECRET": secret, "ORCH_PORT": str(port),
        "ORCH_DATABASE_URL": f"sqlite:///{db}", "ORCH_REPO": str(target_repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2", "ORCH_AGENT_BACKEND": "offline",
    }
    with Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN,
                 request_url=f"http://127.0.0.1:{port}/slack/events") as sb:
        env["SLACK_API_URL"] = sb.api_url
        web = OrchProcess(["serve", "--role", "web"], env).start()
        worker: OrchProcess | None = None
        try:
            web.wait_for_line("orch ready")
            assert sb.slash("U_REQ", "C_DEV", f"start {brief}").status == 200
            kept = "".join(
                (tmp_path / name).read_bytes().decode("latin-1")
                for name in ("orch.inbox.db", "orch.inbox.db-wal")
                if (tmp_path / name).exists()
            )
            assert "CSV+export" in kept or "CSV export" in kept
            for typed in (token, "hunter2", "Ab3&xY9qz", "Ab3%26xY9qz"):
                assert typed not in kept
            worker = OrchProcess(["worker"], env).start()
            worker.wait_for_line("orch worker ready")
            card = sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=30)
            assert "Add a CSV export of invoices" in card.content
        finally:
            if worker is not None:
                worker.stop()
            assert web.stop() is not None
    brief_stored = _rows(db, "SELECT brief FROM goals")[0][0]
    assert "[REDACTED:" in str(brief_stored) and token not in str(brief_stored)
